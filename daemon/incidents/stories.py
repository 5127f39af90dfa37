"""Which incident a new message belongs to, kept as an in-memory index of recent stories.

The index is rebuilt from the store at start-up (each message's keywords are stored with its verdict),
so clustering survives restarts without persisting the index itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from daemon import incidents
from daemon.clock import from_epoch
from daemon.incidents.clustering import ClusterIndex, Fingerprint, Fingerprinter, Gazetteer
from daemon.store import Store, messages
from rules.message import message_from_dict
from rules.model import Message

log = structlog.get_logger(__name__)


class Stories:
    def __init__(self, fingerprinter: Fingerprinter, window: timedelta, watch: timedelta) -> None:
        self.fingerprinter = fingerprinter
        self.window = window
        self.watch = watch
        self.index = ClusterIndex()

    @classmethod
    def for_county(cls, dictionary: Path | None, keyword_sets: Mapping[str, frozenset[str]], window: timedelta,
                   watch: timedelta, cache_dir: Path | None = None) -> Stories:
        gazetteer = Gazetteer.from_dictionary(dictionary) if dictionary and dictionary.is_file() else Gazetteer(())
        return cls(Fingerprinter(gazetteer, keyword_sets, cache_dir), window, watch)

    def retune(self, keyword_sets: Mapping[str, frozenset[str]]) -> None:
        """New rules, new keyword groups: fingerprints already indexed keep the groups they were made with."""
        self.fingerprinter = Fingerprinter(self.fingerprinter.gazetteer, keyword_sets)

    def fingerprint(self, message: Message, words: frozenset[str]) -> Fingerprint:
        return self.fingerprinter.of(message.body, words)

    def find(self, fingerprint: Fingerprint, now: datetime) -> tuple[str, str] | None:
        self.index.expire(now - max(self.window, self.watch))
        return self.index.find(fingerprint)

    def add(self, incident_id: str, fingerprint: Fingerprint, at: datetime) -> None:
        self.index.add(incident_id, fingerprint, at)

    def forget(self, incident_id: str) -> None:
        self.index.remove(incident_id)

    def rebuild(self, store: Store, now: datetime) -> int:
        """Index the members of every story still within reach; returns how many stories."""
        rows = messages.members_of(store, incidents.within_reach(store, now - max(self.window, self.watch)))
        for row in rows:
            message = message_from_dict(row.data)
            words = frozenset(row.verdict.get("keywords", ()))
            incident_id = row.incident_id or ""  # always set: the rows are members of these incidents
            self.add(incident_id, self.fingerprint(message, words), from_epoch(row.received_at))
        log.info("stories.indexed", stories=len(self.index), messages=len(rows))
        return len(self.index)
