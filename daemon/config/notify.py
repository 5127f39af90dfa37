"""notify.yaml: channels (apprise URLs), people, teams and the notification policy of each level.

Every problem is collected and raised together as one ``ConfigError``, each at ``path:line:col``.
``${VAR}`` in a channel is taken from ``env``, then from the ``credentials`` file; a missing variable is
named, never the URL around it, which may hold other secrets. ``jsonl://`` paths, ``credentials`` and
``templates`` are resolved against the folder of notify.yaml. Channels are parsed by
``daemon.config.notify_channels``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Literal, cast

from channels.directory import Directory
from channels.model import Person
from channels.registry import channel_secrets
from channels.templates import check_overrides
from daemon import logs
from daemon.config.notify_channels import infer_address
from daemon.config.notify_duty import DutyParser, hint
from daemon.config.policy import DingTalkStream, FeishuWs, NotifyConfig, Policy, Retry, Step
from daemon.config.rota import coverage
from rules.county import BY_NAME
from rules.errors import ConfigError, Problem, recorded
from rules.model import Level
from rules.yamlsrc import Node, check_keys, load_file

TOP_KEYS = ("channels", "people", "teams", "policies", "digest_at", "admin", "credentials", "templates", "rota",
            "routes", "deadlines", "quiet_hours", "limits", "group_wait", "retry", "dingtalk_stream",
            "feishu_ws")
PERSON_KEYS = ("name", "role", "phone", "email", "dingtalk", "feishu")
STEP_KEYS = ("notify", "via", "after", "unless", "repeat", "until", "deadline", "digest")
__all__ = ["infer_address", "load_notify"]  # infer_address lives in daemon.config.notify_channels

LEVELS = BY_NAME  # as notify.yaml names them

_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,}")


def load_notify(path: Path, *, env: Mapping[str, str]) -> NotifyConfig:
    """Parse and cross-check notify.yaml. Raises ``ConfigError`` listing every problem found."""
    root = load_file(path)
    if root is None:
        raise ConfigError([Problem("the notify file is empty", path=str(path))])
    top = root.mapping("the notify settings (a mapping)")
    parser = _Parser(path.resolve().parent, env)
    parser.problems.extend(check_keys(root, TOP_KEYS, "notify.yaml", required=("channels", "policies")))
    parser.credentials(top.get("credentials"))
    channels = parser.channels(top.get("channels"))
    templates = parser.templates(top.get("templates"))
    people = parser.people(top.get("people"))
    # Cross-references are checked against every name written, not only those that parsed cleanly:
    # one bad URL gets one error, not one more for every step that uses the channel.
    declared = {k: parser._mapping(top.get(k), k) for k in ("channels", "people")}
    teams = parser.teams(top.get("teams"), people, declared["people"])
    # A rota fills a team (值班): policies, routes and rules name it like any other team; the team's own
    # members under ``teams`` (if any) are told when no shift covers the moment.
    rotas = parser.rotas(top.get("rota"), people, declared["people"])
    teams = {**dict.fromkeys(rotas, ()), **teams}
    policies = parser.policies(top.get("policies"), teams, declared["channels"])
    digest_at = parser.clock(top.get("digest_at"))
    admin = parser.admin(top.get("admin"), teams)
    routes = parser.routes(top.get("routes"), teams)
    deadlines = parser.deadlines(top.get("deadlines"), teams, declared["channels"])
    quiet = parser.quiet(top.get("quiet_hours"))
    limits = parser.limits(top.get("limits"), declared["channels"])
    group_wait = parser._duration(top.get("group_wait")) or timedelta(0)
    retry = parser.retry(top.get("retry"))
    stream = parser.dingtalk_stream(top.get("dingtalk_stream"))
    feishu = parser.feishu_ws(top.get("feishu_ws"))
    if parser.problems:  # a rota with a broken shift has gaps that are not worth a warning each
        raise ConfigError(parser.problems)
    warnings = [Problem(text, where, severity="warning") for rota in rotas.values() for where, text in coverage(rota)]
    # No log line may carry a channel's password, token or webhook key, even one written without its URL.
    logs.hide(frozenset().union(*(channel_secrets(spec) for spec in channels.values()))
              | ({stream.client_secret} if stream else set()) | ({feishu.app_secret} if feishu else set()))
    return NotifyConfig(
        channels=channels, directory=Directory(people, teams), policies=policies,
        digest_at=digest_at, admin_team=admin, templates=templates, rotas=rotas, routes=routes,
        deadlines=deadlines, quiet=quiet, sms_limit=limits, warnings=tuple(warnings), group_wait=group_wait,
        retry=retry, dingtalk_stream=stream, feishu_ws=feishu,
    )


class _Parser(DutyParser):
    """Collects problems instead of stopping at the first, so ``yuqing check`` lists them all."""

    def retry(self, node: Node | None) -> Retry:
        default = Retry()
        if node is None or node.is_null:
            return default
        self.problems.extend(check_keys(node, ("first", "max", "give_up"), "retry"))
        fields = self._mapping(node, "retry")
        return Retry(first=self._duration(fields.get("first")) or default.first,
                     max=self._duration(fields.get("max")) or default.max,
                     give_up=self._duration(fields.get("give_up")) or default.give_up)

    # -- people and teams

    def people(self, node: Node | None) -> dict[str, Person]:
        people: dict[str, Person] = {}
        for key, value in self._mapping(node, "people (key: name, role, phone, email, dingtalk, feishu)").items():
            what = f'person "{key}"'
            if not value.is_mapping:
                self.problems.append(value.problem(f"{what}: expected a mapping of name, role, phone, email"))
                continue
            self.problems.extend(check_keys(value, PERSON_KEYS, what, required=("name",)))
            fields = self._mapping(value, f"{what} settings")
            text = {k: self._text(v) for k, v in fields.items() if k in PERSON_KEYS and not v.is_null}
            phone, email = text.get("phone"), text.get("email")
            if phone is not None and not _PHONE.fullmatch(phone):
                self.problems.append(fields["phone"].problem(f'{what}: "{phone}" is not a phone number'))
            if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                self.problems.append(fields["email"].problem(f'{what}: "{email}" is not an e-mail address'))
            if "name" in fields and not text.get("name"):
                self.problems.append(fields["name"].problem(f"{what}: the name is empty"))
            elif text.get("name"):
                # "139 0000 0022" as written; gateways and DingTalk's @-mentions want the digits alone.
                digits = re.sub(r"[ \-]", "", phone) if phone else None
                people[key] = Person(key, text["name"] or "", text.get("role") or "", digits, email,
                                     text.get("dingtalk") or None, text.get("feishu") or None)
        return people

    def teams(
        self, node: Node | None, people: Mapping[str, Person], declared: Mapping[str, object]
    ) -> dict[str, tuple[str, ...]]:
        teams: dict[str, tuple[str, ...]] = {}
        for team, value in self._mapping(node, "teams (name: list of people)").items():
            members = []
            for key, where in self._names(value, "person"):
                if key in people:
                    members.append(key)
                elif key not in declared:
                    hint = _hint(key, declared)
                    self.problems.append(where.problem(f'unknown person "{key}" in team "{team}"{hint}'))
            teams[team] = tuple(dict.fromkeys(members))
        return teams

    def dingtalk_stream(self, node: Node | None) -> DingTalkStream | None:
        """``dingtalk_stream: {client_id, client_secret, endpoint}``; ``${VAR}`` as in channels."""
        if node is None or node.is_null:
            return None
        self.problems.extend(check_keys(node, ("client_id", "client_secret", "endpoint"), "dingtalk_stream",
                                        required=("client_id", "client_secret")))
        fields = self._mapping(node, "dingtalk_stream (client_id, client_secret, endpoint)")
        values = {k: self._expand("dingtalk_stream", v, k) for k, v in fields.items()}
        client_id, secret = values.get("client_id"), values.get("client_secret")
        endpoint = values.get("endpoint") or "https://api.dingtalk.com"
        if "endpoint" in fields and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", endpoint):
            self.problems.append(fields["endpoint"].problem(f'dingtalk_stream: "{endpoint}" is not an http(s) URL'))
        if not client_id or not secret:
            return None
        return DingTalkStream(client_id, secret, endpoint.rstrip("/"))

    def feishu_ws(self, node: Node | None) -> FeishuWs | None:
        """``feishu_ws: {app_id, app_secret, domain}``; ``${VAR}`` as in channels."""
        if node is None or node.is_null:
            return None
        self.problems.extend(check_keys(node, ("app_id", "app_secret", "domain"), "feishu_ws",
                                        required=("app_id", "app_secret")))
        fields = self._mapping(node, "feishu_ws (app_id, app_secret, domain)")
        values = {k: self._expand("feishu_ws", v, k) for k, v in fields.items()}
        app_id, secret = values.get("app_id"), values.get("app_secret")
        domain = values.get("domain") or FeishuWs.domain
        if "domain" in fields and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", domain):
            self.problems.append(fields["domain"].problem(f'feishu_ws: "{domain}" is not an http(s) URL'))
        if not app_id or not secret:
            return None
        return FeishuWs(app_id, secret, domain.rstrip("/"))

    def templates(self, node: Node | None) -> Path | None:
        """The county's template folder: every file in it must be a known template that renders."""
        if node is None or node.is_null:
            return None
        raw = self._text(node, "the path of a templates folder")
        if raw is None:
            return None
        folder = (self.base / Path(raw).expanduser()).resolve()
        problems = check_overrides(folder)
        self.problems.extend(node.problem(f"templates: {p}") for p in problems)
        return None if problems else folder

    def admin(self, node: Node | None, teams: Mapping[str, tuple[str, ...]]) -> str | None:
        if node is None or node.is_null:
            return None
        team = self._text(node, "a team name")
        if team is not None and team not in teams:
            self.problems.append(node.problem(f'unknown team "{team}"{_hint(team, teams)}'))
            return None
        return team

    def clock(self, node: Node | None) -> str:
        if node is None or node.is_null:
            return "08:00"
        # The raw text: YAML 1.1 reads an unquoted 8:30 as the number 510 (base 60).
        raw = str(getattr(node.raw, "value", ""))
        match = _TIME.fullmatch(raw.strip())
        if match is None:
            self.problems.append(node.problem(f'digest_at: expected a time like "08:00", got {node.kind}'))
            return "08:00"
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    # -- policies

    def policies(
        self, node: Node | None, teams: Mapping[str, tuple[str, ...]], channels: Mapping[str, object]
    ) -> dict[Level, Policy]:
        policies: dict[Level, Policy] = {}
        keys = node.keys_at() if node is not None else {}
        for name, value in self._mapping(node, "policies (red, yellow, blue: list of steps)").items():
            level = LEVELS.get(name)
            if level is None:
                hint = _hint(name, LEVELS) or ": expected red, yellow or blue"
                self.problems.append(Problem(f'unknown level "{name}"{hint}', keys[name]))
                continue
            items = recorded(self.problems, partial(value.sequence, f"a list of steps for {name}"), None)
            if items is None:
                continue
            steps = [self.step(item, teams, channels) for item in items]
            policies[level] = Policy(level, tuple(s for s in steps if s is not None))
        return policies

    def step(
        self, node: Node, teams: Mapping[str, tuple[str, ...]], channels: Mapping[str, object]
    ) -> Step | None:
        before = len(self.problems)
        self.problems.extend(check_keys(node, STEP_KEYS, "step", required=("notify", "via")))
        fields = self._mapping(node, "a step (notify, via, after …)")
        notify = self._known(fields.get("notify"), "team", teams)
        via = self._known(fields.get("via"), "channel", channels)
        unless = self._choice(fields.get("unless"), "unless", "acknowledged")
        digest = self._choice(fields.get("digest"), "digest", "daily")
        after = self._duration(fields.get("after")) or timedelta(0)
        repeat, until = self._duration(fields.get("repeat")), self._duration(fields.get("until"))
        deadline = self._duration(fields.get("deadline"))
        if repeat is not None and repeat <= timedelta(0):
            self.problems.append(fields["repeat"].problem("repeat must be longer than 0s"))
        if "until" in fields and "repeat" not in fields:
            self.problems.append(fields["until"].problem('"until" needs "repeat"'))
        if len(self.problems) > before:
            return None
        return Step(
            notify=notify, via=via, location=node.location, after=after,
            unless_acknowledged=unless is not None, repeat=repeat, until=until, deadline=deadline,
            digest=cast(Literal["daily"] | None, digest),
        )


_hint = hint  # the lenient did-you-mean, shared with daemon.config.notify_duty
