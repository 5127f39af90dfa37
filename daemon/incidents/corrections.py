"""Staff corrections to clustering: merge two incidents into one, split messages off into a new one.

Both are audited and leave an event on every incident they touch. A merged incident keeps its id and
points at the one it went into, so links and the running daemon's index still lead somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from daemon import incidents
from daemon.incidents import Incident, IncidentError, Status
from daemon.incidents.spread import figures
from daemon.store import Store, audit, messages, timers
from rules.message import message_from_dict
from rules.model import Level, Verdict

CLOSED = ("resolved", "closed", "merged")


def merge(store: Store, into: str, other: str, by: str, now: datetime, note: str = "",
          client: str | None = None) -> Incident:
    """Every message of ``other`` joins ``into``; ``into`` takes the higher level (a rise is escalated
    by the caller's next timer pass like any other). ``other``'s pending timers are cancelled.
    ``client``: the console's address, for the audit line (None from the CLI)."""
    if into == other:
        raise IncidentError("an incident cannot be merged into itself")
    with store.transaction() as db:
        target, source = incidents.get(db, into), incidents.get(db, other)
        if source.status is Status.MERGED:
            raise IncidentError(f"{other} was already merged")
        messages.move_members(db, other, into)
        incidents.mark_merged(db, other, into)
        timers.cancel_pending(db, other, now, "cancelled:merged")
        if source.level > target.level and target.status not in CLOSED:
            target = incidents.raise_level(db, target, Verdict(source.level), now)
        incidents.refresh_spread(db, into, *figures(db, into, now), now)
        incidents.event(db, other, now, "merged", None, by, f"into {into}. {note}".strip())
        incidents.event(db, into, now, "merged", None, by, f"took in {other}. {note}".strip())
        audit.record(db, now, by, "merge", into, f"{other} → {into}. {note}".strip(), client)
        return incidents.get(db, into)


def split(store: Store, incident_id: str, message_ids: Sequence[str], by: str, now: datetime,
          note: str = "", client: str | None = None) -> Incident:
    """Move ``message_ids`` out of ``incident_id`` into a new incident graded by their own verdicts."""
    with store.transaction() as db:
        source = incidents.get(db, incident_id)
        rows = [messages.member(db, mid, incident_id) for mid in message_ids]
        missing = [mid for mid, row in zip(message_ids, rows, strict=True) if row is None]
        if missing:
            raise IncidentError(f"not messages of {incident_id}: {', '.join(missing)}")
        if messages.count_members(db, incident_id) <= len(rows):
            raise IncidentError(f"{incident_id} would have no messages left: resolve it instead")
        found = [row for row in rows if row is not None]
        first = max(found, key=lambda r: Level.parse(r.level))
        level = max(Level.parse(first.level), Level.BLUE)  # staff split it off: it is worth watching
        message = message_from_dict(first.data)
        new = incidents.open_incident(db, store, message, Verdict(level), now)
        messages.assign(db, [r.id for r in found], new.id)
        for target in (incident_id, new.id):
            incidents.refresh_spread(db, target, *figures(db, target, now), now)
        detail = f"{', '.join(message_ids)} → {new.id}. {note}".strip()
        incidents.event(db, incident_id, now, "split", None, by, detail)
        incidents.event(db, new.id, now, "split", source.level, by, f"from {incident_id}. {note}".strip())
        audit.record(db, now, by, "split", incident_id, detail, client)
        return incidents.get(db, new.id)
