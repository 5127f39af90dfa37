"""One message through the stages: dedupe → analyze and evaluate → incident → escalation timers.

The message, its verdict, its incident and the incident's timers are written in one transaction;
the file is moved only after that commit. A crash in between leaves the file in ``processing/`` and the
rerun finds every message already stored, so nothing is notified twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import structlog

from daemon import incidents
from daemon.clock import Clock, to_epoch
from daemon.escalation import Escalation
from daemon.ingest import FileRejected, Inbox, parse_file
from daemon.rulebook import Rulebook
from daemon.store import Store, dumps
from rules.message import message_to_dict
from rules.model import Level, Message, Verdict, content_hash
from rules.text import Analyzer

log = structlog.get_logger(__name__)

Handled = Literal["graded", "ungraded", "duplicate"]


@dataclass
class Pipeline:
    store: Store
    analyzer: Analyzer
    rulebook: Rulebook
    escalation: Escalation
    clock: Clock
    max_file_bytes: int

    def handle_file(self, inbox: Inbox, path: Path) -> None:
        """Handle a claimed file in ``processing/`` and move it out. Never raises for bad input."""
        now = self.clock.now()
        try:
            parsed = parse_file(path, inbox.spec, self.max_file_bytes)
        except (FileRejected, OSError) as exc:
            self._quarantine(inbox, path, str(exc), 0, now)
            return
        counts: dict[str, int] = {}
        for message in parsed.messages:
            outcome = self.handle_message(message, path.name)
            counts[outcome] = counts.get(outcome, 0) + 1
        if parsed.errors:
            reason = (f"{len(parsed.errors)} bad record(s); {len(parsed.messages)} good record(s) were"
                      " processed and will be recognised if the file is sent again.\n" + "\n".join(parsed.errors))
            self._quarantine(inbox, path, reason, len(parsed.messages), now)
            return
        sha = _sha256(path)
        target = inbox.finish(path, now)
        self._record_file(inbox, path.name, sha, "processed", len(parsed.messages), None, now)
        log.info("file.processed", file=path.name, inbox=str(inbox.path), moved_to=str(target), **counts)

    def handle_message(self, message: Message, file: str | None = None) -> Handled:
        now = self.clock.now()
        seen = self.store.find_message(message.id, _hash(message))
        if seen is not None:
            with self.store.transaction() as db:  # newer metrics matter for spread
                db.execute("UPDATE messages SET data = ?, updated_at = ? WHERE id = ?",
                           (dumps(message_to_dict(message)), to_epoch(now), seen.id))
            log.info("message.duplicate", message=message.id, known_as=seen.id, incident=seen.incident_id)
            return "duplicate"
        analysis, verdict = self.rulebook.evaluate(self.analyzer, message, now)
        incident_id = self._commit(message, verdict, file, now)
        log.info("message.graded", message=message.id, source=message.source, level=str(verdict.level),
                 rules=[m.rule_id for m in verdict.matches], keywords=sorted(analysis.words),
                 incident=incident_id, period=verdict.period)
        return "graded" if verdict.level > Level.NONE else "ungraded"

    def _commit(self, message: Message, verdict: Verdict, file: str | None, now: datetime) -> str | None:
        with self.store.transaction() as db:
            incident_id = None
            if verdict.level > Level.NONE:
                incident = incidents.open_incident(db, self.store, message, verdict, now)
                self.escalation.schedule(db, incident)
                incident_id = incident.id
            db.execute(
                "INSERT INTO messages (id, hash, source, data, received_at, updated_at, file, level, verdict,"
                " incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message.id, _hash(message), message.source, dumps(message_to_dict(message)), to_epoch(now),
                 to_epoch(now), file, str(verdict.level), dumps(verdict_to_dict(verdict)), incident_id))
        if incident_id:
            log.info("incident.opened", incident=incident_id, level=str(verdict.level),
                     title=verdict.top.title if verdict.top else "")
        return incident_id

    def _quarantine(self, inbox: Inbox, path: Path, reason: str, good: int, now: datetime) -> None:
        sha = _sha256(path) if path.exists() else ""
        target = inbox.quarantine(path, reason, now)
        self._record_file(inbox, path.name, sha, "failed", good, reason, now)
        log.warning("file.quarantined", file=path.name, moved_to=str(target), reason=reason.splitlines()[0])

    def _record_file(self, inbox: Inbox, name: str, sha: str, status: str, records: int, reason: str | None,
                     now: datetime) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO files (inbox, name, sha256, status, records, reason, at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", (str(inbox.path), name, sha, status, records, reason,
                                                        to_epoch(now)))


def verdict_to_dict(verdict: Verdict) -> dict[str, object]:
    return {
        "level": str(verdict.level), "period": verdict.period, "reasons": list(verdict.reasons),
        "rules": [{"id": m.rule_id, "title": m.title, "category": m.category, "level": str(m.level),
                   "base_level": str(m.base_level), "location": str(m.location)} for m in verdict.matches],
    }


def _hash(message: Message) -> str:
    return content_hash(message.source, message.title, message.text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
