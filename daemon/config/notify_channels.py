"""The ``channels`` (and ``credentials``) part of notify.yaml, parsed for ``daemon.config.notify``.

A channel is an apprise URL, or a mapping: ``{url, address, fallback, fallback_after}`` for apprise, or
``kind: http-sms | aliyun-sms | tencent-sms | dingtalk-card | feishu-card`` with that gateway's settings.
``${VAR}`` anywhere in a channel comes from the environment first, then from the credentials file. Values
are never echoed in errors (they may hold secrets); names and places are.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from apprise.manager_plugins import NotificationManager

from channels import local, sms_gateway
from channels.model import Address, AliyunSms, ChannelSpec, DingTalkCard, FeishuCard, Gateway, HttpSms, TencentSms
from channels.secrets import CredentialsError, load_credentials
from rules.errors import ConfigError, Problem, did_you_mean, recorded
from rules.yamlsrc import Node, check_keys

ADDRESSES: tuple[Address, ...] = ("email", "phone", "dingtalk", "feishu", "none")
COMMON_KEYS = ("url", "address", "kind", "fallback", "fallback_after")
GATEWAY_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind → (required, optional)
    "apprise": (("url",), ()),
    "http-sms": (("url", "body"), ("method", "headers", "content_type")),
    "aliyun-sms": (("access_key_id", "access_key_secret", "sign_name", "template_code"),
                   ("params", "endpoint", "region")),
    "tencent-sms": (("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id"),
                    ("params", "endpoint", "region")),
    "dingtalk-card": (("client_id", "client_secret", "template_id"), ("robot_code", "endpoint")),
    "feishu-card": (("app_id", "app_secret"), ("domain",)),
}
EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})
# apprise schemes that text a phone number: the recipients' phones go into ``to=``.
PHONE_SCHEMES = frozenset({
    "sms", "smseagle", "smseagles", "httpsms", "smpp", "smpps", "twilio", "aliyun", "tencent", "sinch",
    "clicksend", "d7sms", "msg91", "plivo", "vonage", "nexmo", "bulksms", "burstsms", "kavenegar",
    "africastalking", "seven", "smsmgr", "bulkvs", "voipms", "signal", "signals",
})
METHODS = ("GET", "POST", "PUT")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def infer_address(url: str) -> Address:
    """How people are addressed on a channel when notify.yaml does not say: by its URL scheme."""
    scheme = url.partition("://")[0].strip().lower()
    if scheme in EMAIL_SCHEMES:
        return "email"
    return "phone" if scheme in PHONE_SCHEMES else "none"


class Collector:
    """Collects problems instead of stopping at the first, so ``yuqing check`` lists them all."""

    def __init__(self, base: Path, env: Mapping[str, str]) -> None:
        self.base = base
        self.env: Mapping[str, str] = env
        self.problems: list[Problem] = []
        self.credentials_failed = False

    def _mapping(self, node: Node | None, what: str) -> dict[str, Node]:
        if node is None or node.is_null:
            return {}
        return recorded(self.problems, lambda: node.mapping(what), {})

    def _text(self, node: Node, what: str = "text") -> str | None:
        try:
            return node.str(what)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None

    # -- credentials and ${VAR}

    def credentials(self, node: Node | None) -> None:
        """Read the credentials file; its names fill ``${VAR}`` where the environment does not."""
        if node is None or node.is_null:
            return
        raw = self._text(node, "the path of a credentials file")
        if raw is None:
            return
        try:
            found = load_credentials(self.base / Path(raw).expanduser())
        except CredentialsError as exc:
            self.problems.append(node.problem(str(exc)))
            self.credentials_failed = True  # its names would all be reported missing: say it once
            return
        self.env = ChainMap(dict(self.env), found)

    def _expand(self, channel: str, node: Node, what: str) -> str | None:
        raw = self._text(node, what)
        if raw is None:
            return None
        missing = [var for var in _VAR.findall(raw) if var not in self.env]
        for var in dict.fromkeys(missing) if not self.credentials_failed else ():
            self.problems.append(node.problem(
                f'channel "{channel}": environment variable "{var}" is not set'))
        return None if missing else _VAR.sub(lambda m: self.env[m.group(1)], raw).strip()

    # -- channels

    def channels(self, node: Node | None) -> dict[str, ChannelSpec]:
        specs: dict[str, ChannelSpec] = {}
        written = self._mapping(node, "channels (name: apprise URL)")
        for name, value in written.items():
            spec = self._channel(name, value) if value.is_mapping else self._apprise(name, value, None)
            if spec is not None:
                specs[name] = spec
        self._check_fallbacks(specs, written)
        return specs

    def _channel(self, name: str, node: Node) -> ChannelSpec | None:
        fields = self._mapping(node, "channel settings")
        kind = "apprise"
        if (kind_node := fields.get("kind")) is not None:
            kind = self._text(kind_node, "a channel kind") or "apprise"
            if kind not in GATEWAY_KEYS:
                hint = did_you_mean(kind, GATEWAY_KEYS) or f": expected {', '.join(GATEWAY_KEYS)}"
                self.problems.append(kind_node.problem(f'channel "{name}": unknown kind "{kind}"{hint}'))
                return None
        required, optional = GATEWAY_KEYS[kind]
        allowed = tuple(dict.fromkeys(COMMON_KEYS + required + optional))
        before = len(self.problems)
        self.problems.extend(check_keys(node, allowed, f'channel "{name}"', required=required))
        address = self._address(fields["address"]) if "address" in fields else None
        if kind == "apprise":
            spec = self._apprise(name, fields["url"], address) if "url" in fields else None
        else:
            spec = self._gateway(name, kind, fields, address)
        fallback = self._text(fields["fallback"], "a channel name") if "fallback" in fields else None
        after = 3
        if (after_node := fields.get("fallback_after")) is not None:
            try:
                after = after_node.int("a number of attempts")
            except ConfigError as exc:
                self.problems.extend(exc.problems)
            if after < 1:
                self.problems.append(after_node.problem(f'channel "{name}": fallback_after must be at least 1'))
        if spec is None or len(self.problems) > before:
            return None
        return ChannelSpec(spec.name, spec.url, spec.address, spec.gateway, fallback, after)

    def _apprise(self, name: str, node: Node, address: Address | None) -> ChannelSpec | None:
        url = self._expand(name, node, "an apprise URL")
        if url is None:
            return None
        scheme, sep, rest = url.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            self.problems.append(node.problem(f'channel "{name}": expected an apprise URL such as '
                                              '"mailtos://user:password@smtp.example.gov.cn"'))
            return None
        scheme = scheme.lower()
        if problem := _unknown_scheme(scheme):
            self.problems.append(node.problem(f'channel "{name}": {problem}'))
            return None
        if scheme == "jsonl" and not rest.startswith("/"):
            url = self._absolute_jsonl(rest)
        return ChannelSpec(name, url, address or infer_address(url))

    def _absolute_jsonl(self, rest: str) -> str:
        """``jsonl://./var/n.jsonl`` or ``jsonl://var/n.jsonl`` → ``jsonl:///etc/yuqing/var/n.jsonl``."""
        relative, sep, query = rest.partition("?")
        target = (self.base / relative).resolve()
        return f"jsonl://{quote(str(target), safe='/')}{sep}{query}"

    def _address(self, node: Node) -> Address | None:
        value = self._text(node, "email, phone, dingtalk, feishu or none")
        for address in ADDRESSES:
            if value == address:
                return address
        if value is not None:
            self.problems.append(node.problem(f'address must be email, phone, dingtalk, feishu or none, got "{value}"'))
        return None

    def _gateway(self, name: str, kind: str, fields: dict[str, Node],
                 address: Address | None) -> ChannelSpec | None:
        text: dict[str, str] = {}
        for key, node in fields.items():
            if key in ("kind", "address", "fallback", "fallback_after", "headers", "params"):
                continue
            if (value := self._expand(name, node, key)) is not None:
                text[key] = value
        headers = self._templates(name, fields.get("headers"), mapping=True)
        params = self._templates(name, fields.get("params"), mapping=kind == "aliyun-sms")
        for key in ("url", "body"):
            if key in text and (problem := sms_gateway.check_template(text[key])):
                self.problems.append(fields[key].problem(f'channel "{name}": {key}: {problem}'))
        gateway: Gateway
        try:
            if kind == "http-sms":
                method = text.get("method", "POST").upper()
                if method not in METHODS:
                    self.problems.append(fields["method"].problem(
                        f'channel "{name}": method must be one of {", ".join(METHODS)}, got "{method}"'))
                gateway = HttpSms(text["url"], method, text["body"], dict(headers),
                                  text.get("content_type", HttpSms.content_type))
            elif kind == "aliyun-sms":
                gateway = AliyunSms(text["access_key_id"], text["access_key_secret"], text["sign_name"],
                                    text["template_code"])
                gateway = replace(gateway, params=dict(params) or gateway.params)
            elif kind == "dingtalk-card":
                gateway = DingTalkCard(text["client_id"], text["client_secret"], text["template_id"],
                                       text.get("robot_code", ""), text.get("endpoint", DingTalkCard.endpoint))
                if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", gateway.endpoint):
                    self.problems.append(fields["endpoint"].problem(
                        f'channel "{name}": endpoint "{gateway.endpoint}" is not an http(s) URL'))
                gateway = replace(gateway, endpoint=gateway.endpoint.rstrip("/"))
            elif kind == "feishu-card":
                gateway = FeishuCard(text["app_id"], text["app_secret"], text.get("domain", FeishuCard.domain))
                if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", gateway.domain):
                    self.problems.append(fields["domain"].problem(
                        f'channel "{name}": domain "{gateway.domain}" is not an http(s) URL'))
                gateway = replace(gateway, domain=gateway.domain.rstrip("/"))
            else:
                gateway = TencentSms(text["secret_id"], text["secret_key"], text["sdk_app_id"],
                                     text["sign_name"], text["template_id"])
                gateway = replace(gateway, params=tuple(params.values()) or gateway.params)
            if isinstance(gateway, AliyunSms | TencentSms):
                gateway = replace(gateway, endpoint=text.get("endpoint", gateway.endpoint),
                                  region=text.get("region", gateway.region))
        except KeyError:  # a required key is missing or did not expand: already reported
            return None
        url = gateway.url if isinstance(gateway, HttpSms) else (
            gateway.domain if isinstance(gateway, FeishuCard) else gateway.endpoint)
        default: Address = ("dingtalk" if isinstance(gateway, DingTalkCard)
                            else "feishu" if isinstance(gateway, FeishuCard) else "phone")
        return ChannelSpec(name, url, address or default, gateway)

    def _templates(self, name: str, node: Node | None, *, mapping: bool) -> dict[str, str]:
        """Headers (a mapping) or template parameters (a mapping for Aliyun, a list for Tencent)."""
        if node is None or node.is_null:
            return {}
        out: dict[str, str] = {}
        try:
            items = (list(node.mapping("a mapping").items()) if mapping
                     else [(str(i), n) for i, n in enumerate(node.sequence("a list of templates"))])
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return {}
        for key, item in items:
            value = self._expand(name, item, "a template")
            if value is None:
                continue
            if problem := sms_gateway.check_template(value):
                self.problems.append(item.problem(f'channel "{name}": {problem}'))
            out[key] = value
        return out

    def _check_fallbacks(self, specs: dict[str, ChannelSpec], written: Mapping[str, Node]) -> None:
        for name, spec in specs.items():
            if spec.fallback is None:
                continue
            where = written[name].mapping()["fallback"]
            if spec.fallback not in written:
                hint = did_you_mean(spec.fallback, written)
                self.problems.append(where.problem(
                    f'channel "{name}": unknown fallback channel "{spec.fallback}"{hint}'))
                continue
            seen: list[str] = [name]
            current: str | None = spec.fallback
            while current is not None and current not in seen:
                seen.append(current)
                current = specs[current].fallback if current in specs else None
            if current is not None:
                loop = " → ".join([*seen, current])
                self.problems.append(where.problem(f'channel "{name}": fallback goes round in a circle: {loop}'))


def _unknown_scheme(scheme: str) -> str | None:
    """Why apprise cannot use ``scheme://``, or None when it can."""
    local.register()  # jsonl:// and console:// are ours
    manager = NotificationManager()  # type: ignore[no-untyped-call]
    if scheme in manager:
        return None
    known = [str(s) for s in manager.schemas()]  # type: ignore[no-untyped-call]
    return f'apprise does not know "{scheme}://"{did_you_mean(scheme, known)}'
