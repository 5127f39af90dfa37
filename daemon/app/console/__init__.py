"""The duty officers' web console (值班控制台) on the daemon's HTTP listener: same process, same store.

``/console``: open incidents by level with their deadlines counting down (new ones appear without a
reload: the page polls ``/console/api/open``), an incident's timeline and its actions (acknowledge,
resolve, note, silence, merge, split: ``actions``, ``regroup``), any day's or week's report, the ledger
download, the 待研判 list, the audit trail and one's own sessions (``trail``).
Named people of notify.yaml log in with a password (``users``, scrypt); ``auth`` holds the sessions,
CSRF tokens and the login throttle; every action is in the audit log with the client's address.

Request threads read the store and write only through the tables' owners, one transaction per action;
evaluation stays on its own thread.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import structlog
from markupsafe import Markup

from channels.masking import mask
from channels.templates import local_time
from daemon.app.console.actions import SILENCE_HOURS, Actions
from daemon.app.console.auth import HOME, LOGIN, Gate
from daemon.app.console.pages import Pages, static_file
from daemon.app.console.regroup import Regroup
from daemon.app.console.trail import Trail
from daemon.app.httpapi import Router
from daemon.clock import Clock
from daemon.config import Config
from daemon.config.console import ConsoleSpec
from daemon.config.policy import NotifyConfig
from daemon.store import Store

log = structlog.get_logger(__name__)

_APP = Path(__file__).resolve().parents[1]
TEMPLATES = _APP / "templates"
STATIC = _APP / "static"
FORM_BYTES = 8192


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_masked)
    env.filters["when"] = local_time
    env.globals["silence_hours"] = SILENCE_HOURS
    return env


def _masked(value: object) -> object:
    """Informants' phone and ID numbers never reach a page (as on the ack page)."""
    return mask(value) if isinstance(value, str) and not isinstance(value, Markup) else value


class Console:
    def __init__(self, store: Store, spec: ConsoleSpec, notify: NotifyConfig, clock: Clock, secure: bool) -> None:
        env = environment()
        self.gate = Gate(store, spec, notify.directory, clock, env, secure)
        self.pages = Pages(store, notify, clock, env)
        self.actions = Actions(store, clock, env)
        self.trail = Trail(store, notify, clock, env, secure)
        self.regroup = Regroup(store, clock, env)

    def register(self, router: Router) -> None:
        gate, pages, actions = self.gate, self.pages, self.actions
        router.add("GET", LOGIN, gate.public(gate.login_form))
        router.add("POST", LOGIN, gate.public(gate.login), max_body=FORM_BYTES)
        router.add("POST", "/console/logout", gate.action(gate.logout), max_body=FORM_BYTES)
        router.add("GET", HOME, gate.page(pages.dashboard))
        router.add("GET", "/console/api/open", gate.api(pages.open_json))
        router.add("GET", "/console/incident", gate.page(pages.incident))
        router.add("GET", "/console/review", gate.page(pages.review_list))
        router.add("GET", "/console/reports", gate.page(pages.reports))
        router.add("GET", "/console/report", gate.page(pages.report))
        router.add("GET", "/console/ledger", gate.page(pages.ledger))
        router.add("GET", "/console/audit", gate.page(self.trail.audit_page))
        router.add("GET", "/console/sessions", gate.page(self.trail.sessions_page))
        router.add("POST", "/console/logout-all", gate.action(self.trail.logout_everywhere), max_body=FORM_BYTES)
        for path, handler in (("ack", actions.acknowledge), ("resolve", actions.resolve), ("note", actions.note),
                              ("silence", actions.silence), ("unsilence", actions.unsilence),
                              ("merge", self.regroup.merge), ("split", self.regroup.split)):
            router.add("POST", f"/console/{path}", gate.action(handler), max_body=FORM_BYTES)
        router.add("GET", "/console/static/console.js", static_file(STATIC / "console.js",
                                                                    "text/javascript; charset=utf-8"))
        router.add("GET", "/console/static/console.css", static_file(STATIC / "console.css", "text/css; charset=utf-8"))


def serve(router: Router, store: Store, config: Config, notify: NotifyConfig, clock: Clock) -> Console | None:
    """Register the console on the daemon's listener when ``console`` is configured."""
    if config.console is None:
        return None
    secure = (config.http_public_url or "").startswith("https://")
    console = Console(store, config.console, notify, clock, secure)
    console.register(router)
    log.info("console.serving", users=str(config.console.users), secure_cookies=secure)
    return console
