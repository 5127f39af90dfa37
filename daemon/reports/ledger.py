"""台账: the incident register, one row per incident opened in a span of days, with how it was handled.

Every free text that came from the public or from an operator's note (title, resolution note, link
text) goes through ``channels.masking.mask``: informants' phone and ID numbers never reach a spreadsheet
that is passed around. Officials are named (they are who was told), never with their phone numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from channels.masking import mask
from daemon import incidents
from daemon.clock import from_epoch, local
from daemon.config.policy import NotifyConfig
from daemon.incidents import Incident
from daemon.notify import outbox
from daemon.reports.figures import UNKNOWN, IncidentLine, deadline_state, deadline_teams, line_for, region_of
from daemon.store import Store, audit
from rules.county import SHANGHAI

HEADER = ("编号", "等级", "等级变化", "类别", "事件", "首发时间", "首发来源", "首发链接", "传播情况",
          "通知记录", "确认记录", "处置时限", "时限落实", "处置状态", "处置说明")
EVENT_WORDS = {"opened": "发现", "raised": "升级", "resurgence": "回潮"}
DEADLINE_WORDS = {"met": "按时", "missed": "超时", "pending": "未到期"}
AUDIT_WORDS = {"acknowledge": "确认", "resolve": "处置", "note": "备注", "silence": "静默", "unsilence": "解除静默",
               "merge": "合并", "split": "拆分"}
OUTCOME_WORDS = {"sent": "已送达", "pending": "待发送", "failed": "发送失败"}


@dataclass(frozen=True)
class LedgerRow:
    id: str
    level: str
    history: str
    category: str
    title: str
    first_seen: str
    first_source: str
    first_url: str
    spread: str
    notified: str
    acknowledged: str
    deadline: str
    deadline_met: str
    status: str
    resolution: str
    trail: str | None = None  # the incident's audit log (``with_audit``): who did what, when, from where

    def cells(self) -> list[str]:
        return [self.id, self.level, self.history, self.category, self.title, self.first_seen, self.first_source,
                self.first_url, self.spread, self.notified, self.acknowledged, self.deadline, self.deadline_met,
                self.status, self.resolution, *(() if self.trail is None else (self.trail,))]


def span(first: date, last: date) -> tuple[datetime, datetime]:
    """Local days ``first`` to ``last``, both included."""
    return (datetime.combine(first, time(0), SHANGHAI), datetime.combine(last + timedelta(days=1), time(0), SHANGHAI))


def ledger(store: Store, first: date, last: date, now: datetime, notify: NotifyConfig | None = None,
           with_audit: bool = False) -> list[LedgerRow]:
    """The rows; ``with_audit`` adds a last column, 操作记录: every audit entry of each incident."""
    start, end = span(first, last)
    ids = [opened.id for opened in incidents.opened_between(store, start, end)]
    # Each table read once for every incident of the span, not once per incident: a span may be months.
    handled = Handling(
        regions=region_of(store, ids), events=incidents.events_of(store, ids, (*EVENT_WORDS, "acknowledged")),
        notified=outbox.for_incidents(store, ids), resolutions=audit.entries_for_incidents(store, ids, "resolve"))
    rows = [row_for(incident, handled, now, notify) for incident in incidents.by_ids(store, ids)]
    if not with_audit:
        return rows
    trails = audit.entries_for_incidents(store, ids)
    return [dataclasses.replace(row, trail=_trail(trails.get(row.id, []))) for row in rows]


@dataclass(frozen=True)
class Handling:
    """What the ledger tells of its incidents besides the incidents themselves, by incident id."""

    regions: dict[str, str]
    events: dict[str, list[incidents.IncidentEvent]]
    notified: dict[str, list[outbox.OutboxEntry]]
    resolutions: dict[str, list[audit.AuditEntry]]


def row_for(incident: Incident, handled: Handling, now: datetime, notify: NotifyConfig | None) -> LedgerRow:
    line: IncidentLine = line_for(incident, {incident.id: handled.regions.get(incident.id, UNKNOWN)})
    state = deadline_state(incident, now)
    deadline = ""
    if incident.deadline_at is not None:
        deadline = f"{_at(incident.deadline_at)}（{'、'.join(deadline_teams(incident, notify))}）"
    events = handled.events.get(incident.id, [])
    return LedgerRow(
        id=incident.id, level=incident.level.label, history=_history(events),
        category=mask(incident.category),
        title=mask(incident.title), first_seen=_at(line.first_seen), first_source=line.first_source,
        first_url=line.first_url or "", spread=line.spread_text,
        notified=_notified(handled.notified.get(incident.id, [])), acknowledged=_acks(events), deadline=deadline,
        deadline_met=DEADLINE_WORDS[state] if state else "", status=line.status,
        resolution=_resolution(handled.resolutions.get(incident.id, [])))


def _trail(entries: list[audit.AuditEntry]) -> str:
    return "；".join(f"{_at(e.at)} {e.actor} {AUDIT_WORDS.get(e.action, e.action)}"
                    f"{'（' + mask(e.detail) + '）' if e.detail else ''}{' 来自 ' + e.client if e.client else ''}"
                    for e in entries)


def _history(events: list[incidents.IncidentEvent]) -> str:
    return "；".join(f"{_at(e.at)} {EVENT_WORDS[e.kind]}{_label(e.level)}" for e in events if e.kind in EVENT_WORDS)


def _notified(queued: list[outbox.OutboxEntry]) -> str:
    """Who was told when, over which channel; the delivery time when a channel accepted it."""
    parts = []
    for q in queued:
        names = "、".join(p.get("name") or p.get("key") or "" for p in q.recipients) or "群组"
        at = from_epoch(q.sent_at or q.created_at)
        parts.append(f"{_at(at)} {q.channel}→{names}（{OUTCOME_WORDS.get(q.status, q.status)}）")
    return "；".join(parts)


def _acks(events: list[incidents.IncidentEvent]) -> str:
    return "；".join(f"{_at(e.at)} {e.actor}" for e in events if e.kind == "acknowledged")


def _resolution(entries: list[audit.AuditEntry]) -> str:
    return "；".join(mask(f"{_at(e.at)} {e.actor}：{e.detail or '已处置'}") for e in entries)


def _at(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(level: str | None) -> str:
    words = {"red": "红色", "yellow": "黄色", "blue": "蓝色"}
    return words.get(level or "", level or "")


def _header(rows: list[LedgerRow]) -> tuple[str, ...]:
    return (*HEADER, "操作记录") if rows and rows[0].trail is not None else HEADER


def to_csv(rows: list[LedgerRow]) -> str:
    """UTF-8 with BOM when written out, so Excel on Chinese Windows opens it without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header(rows))
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


def to_xlsx(rows: list[LedgerRow], title: str = "舆情事件台账") -> bytes:
    from openpyxl import Workbook  # imported when a workbook is made: a tenth of the daemon's start-up
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append(list(_header(rows)))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row.cells())
    for column, width in zip("ABCDEFGHIJKLMNOP", (18, 6, 30, 10, 30, 17, 10, 30, 24, 50, 24, 28, 8, 12, 40, 50),
                             strict=True):
        sheet.column_dimensions[column].width = width
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
