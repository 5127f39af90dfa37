"""One message through the stages: dedupe → analyze and evaluate → incident → escalation timers.

The message, its verdict, its incident and the incident's timers are written in one transaction;
the file is moved only after that commit. A crash in between leaves the file in ``processing/`` and the
rerun finds every message already stored, so nothing is notified twice.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import structlog

from daemon import incidents
from daemon.clock import Clock, to_epoch
from daemon.incidents import Status
from daemon.incidents.spread import figures, message_columns
from daemon.incidents.stories import Stories
from daemon.ingest.folders import MAX_RESUMES, Inbox
from daemon.ingest.formats import FileRejected, ReaderFailed, read_records
from daemon.notify.escalation import Escalation
from daemon.store import Store, dumps, loads
from daemon.store.messages import find_message
from daemon.triage.review import ReviewNet, record_review
from daemon.triage.rulebook import Rulebook
from rules.message import message_to_dict
from rules.model import Analysis, Level, Message, Verdict, content_hash
from rules.reviewnet import ReviewScore
from rules.text import Analyzer

log = structlog.get_logger(__name__)

Handled = Literal["graded", "ungraded", "duplicate"]
MAX_DAYS_AHEAD = timedelta(days=2)  # as Splunk's MAX_DAYS_HENCE: a little clock skew is normal
MAX_DAYS_AGO = timedelta(days=2000)  # as Splunk's MAX_DAYS_AGO
MAX_LISTED_ERRORS = 1000  # a 100,000-line file of garbage needs no 100,000-line reason file


@dataclass
class Pipeline:
    store: Store
    analyzer: Analyzer
    rulebook: Rulebook
    escalation: Escalation
    clock: Clock
    max_file_bytes: int
    stories: Stories
    tick: Callable[[], None] = lambda: None  # called between records: the service pings systemd's watchdog
    review: ReviewNet | None = None  # 待研判 for messages no rule matched; None: no review list

    def handle_file(self, inbox: Inbox, path: Path) -> None:
        """Handle a claimed file in ``processing/`` and move it out. Never raises for bad input.

        Records are streamed, one transaction per message, so memory stays flat however long the file.
        A file the process died on when it was taken and on MAX_RESUMES resumes is not read again."""
        resumes = inbox.begin(path.name)
        if resumes > MAX_RESUMES:
            reason = (f"the daemon stopped {resumes} times while reading this file (when it was taken and on"
                      f" {resumes - 1} resumes); it is set aside so that the files after it are handled")
            self._quarantine(inbox, path, reason, 0, self.clock.now())
            return
        try:
            self._read(inbox, path)
        except sqlite3.Error:
            inbox.not_its_fault(path.name)
            raise

    def _read(self, inbox: Inbox, path: Path) -> None:
        now = self.clock.now()
        counts: dict[str, int] = {}
        errors: list[str] = []
        good = bad = 0
        try:
            for record in read_records(path, inbox.spec, inbox.spec.max_file_bytes or self.max_file_bytes,
                                       dir_fd=inbox.fd_of(path)):
                self.tick()
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
            if isinstance(exc, ReaderFailed):  # a bug in a reader, not only a bad file: keep the traceback
                log.error("file.reader_failed", file=path.name, exc_info=exc.__cause__)
            reason = str(exc) if not good else f"{exc}\n({good} earlier record(s) were processed)"
            self._quarantine(inbox, path, reason, good, now)
            return
        if bad:
            more = f"\n… and {bad - MAX_LISTED_ERRORS} more" if bad > MAX_LISTED_ERRORS else ""
            reason = (f"{bad} bad record(s); {good} good record(s) were processed and will be recognised if"
                      " the file is sent again.\n" + "\n".join(errors) + more)
            self._quarantine(inbox, path, reason, good, now)
            return
        sha = inbox.sha256_hex(path)
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
        message = plausible_time(message, now)
        seen = find_message(self.store, message.id, _hash(message))
        if seen is not None:
            self._update_duplicate(seen.id, message, now)
            log.info("message.duplicate", message=message.id, known_as=seen.id, incident=seen.incident_id)
            if seen.incident_id:
                self._reassess(message, seen.incident_id, now)
            return "duplicate"
        analysis, verdict = self.rulebook.evaluate(self.analyzer, message, now)
        fingerprint = self.stories.fingerprint(message, analysis.words)
        found = self.stories.find(fingerprint, now)
        # A message of a known story is read with it; one on its own may go on the review list (never alerted).
        flagged = self.review.assess(message, verdict) if self.review is not None and not found else None
        incident_id = (self._join(found[0], found[1], message, analysis, verdict, file, now) if found
                       else self._commit(message, analysis, verdict, file, now, flagged))
        if incident_id is not None:
            self.stories.add(incident_id, fingerprint, now)
        log.info("message.graded", message=message.id, source=message.source, level=str(verdict.level),
                 rules=[m.rule_id for m in verdict.matches], keywords=sorted(analysis.words),
                 incident=incident_id, joined=found[1] if found else None, period=verdict.period,
                 review=round(flagged.score, 3) if flagged else None,
                 suppressed=[f"{s.rule_id}: {s.reason}" for s in verdict.suppressed] or None,
                 place=str(verdict.place) if verdict.place else None)
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
            metrics = {k: max(int(before.get(k) or 0), int(v or 0)) for k, v in new["metrics"].items()}
            new["metrics"] = metrics
            if new != old:
                db.execute("UPDATE messages SET data = ?, updated_at = ?, reposts = ?, comments = ?, likes = ?,"
                           " views = ? WHERE id = ?",
                           (dumps(new), to_epoch(now), metrics.get("reposts", 0), metrics.get("comments", 0),
                            metrics.get("likes", 0), metrics.get("views", 0), known_id))

    def _commit(self, message: Message, analysis: Analysis, verdict: Verdict, file: str | None,
                now: datetime, flagged: ReviewScore | None = None) -> str | None:
        """A message that joins no story: it opens one when graded."""
        with self.store.transaction() as db:
            incident_id = None
            if verdict.level > Level.NONE:
                incident = incidents.open_incident(db, self.store, message, verdict, now)
                incident_id = incident.id
            self._insert(db, message, analysis, verdict, file, incident_id, now)
            if flagged is not None and incident_id is None and self.review is not None:
                record_review(db, message.id, flagged, self.review.scorer.name, now)
            if incident_id is not None:
                incidents.refresh_spread(db, incident_id, *figures(db, incident_id, now), now)
                self.escalation.schedule(db, incidents.get(db, incident_id))
        if incident_id:
            log.info("incident.opened", incident=incident_id, level=str(verdict.level),
                     title=verdict.top.title if verdict.top else "")
        return incident_id

    def _join(self, incident_id: str, reason: str, message: Message, analysis: Analysis, verdict: Verdict,
              file: str | None, now: datetime) -> str:
        """A message of a known story: more spread, maybe a higher level, maybe a resurgence (回潮)."""
        with self.store.transaction() as db:
            incident = incidents.current(db, incident_id)
            incident_id = incident.id
            self._insert(db, message, analysis, verdict, file, incident_id, now)
            spread, origin = figures(db, incident_id, now)
            story = self.rulebook.grade(analysis, spread, now)
            best = story if story.level >= verdict.level else verdict
            if incident.status.done:
                incident = incidents.reopen(db, incident, best, now)
                self.escalation.schedule(db, incident)
                log.warning("incident.resurgence", incident=incident_id, level=str(incident.level),
                            message=message.id)
            elif best.level > incident.level:
                self._rise(db, incident, best, now)
            incidents.refresh_spread(db, incident_id, spread, origin, now)
        log.info("incident.joined", incident=incident_id, message=message.id, reason=reason)
        return incident_id

    def _reassess(self, message: Message, incident_id: str, now: datetime) -> None:
        """New counts for a member: the story's spread changed, so its level may rise."""
        analysis = self.analyzer.analyze(message, self.rulebook.keywords)
        with self.store.transaction() as db:
            spread, origin = figures(db, incident_id, now)
            story = self.rulebook.grade(analysis, spread, now)
            incident = incidents.get(db, incident_id)
            if incident.status in (Status.OPEN, Status.ACKNOWLEDGED) and story.level > incident.level:
                self._rise(db, incident, story, now)
            incidents.refresh_spread(db, incident_id, spread, origin, now)

    def _rise(self, db: sqlite3.Connection, incident: incidents.Incident, verdict: Verdict, now: datetime) -> None:
        raised = incidents.raise_level(db, incident, verdict, now)
        self.escalation.schedule(db, raised)
        log.warning("incident.raised", incident=incident.id, level=str(raised.level), was=str(incident.level))

    def _insert(self, db: sqlite3.Connection, message: Message, analysis: Analysis, verdict: Verdict,
                file: str | None, incident_id: str | None, now: datetime) -> None:
        columns = {
            "id": message.id, "hash": _hash(message), "source": message.source,
            "data": dumps(message_to_dict(message)), "received_at": to_epoch(now), "updated_at": to_epoch(now),
            "file": file, "level": str(verdict.level), "verdict": dumps(verdict_to_dict(verdict, analysis)),
            "incident_id": incident_id, **message_columns(message),
        }
        db.execute(f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   tuple(columns.values()))

    def _quarantine(self, inbox: Inbox, path: Path, reason: str, good: int, now: datetime) -> None:
        sha = inbox.sha256_hex(path)
        target = inbox.quarantine(path, reason, now)
        self._record_file(inbox, path.name, sha, "failed", good, reason, now)
        log.warning("file.quarantined", file=path.name, moved_to=str(target), reason=reason.splitlines()[0])

    def _record_file(self, inbox: Inbox, name: str, sha: str, status: str, records: int, reason: str | None,
                     now: datetime) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO files (inbox, name, sha256, status, records, reason, at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", (str(inbox.path), name, sha, status, records, reason,
                                                        to_epoch(now)))


