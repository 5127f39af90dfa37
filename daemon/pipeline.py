"""One message through the stages: dedupe → analyze and evaluate → incident → escalation timers.

The message, its verdict, its incident and the incident's timers are written in one transaction;
the file is moved only after that commit. A crash in between leaves the file in ``processing/`` and the
rerun finds every message already stored, so nothing is notified twice.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import structlog

from daemon import incidents
from daemon.clock import Clock, to_epoch
from daemon.escalation import Escalation
from daemon.formats import FileRejected, read_records
from daemon.ingest import Inbox
from daemon.rulebook import Rulebook
from daemon.store import Store, dumps, loads
from rules.message import message_to_dict
from rules.model import Level, Message, Verdict, content_hash
from rules.text import Analyzer

log = structlog.get_logger(__name__)

Handled = Literal["graded", "ungraded", "duplicate"]
MAX_LISTED_ERRORS = 1000  # a 100,000-line file of garbage needs no 100,000-line reason file


@dataclass
class Pipeline:
    store: Store
    analyzer: Analyzer
    rulebook: Rulebook
    escalation: Escalation
    clock: Clock
    max_file_bytes: int

    def handle_file(self, inbox: Inbox, path: Path) -> None:
        """Handle a claimed file in ``processing/`` and move it out. Never raises for bad input.

        Records are streamed, one transaction per message, so memory stays flat however long the file."""
        now = self.clock.now()
        counts: dict[str, int] = {}
        errors: list[str] = []
        good = bad = 0
        try:
            for record in read_records(path, inbox.spec, inbox.spec.max_file_bytes or self.max_file_bytes):
                if record.message is None:
                    bad += 1
                    if bad <= MAX_LISTED_ERRORS:
                        errors.append(f"{record.where}: {record.error}")
                    continue
                outcome = self._handle_record(record.message, record.where, path.name, errors)
                good += outcome != "error"
                bad += outcome == "error"
                counts[outcome] = counts.get(outcome, 0) + 1
        except (FileRejected, OSError, UnicodeError) as exc:
            reason = str(exc) if not good else f"{exc}\n({good} earlier record(s) were processed)"
            self._quarantine(inbox, path, reason, good, now)
            return
        if bad:
            more = f"\n… and {bad - MAX_LISTED_ERRORS} more" if bad > MAX_LISTED_ERRORS else ""
            reason = (f"{bad} bad record(s); {good} good record(s) were processed and will be recognised if"
                      " the file is sent again.\n" + "\n".join(errors) + more)
            self._quarantine(inbox, path, reason, good, now)
            return
        sha = _sha256(path)
        target = inbox.finish(path, now)
        self._record_file(inbox, path.name, sha, "processed", good, None, now)
        log.info("file.processed", file=path.name, inbox=str(inbox.path), moved_to=str(target), **counts)

    def _handle_record(self, message: Message, where: str, file: str, errors: list[str]) -> Handled | Literal["error"]:
        """A failure inside analysis or the rule engine is that record's problem, not the daemon's; a
        failing store is the daemon's and propagates (the file stays in processing/ for the next try)."""
        try:
            return self.handle_message(message, file)
        except sqlite3.Error:
            raise
        except Exception as exc:
            log.exception("message.error", message=message.id, file=file, where=where)
            errors.append(f"{where}: could not be evaluated: {type(exc).__name__}: {exc}")
            return "error"

    def handle_message(self, message: Message, file: str | None = None) -> Handled:
        now = self.clock.now()
        seen = self.store.find_message(message.id, _hash(message))
        if seen is not None:
            self._update_duplicate(seen.id, message, now)
            log.info("message.duplicate", message=message.id, known_as=seen.id, incident=seen.incident_id)
            return "duplicate"
        analysis, verdict = self.rulebook.evaluate(self.analyzer, message, now)
        incident_id = self._commit(message, verdict, file, now)
        log.info("message.graded", message=message.id, source=message.source, level=str(verdict.level),
                 rules=[m.rule_id for m in verdict.matches], keywords=sorted(analysis.words),
                 incident=incident_id, period=verdict.period)
        return "graded" if verdict.level > Level.NONE else "ungraded"

    def _update_duplicate(self, known_id: str, message: Message, now: datetime) -> None:
        """A re-sent post raises no second alert, but its newer counts matter for spread. Counts only go
        up: a late copy of an older crawl must not undo a newer one."""
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM messages WHERE id = ?", (known_id,)).fetchone()
            old = loads(row["data"]) if row else {}
            new = message_to_dict(message)
            new["id"] = known_id
            before = old.get("metrics") or {}
            new["metrics"] = {k: max(int(before.get(k) or 0), int(v or 0)) for k, v in new["metrics"].items()}
            if new != old:
                db.execute("UPDATE messages SET data = ?, updated_at = ? WHERE id = ?",
                           (dumps(new), to_epoch(now), known_id))

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
