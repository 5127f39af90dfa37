"""The acknowledgement page (确认页面): a link in each notification opens the incident; one button acks it.

Links carry a signed token: ``INCIDENT.PERSON.EXPIRY.SIGNATURE`` (HMAC-SHA256 over the rest, compared in
constant time). The token is the only credential and does one thing, acknowledge one incident, so a
form posting it back needs no other CSRF defence. A token for a group channel (a duty chat, a shared
mailbox) names no person: the page then asks who is acknowledging, among the people told.

The HTTP threads only read the store and call ``incidents.acknowledge`` (one SQLite transaction); the
evaluation thread sees the ack at its next timer, so ``unless: acknowledged`` steps stop.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, quote

import jinja2
import structlog
from markupsafe import Markup, escape

from channels.directory import Directory
from channels.masking import mask
from channels.model import Alert, ChannelSpec
from channels.templates import SOURCE_LABELS, local_time
from daemon import incidents
from daemon.app.httpapi import Request, Response, Router, page_headers
from daemon.clock import Clock
from daemon.config import Config
from daemon.incidents import Status
from daemon.notify import outbox
from daemon.notify.ackkey import load_secret
from daemon.notify.outbox import Render, Rendered
from daemon.store import Store

log = structlog.get_logger(__name__)

PATH = "/ack"
VERIFIED = "确认页面"  # audit detail of an ack through a link made for that one person
UNVERIFIED = "确认页面（群组链接，身份未核实）"  # through a group link: the name is the clicker's word
_SIG_BYTES = 16
_TEMPLATES = Path(__file__).parent / "templates"
# The page's URL is the signed link itself: no Referer may carry it to the site of the post's own link,
# and nothing but the page's inline styles runs on it (no script at all).
PAGE_HEADERS = page_headers("default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                                " frame-ancestors 'none'; base-uri 'none'")
STATUS_LABELS = {"open": "待确认", "acknowledged": "已确认", "resolved": "已处置", "closed": "已关闭"}
# Alert kinds that are about one incident someone can still acknowledge.
_ACKABLE = frozenset({"new", "escalation", "repeat", "raised", "resurgence"})


class TokenError(ValueError):
    def __init__(self, reason: Literal["forged", "expired"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AckToken:
    incident_id: str
    person: str  # a person key of notify.yaml; "" for a group channel
    expires: datetime


class Signer:
    """Makes and checks acknowledgement tokens with one secret."""

    def __init__(self, secret: bytes, ttl: timedelta = timedelta(hours=24)) -> None:
        self.secret = secret
        self.ttl = ttl

    def token(self, incident_id: str, person: str, now: datetime) -> str:
        expires = int((now + self.ttl).timestamp())
        payload = f"{incident_id}.{person}.{_b36(expires)}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: datetime) -> AckToken:
        """The token's claims; TokenError when it was not made with this secret or has expired."""
        payload, _, signature = token.rpartition(".")
        incident_id, _, rest = payload.partition(".")
        person, _, expiry = rest.rpartition(".")
        if not (incident_id and expiry and signature) or not hmac.compare_digest(
                signature.encode(), self._sign(payload).encode()):
            raise TokenError("forged", "链接无效：签名不符，可能被截断或修改。")
        expires = datetime.fromtimestamp(int(expiry, 36), now.tzinfo)
        if now >= expires:
            raise TokenError("expired", f"链接已于 {local_time(expires)} 过期。")
        return AckToken(incident_id, person, expires)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, f"ack|{payload}".encode(), hashlib.sha256).digest()[:_SIG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def public_url(config: Config) -> str | None:
    """Where officials' browsers reach the listener; None when the daemon serves no HTTP."""
    if not config.http_listen:
        return None
    if config.http_public_url:
        return config.http_public_url.rstrip("/")
    host, _, port = config.http_listen.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port}"


@dataclass(frozen=True)
class AckLinks:
    """Builds the link a notification carries: ``{base}/ack?t=TOKEN``."""

    base: str
    signer: Signer

    def url(self, incident_id: str, person: str, now: datetime) -> str:
        return f"{self.base}{PATH}?t={quote(self.signer.token(incident_id, person, now), safe='.')}"


def links_for(config: Config) -> AckLinks | None:
    """None when there is no HTTP listener: notifications then say `yuqing ack` instead of a link."""
    base = public_url(config)
    return None if base is None else AckLinks(base, Signer(load_secret(config), config.ack_ttl))


def with_ack_links(render: Render, links: AckLinks | None, clock: Clock) -> Render:
    """``render`` that puts an acknowledgement link into every alert about one open incident.

    An alert rendered for one person alone (``alert.recipient``, see ``channels.delivery.addressed``)
    gets their own link, which acks as them only; any other gets a group link, whose page asks who
    acknowledges and records the answer as unverified."""
    if links is None:
        return render

    def linked(alert: Alert, spec: ChannelSpec) -> Rendered:
        if alert.incident_id and alert.kind in _ACKABLE and alert.ack_url is None:
            alert = dataclasses.replace(alert, ack_url=links.url(alert.incident_id, alert.recipient, clock.now()))
        return render(alert, spec)

    return linked


