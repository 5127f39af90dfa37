"""台账: the incident register, one row per incident opened in a span of days, with how it was handled.

Every free text that came from the public or from an operator's note (title, resolution note, link
text) goes through ``channels.masking.mask``: informants' phone and ID numbers never reach a spreadsheet
that is passed around. Officials are named (they are who was told), never with their phone numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from channels.masking import mask
from daemon import incidents
from daemon.clock import from_epoch, local, to_epoch
from daemon.config.policy import NotifyConfig
from daemon.reports.figures import IncidentLine, deadline_state, deadline_teams, line_for
from daemon.store import Store, loads
from rules.county import SHANGHAI

HEADER = ("编号", "等级", "等级变化", "类别", "事件", "首发时间", "首发来源", "首发链接", "传播情况",
          "通知记录", "确认记录", "处置时限", "时限落实", "处置状态", "处置说明")
EVENT_WORDS = {"opened": "发现", "raised": "升级", "resurgence": "回潮"}
DEADLINE_WORDS = {"met": "按时", "missed": "超时", "pending": "未到期"}
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

    def cells(self) -> list[str]:
        return [self.id, self.level, self.history, self.category, self.title, self.first_seen, self.first_source,
                self.first_url, self.spread, self.notified, self.acknowledged, self.deadline, self.deadline_met,
                self.status, self.resolution]


def span(first: date, last: date) -> tuple[datetime, datetime]:
    """Local days ``first`` to ``last``, both included."""
    return (datetime.combine(first, time(0), SHANGHAI), datetime.combine(last + timedelta(days=1), time(0), SHANGHAI))


def ledger(store: Store, first: date, last: date, now: datetime, notify: NotifyConfig | None = None) -> list[LedgerRow]:
    start, end = span(first, last)
    ids = [r["id"] for r in store.query("SELECT id FROM incidents WHERE opened_at >= ? AND opened_at < ?"
                                        " ORDER BY opened_at, id", (to_epoch(start), to_epoch(end)))]
    return [row_for(store, incident_id, now, notify) for incident_id in ids]


def row_for(store: Store, incident_id: str, now: datetime, notify: NotifyConfig | None) -> LedgerRow:
    incident = incidents.get(store.db, incident_id)
    region = store.one("SELECT json_extract(data, '$.region') AS r FROM messages WHERE id = "
                       "(SELECT first_message FROM incidents WHERE id = ?)", (incident_id,))
    line: IncidentLine = line_for(incident, {incident_id: (region["r"] if region else None) or "未知"})
    state = deadline_state(incident, now)
    deadline = ""
    if incident.deadline_at is not None:
        deadline = f"{_at(incident.deadline_at)}（{'、'.join(deadline_teams(incident, notify))}）"
    return LedgerRow(
        id=incident.id, level=incident.level.label, history=_history(store, incident_id),
        category=mask(incident.category),
        title=mask(incident.title), first_seen=_at(line.first_seen), first_source=line.first_source,
        first_url=line.first_url or "", spread=line.spread_text, notified=_notified(store, incident_id),
        acknowledged=_acks(store, incident_id), deadline=deadline,
        deadline_met=DEADLINE_WORDS[state] if state else "", status=line.status,
        resolution=_resolution(store, incident_id))


def _history(store: Store, incident_id: str) -> str:
    rows = store.query("SELECT at, kind, level FROM incident_events WHERE incident_id = ?"
                       " AND kind IN ('opened', 'raised', 'resurgence') ORDER BY at, id", (incident_id,))
    return "；".join(f"{_at(from_epoch(r['at']))} {EVENT_WORDS[r['kind']]}{_label(r['level'])}" for r in rows)


def _notified(store: Store, incident_id: str) -> str:
    """Who was told when, over which channel; the delivery time when a channel accepted it."""
    rows = store.query("SELECT channel, recipients, status, created_at, sent_at FROM outbox WHERE incident_id = ?"
                       " ORDER BY created_at, id", (incident_id,))
    parts = []
    for r in rows:
        names = "、".join(p.get("name") or p.get("key") or "" for p in loads(r["recipients"])) or "群组"
        at = from_epoch(r["sent_at"] or r["created_at"])
        parts.append(f"{_at(at)} {r['channel']}→{names}（{OUTCOME_WORDS.get(r['status'], r['status'])}）")
    return "；".join(parts)


def _acks(store: Store, incident_id: str) -> str:
    rows = store.query("SELECT at, actor FROM incident_events WHERE incident_id = ? AND kind = 'acknowledged'"
                       " ORDER BY at, id", (incident_id,))
    return "；".join(f"{_at(from_epoch(r['at']))} {r['actor']}" for r in rows)


def _resolution(store: Store, incident_id: str) -> str:
    rows = store.query("SELECT at, actor, detail FROM audit WHERE incident_id = ? AND action = 'resolve'"
                       " ORDER BY at, id", (incident_id,))
    return "；".join(mask(f"{_at(from_epoch(r['at']))} {r['actor']}：{r['detail'] or '已处置'}") for r in rows)


def _at(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(level: str | None) -> str:
    words = {"red": "红色", "yellow": "黄色", "blue": "蓝色"}
    return words.get(level or "", level or "")


def to_csv(rows: list[LedgerRow]) -> str:
    """UTF-8 with BOM when written out, so Excel on Chinese Windows opens it without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


def to_xlsx(rows: list[LedgerRow], title: str = "舆情事件台账") -> bytes:
    from openpyxl import Workbook  # imported when a workbook is made: a tenth of the daemon's start-up
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row.cells())
    for column, width in zip("ABCDEFGHIJKLMNO", (18, 6, 30, 10, 30, 17, 10, 30, 24, 50, 24, 28, 8, 12, 40),
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
