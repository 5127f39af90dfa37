"""The console's pages (GET): open incidents by level, an incident's timeline, the 待研判 list, today's and
this week's report, the ledger download; and the JSON the dashboard polls so new incidents appear
without a reload. Every page reads the store through the tables' owners; only the ledger download,
which takes data out, is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2

from channels.masking import mask
from channels.templates import SOURCE_LABELS
from daemon import incidents
from daemon.app.console.auth import Visit
from daemon.app.console.regroup import choices
from daemon.app.console.web import REPORT_CSP, day, html, query, security_headers
from daemon.app.httpapi import Request, Response
from daemon.clock import Clock, from_epoch, local, to_epoch
from daemon.config.policy import NotifyConfig
from daemon.incidents import Incident, Status
from daemon.notify import outbox, silences
from daemon.reports.figures import Kind, build_report, period_for
from daemon.reports.ledger import ledger, to_csv, to_xlsx
from daemon.reports.render import render
from daemon.store import Store, audit, messages
from daemon.triage import review

LEVELS = (("red", "红色预警"), ("yellow", "黄色预警"), ("blue", "蓝色预警"))
STATUS_LABELS = {"open": "待确认", "acknowledged": "已确认，处置中", "resolved": "已处置", "closed": "已平息",
                 "merged": "已合并"}
EVENT_LABELS = {"opened": "发现", "raised": "升级", "resurgence": "回潮", "acknowledged": "确认",
                "resolved": "处置完毕", "closed": "自动平息", "merged": "合并", "split": "拆分", "note": "备注"}
_SAID = ("note", "acknowledged", "resolved", "merged", "split")  # events whose detail is a person's words
ACTION_LABELS = {"acknowledge": "确认", "resolve": "处置", "note": "备注", "silence": "静默", "unsilence": "解除静默",
                 "merge": "合并", "split": "拆分", "login": "登录", "login_failed": "登录失败", "logout": "退出",
                 "ledger": "下载台账", "logout_all": "退出全部登录"}
SENT_LABELS = {"sent": "已送达", "pending": "待发送", "failed": "发送失败", "skipped": "未发送"}
REVIEW_SHOWN = 100
LEDGER_MAX_DAYS = 366


def summary(incident: Incident, names: dict[str, str]) -> dict[str, Any]:
    """What the dashboard shows of an incident, as JSON (the poll) and to the template alike."""
    return {"id": incident.id, "level": str(incident.level), "title": mask(incident.title),
            "category": mask(incident.category), "status": str(incident.status),
            "status_label": STATUS_LABELS.get(incident.status, incident.status),
            "opened": local(incident.opened_at).strftime("%m-%d %H:%M"),
            "deadline": to_epoch(incident.deadline_at) if incident.deadline_at else None,
            "acked_by": names.get(incident.acked_by or "", incident.acked_by or "")}


def in_hand(store: Store) -> list[Incident]:
    """Open and acknowledged incidents, most serious first, oldest first within a level."""
    found = incidents.listing(store, statuses=(Status.OPEN, Status.ACKNOWLEDGED))
    rank = {level: i for i, (level, _) in enumerate(LEVELS)}
    return sorted(found, key=lambda i: (rank.get(str(i.level), 9), i.opened_at))


class Pages:
    def __init__(self, store: Store, notify: NotifyConfig, clock: Clock, env: jinja2.Environment) -> None:
        self.store = store
        self.notify = notify
        self.clock = clock
        self.env = env

    def names(self) -> dict[str, str]:
        return {key: person.name for key, person in self.notify.directory.people.items()}

    def _page(self, template: str, visit: Visit, **values: Any) -> Response:
        body = self.env.get_template(template).render(
            me=self.names().get(visit.person, visit.person), csrf=visit.session.csrf, **values)
        return html(200, body)

    def dashboard(self, visit: Visit) -> Response:
        names = self.names()
        rows = [summary(i, names) for i in in_hand(self.store)]
        return self._page("console_dashboard.html.j2", visit, levels=LEVELS, rows=rows,
                          now=to_epoch(self.clock.now()))

    def open_json(self, visit: Visit) -> Response:
        names = self.names()
        return Response.json(200, {"now": to_epoch(self.clock.now()),
                                   "incidents": [summary(i, names) for i in in_hand(self.store)]},
                             security_headers())

    def incident(self, visit: Visit) -> Response:
        try:
            incident = incidents.get(self.store.db, query(visit.request, "id"))
        except incidents.IncidentError:
            return html(404, self.env.get_template("console_message.html.j2").render(
                message="找不到该事件。", status=404))
        now = self.clock.now()
        names = self.names()
        return self._page(
            "console_incident.html.j2", visit, incident=incident, alert=incident.alert, row=summary(incident, names),
            source=SOURCE_LABELS.get(incident.alert.source, incident.alert.source), now=to_epoch(now),
            timeline=self.timeline(incident.id, names), silence=silences.active(self.store.db, incident, now),
            trail=[self._audit_line(e, names) for e in
                   audit.entries_for_incidents(self.store, [incident.id]).get(incident.id, [])],
            can_ack=incident.status is Status.OPEN and incident.acked_at is None,
            can_resolve=incident.status in (Status.OPEN, Status.ACKNOWLEDGED),
            can_regroup=incident.status is not Status.MERGED, members=choices(self.store, incident.id))

    def timeline(self, incident_id: str, names: dict[str, str]) -> list[tuple[str, str, str]]:
        """(time, what, detail): messages, level changes, notices sent and to whom, acks, notes, resolution."""
        entries: list[tuple[float, int, str, str]] = []
        for m in messages.members(self.store, incident_id):
            source = SOURCE_LABELS.get(m.source, m.source)
            headline = m.data.get("title") or str(m.data.get("text"))[:60]
            entries.append((m.received_at, 0, "消息", f"{source}：{headline}"))
        for e in incidents.events(self.store, incident_id):
            who = names.get(e.actor or "", e.actor or "")
            level = dict(LEVELS).get(e.level or "", "")
            detail = "　".join(part for part in (level, who, e.detail if e.kind in _SAID else "") if part)
            entries.append((e.at, 1, EVENT_LABELS.get(e.kind, e.kind), detail))
        for n in outbox.of_incident(self.store, incident_id):
            told = "、".join(str(p.get("name") or p.get("key")) for p in n.recipients) or "群组"
            outcome = SENT_LABELS.get(n.status, n.status)
            entries.append((n.created_at, 2, "通知", f"{n.channel} → {told}（{outcome}）"))
        return [(local(from_epoch(at)).strftime("%m-%d %H:%M:%S"), what, mask(detail))
                for at, _, what, detail in sorted(entries, key=lambda e: (e[0], e[1]))]

    def _audit_line(self, entry: audit.AuditEntry, names: dict[str, str]) -> tuple[str, str, str, str, str]:
        return (local(entry.at).strftime("%m-%d %H:%M:%S"), names.get(entry.actor, entry.actor),
                ACTION_LABELS.get(entry.action, entry.action), mask(entry.detail), entry.client or "命令行")

    def review_list(self, visit: Visit) -> Response:
        found = review.items(self.store, limit=REVIEW_SHOWN)
        rows = [(local(i.at).strftime("%m-%d %H:%M"), SOURCE_LABELS.get(i.source, i.source), i.headline,
                 f"{i.score:.2f}", "、".join(i.features[:5]), i.url) for i in found]
        return self._page("console_review.html.j2", visit, rows=rows, shown=REVIEW_SHOWN)

    def reports(self, visit: Visit) -> Response:
        today = local(self.clock.now()).date()
        return self._page("console_reports.html.j2", visit, first=today.replace(day=1).isoformat(),
                          last=today.isoformat())

    def report(self, visit: Visit) -> Response:
        """The 日报 of ``day`` (today's so far without one), or the 周报 of the week (Monday to Sunday)
        containing it, up to today if that week is not over; as the e-mail's page."""
        kind: Kind = "weekly" if query(visit.request, "kind") == "weekly" else "daily"
        now = self.clock.now()
        today = local(now).date()
        picked = day(query(visit.request, "day")) if query(visit.request, "day") else today
        if picked is None or picked > today:
            return self._message(400, "请选择今天或以前的日期（如 2026-11-20）。")
        if kind == "weekly":
            picked = min(picked + timedelta(days=6 - picked.weekday()), today)
        rendered = render(build_report(self.store, period_for(kind, picked), now, self.notify))
        return html(200, rendered.html_inline(), csp=REPORT_CSP)

    def ledger(self, visit: Visit) -> Response:
        try:
            first = date.fromisoformat(query(visit.request, "from"))
            last = date.fromisoformat(query(visit.request, "to"))
        except ValueError:
            return self._message(400, "请填写起止日期。")
        if not timedelta(0) <= last - first <= timedelta(days=LEDGER_MAX_DAYS):
            return self._message(400, f"结束日期须不早于开始日期，且跨度不超过 {LEDGER_MAX_DAYS} 天。")
        fmt = "csv" if query(visit.request, "format") == "csv" else "xlsx"
        trail = query(visit.request, "audit") == "1"
        now = self.clock.now()
        rows = ledger(self.store, first, last, now, self.notify, with_audit=trail)
        what = f"{first}..{last} {fmt}{'（含操作记录）' if trail else ''}，{len(rows)} 起"
        with self.store.transaction() as db:
            audit.record(db, now, visit.person, "ledger", None, what, visit.request.client)
        body, kind = ((to_csv(rows).encode("utf-8-sig"), "text/csv; charset=utf-8") if fmt == "csv" else
                      (to_xlsx(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        name = f"ledger-{first}-{last}.{fmt}"
        return Response(200, body, kind, (*security_headers(),
                                          ("Content-Disposition", f'attachment; filename="{name}"')))

    def _message(self, status: int, message: str) -> Response:
        return html(status, self.env.get_template("console_message.html.j2").render(message=message, status=status))


def static_file(path: Path, kind: str) -> Callable[[Request], Response]:
    """A file of the console's own (script, stylesheet), read once when the console starts."""
    body = path.read_bytes()
    return lambda _request: Response(200, body, kind, (("X-Content-Type-Options", "nosniff"),
                                                      ("Cache-Control", "max-age=300")))