class AckPage:
    """``GET /ack?t=TOKEN`` shows the incident; ``POST`` the same URL acknowledges it."""

    def __init__(self, store: Store, signer: Signer, directory: Directory, clock: Clock) -> None:
        self.store = store
        self.signer = signer
        self.directory = directory
        self.clock = clock
        # Every value the page shows goes through the mask (the excerpt, titles, spread, names alike);
        # only values marked safe here (the form's own URL) are left as they are.
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                      finalize=_masked)
        self.env.filters["when"] = local_time

    def register(self, router: Router) -> None:
        router.add("GET", PATH, self.show)
        router.add("POST", PATH, self.acknowledge, max_body=4096)

    def show(self, request: Request) -> Response:
        return self._with_token(request, lambda token, store: self._page(store, token, request))

    def acknowledge(self, request: Request) -> Response:
        return self._with_token(request, lambda token, store: self._ack(store, token, request))

    def _with_token(self, request: Request, then: Callable[[AckToken, Store], Response]) -> Response:
        raw = (request.query.get("t") or [""])[0]
        try:
            token = self.signer.verify(raw, self.clock.now())
        except (TokenError, ValueError, OverflowError) as exc:
            reason = exc.reason if isinstance(exc, TokenError) else "forged"
            message = str(exc) if isinstance(exc, TokenError) else "链接无效：格式不正确。"
            log.warning("ack.refused", reason=reason, client=request.client)
            return self._error(410 if reason == "expired" else 403, message)
        try:
            return then(token, self.store)
        except incidents.IncidentError:
            return self._error(404, "找不到该事件，可能已被清理。")
        finally:
            self.store.close()  # the connection of this request's thread only (Store keeps one per thread)

    def _page(self, store: Store, token: AckToken, request: Request, notice: str = "") -> Response:
        incident = incidents.get(store.db, token.incident_id)
        told = self._told(store, incident.id)
        html = self.env.get_template("ack.html.j2").render(
            incident=incident, alert=incident.alert, status=STATUS_LABELS.get(incident.status, incident.status),
            source=SOURCE_LABELS.get(incident.alert.source, incident.alert.source),
            person=self._name(token.person) if token.person else "", choices=told,
            acked_by=self._name(incident.acked_by) if incident.acked_by else "",
            action=Markup(escape(f"{PATH}?t={quote((request.query.get('t') or [''])[0], safe='.')}")), notice=notice,
            can_ack=incident.status is Status.OPEN and incident.acked_at is None)
        return Response(200, html.encode(), "text/html; charset=utf-8", PAGE_HEADERS)

    def _ack(self, store: Store, token: AckToken, request: Request) -> Response:
        who, note = token.person, VERIFIED
        if not who:  # a group link: anyone who has it may say who they are; the record says so
            chosen = (parse_qs(request.body.decode("utf-8", "replace")).get("person") or [""])[0]
            allowed = {key for key, _ in self._told(store, token.incident_id)} | set(self.directory.people)
            if chosen not in allowed:
                return self._page(store, token, request, notice="请选择确认人。")
            who, note = chosen, UNVERIFIED
        now = self.clock.now()
        incident = incidents.get(store.db, token.incident_id)
        if incident.acked_at is None:
            incidents.acknowledge(store, token.incident_id, who, now, note=note)
            log.info("incident.acknowledged", incident=token.incident_id, by=who, via="ack-page",
                     verified=note == VERIFIED, client=request.client)
        # Post/Redirect/Get: a reload of the result page never posts again.
        location = f"{PATH}?t={quote((request.query.get('t') or [''])[0], safe='.')}"
        return Response(303, b"", "text/plain; charset=utf-8", (("Location", location),))

    def _told(self, store: Store, incident_id: str) -> list[tuple[str, str]]:
        """(key, label) of everyone the incident's notifications named, in the order first told."""
        seen: dict[str, str] = {}
        for sent in outbox.of_incident(store, incident_id):
            for person in sent.recipients:
                seen.setdefault(person["key"], self._name(person["key"]))
        return list(seen.items())

    def _name(self, key: str) -> str:
        person = self.directory.people.get(key)
        if person is None:
            return key
        return f"{person.name}（{person.role}）" if person.role else person.name

    def _error(self, status: int, message: str) -> Response:
        html = self.env.get_template("ack_error.html.j2").render(message=message, status=status)
        return Response(status, html.encode(), "text/html; charset=utf-8", PAGE_HEADERS)


def _masked(value: object) -> object:
    return mask(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def serve(router: Router, store: Store, config: Config, directory: Directory, clock: Clock) -> AckPage:
    """Register the page on the daemon's listener. Request threads use their own connections of ``store``."""
    page = AckPage(store, Signer(load_secret(config), config.ack_ttl), directory, clock)
    page.register(router)
    return page