def plausible_time(message: Message, now: datetime) -> Message:
    """A publication time more than MAX_DAYS_AHEAD ahead or MAX_DAYS_AGO behind is a collector's bug
    (a zeroed field reads 1970): the message is kept and graded as received now, with a warning."""
    moment = message.published_at
    if moment is None or now - MAX_DAYS_AGO <= moment <= now + MAX_DAYS_AHEAD:
        return message
    ahead = moment > now
    log.warning("message.time_ignored", message=message.id, published_at=moment.isoformat(),
                reason=f"more than {(MAX_DAYS_AHEAD if ahead else MAX_DAYS_AGO).days} days"
                       f" {'ahead of' if ahead else 'before'} the time it was received")
    return dataclasses.replace(message, published_at=None)


def verdict_to_dict(verdict: Verdict, analysis: Analysis | None = None) -> dict[str, object]:
    return {
        "level": str(verdict.level), "period": verdict.period, "reasons": list(verdict.reasons),
        "keywords": sorted(analysis.words) if analysis else [],
        "rules": [{"id": m.rule_id, "title": m.title, "category": m.category, "level": str(m.level),
                   "base_level": str(m.base_level), "location": str(m.location)} for m in verdict.matches],
    }


def _hash(message: Message) -> str:
    return content_hash(message.source, message.title, message.text)
