"""The console's actions (POST, behind the session and its CSRF token): acknowledge, resolve, add a note,
silence and lift a silence. Each is one transaction with its audit line (who, when, from which address,
what) and answers with a redirect back to the incident (Post/Redirect/Get). The escalation running on the
evaluation thread sees an acknowledgement at its next timer, so ``unless: acknowledged`` steps stop, as
with the ack page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

import jinja2
import structlog

from daemon import incidents
from daemon.app.console.auth import Visit
from daemon.app.console.web import form, html, redirect
from daemon.app.httpapi import Response
from daemon.clock import Clock
from daemon.notify import silences
from daemon.store import Store, audit

log = structlog.get_logger(__name__)

VIA = "控制台"  # the audit detail of an action taken here
NOTE_MAX = 2000  # characters
SILENCE_HOURS = (1, 4, 12, 24)


class Actions:
    def __init__(self, store: Store, clock: Clock, env: jinja2.Environment) -> None:
        self.store = store
        self.clock = clock
        self.env = env

    def acknowledge(self, visit: Visit) -> Response:
        incident_id = form(visit.request).get("id", "")
        return self._on(visit, incident_id, lambda: incidents.acknowledge(
            self.store, incident_id, visit.person, self.clock.now(), note=VIA, client=visit.request.client))

    def resolve(self, visit: Visit) -> Response:
        fields = form(visit.request)
        incident_id, note = fields.get("id", ""), fields.get("note", "").strip()[:NOTE_MAX]
        return self._on(visit, incident_id, lambda: incidents.resolve(
            self.store, incident_id, visit.person, self.clock.now(), note=f"{VIA}：{note}" if note else VIA,
            client=visit.request.client))

    def note(self, visit: Visit) -> Response:
        fields = form(visit.request)
        incident_id, text = fields.get("id", ""), fields.get("note", "").strip()[:NOTE_MAX]
        if not text:
            return self._back(incident_id)

        def add() -> None:
            now = self.clock.now()
            with self.store.transaction() as db:
                incidents.get(db, incident_id)
                incidents.event(db, incident_id, now, "note", None, visit.person, text)
                audit.record(db, now, visit.person, "note", incident_id, text, visit.request.client)
        return self._on(visit, incident_id, add)

    def silence(self, visit: Visit) -> Response:
        fields = form(visit.request)
        incident_id, reason = fields.get("id", ""), fields.get("reason", "").strip()[:200]
        try:
            hours = int(fields.get("hours", ""))
        except ValueError:
            hours = 0
        if hours not in SILENCE_HOURS or not reason:
            return self._message(400, "请选择静默时长并填写原因。")
        now = self.clock.now()
        return self._on(visit, incident_id, lambda: silences.add(
            self.store, "incident", incident_id, now + timedelta(hours=hours), visit.person, f"{VIA}：{reason}", now,
            client=visit.request.client))

    def unsilence(self, visit: Visit) -> Response:
        """Lift the silence on this incident: one set by mistake, or no longer wanted."""
        incident_id = form(visit.request).get("id", "")

        def lift() -> None:
            now = self.clock.now()
            incident = incidents.get(self.store.db, incident_id)
            silence = silences.active(self.store.db, incident, now)
            if silence is None or silence.kind != "incident":  # a rule's or category's silence is IT's
                raise silences.SilenceError("该事件没有可在此解除的静默")
            silences.remove(self.store, silence.id, visit.person, now, client=visit.request.client)
        return self._on(visit, incident_id, lift)

    def _on(self, visit: Visit, incident_id: str, act: Callable[[], object]) -> Response:
        try:
            act()
        except incidents.IncidentError as exc:
            log.info("console.refused", person=visit.person, incident=incident_id, error=str(exc))
            return self._message(409, "该事件已处置或不存在，操作未执行。")
        except silences.SilenceError as exc:
            return self._message(400, f"静默未生效：{exc}")
        log.info("console.action", person=visit.person, incident=incident_id, path=visit.request.path,
                 client=visit.request.client)
        return self._back(incident_id)

    def _back(self, incident_id: str) -> Response:
        return redirect(f"/console/incident?id={quote(incident_id)}")

    def _message(self, status: int, message: str) -> Response:
        return html(status, self.env.get_template("console_message.html.j2").render(message=message, status=status))
