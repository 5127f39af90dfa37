"""Merge and split incidents from the console: the corrections of ``yuqing incidents merge|split``
(``daemon.incidents.corrections``), behind the session and its CSRF token, audited with the client's
address. A bad id (unknown, already merged, the incident itself, a message not of this incident) is
refused with a Chinese message and changes nothing: the correction is one transaction."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

import jinja2
import structlog

from channels.masking import mask
from channels.templates import SOURCE_LABELS
from daemon import incidents
from daemon.app.console.auth import Visit
from daemon.app.console.web import form, form_values, html, redirect
from daemon.app.httpapi import Response
from daemon.clock import Clock
from daemon.incidents import IncidentError, Status, corrections
from daemon.store import Store, messages

log = structlog.get_logger(__name__)

VIA = "控制台"
MAX_ID = 64


class Choice(NamedTuple):
    """A message of the incident, offered for splitting off."""

    id: str
    source: str
    headline: str


def choices(store: Store, incident_id: str) -> list[Choice]:
    return [Choice(m.id, SOURCE_LABELS.get(m.source, m.source),
                   mask(str(m.data.get("title") or m.data.get("text") or ""))[:60])
            for m in messages.members(store, incident_id)]


class Regroup:
    def __init__(self, store: Store, clock: Clock, env: jinja2.Environment) -> None:
        self.store = store
        self.clock = clock
        self.env = env

    def merge(self, visit: Visit) -> Response:
        """This incident (``id``) goes into another (``into``): its messages, its story."""
        fields = form(visit.request)
        other, into = fields.get("id", "")[:MAX_ID], fields.get("into", "").strip().upper()[:MAX_ID]
        if not into:
            return self._message(400, "请填写要并入的事件编号。")
        if into == other:
            return self._message(409, "不能将事件并入它自身，未做任何更改。")
        try:
            target = incidents.get(self.store.db, into)
            if target.status is Status.MERGED:  # its messages live on in another: point there instead
                return self._message(409, f"事件 {into} 已并入 {target.merged_into}，请改为并入该事件。未做任何更改。")
            corrections.merge(self.store, into, other, visit.person, self.clock.now(), note=VIA,
                              client=visit.request.client)
        except IncidentError as exc:
            log.info("console.merge_refused", person=visit.person, into=into, other=other, error=str(exc))
            return self._message(409, "合并未执行：事件编号不存在，或本事件已被合并。未做任何更改。")
        log.info("console.merged", person=visit.person, into=into, other=other, client=visit.request.client)
        return redirect(f"/console/incident?id={quote(into)}")

    def split(self, visit: Visit) -> Response:
        """The ticked messages (``message``, repeated) leave this incident (``id``) for a new one."""
        incident_id = form(visit.request).get("id", "")[:MAX_ID]
        chosen = list(dict.fromkeys(form_values(visit.request, "message")))
        if not chosen:
            return self._message(400, "请勾选要拆分出去的消息。")
        try:
            new = corrections.split(self.store, incident_id, chosen, visit.person, self.clock.now(), note=VIA,
                                    client=visit.request.client)
        except IncidentError as exc:
            log.info("console.split_refused", person=visit.person, incident=incident_id, error=str(exc))
            return self._message(409, "拆分未执行：所选消息不属于本事件，或拆分后本事件将不剩任何消息"
                                      "（此时请直接处置）。未做任何更改。")
        log.info("console.split", person=visit.person, incident=incident_id, new=new.id, client=visit.request.client)
        return redirect(f"/console/incident?id={quote(new.id)}")

    def _message(self, status: int, message: str) -> Response:
        return html(status, self.env.get_template("console_message.html.j2").render(message=message, status=status))
