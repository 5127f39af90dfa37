"""待研判: messages no rule matched that the recall net (rules/reviewnet) says look like an incident.

They are kept in the ``reviews`` table, listed by `yuqing incidents --review` and in the 日报/周报, for an
analyst to read. They open no incident, so nothing about them is ever notified or escalated.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

import structlog

from channels.masking import mask
from daemon import incidents
from daemon.clock import from_epoch, to_epoch
from daemon.config.review import ReviewSpec
from daemon.store import Store, dumps, loads, messages
from daemon.store.messages import MessageRecord
from rules.model import Level, Message, Verdict
from rules.reviewnet import ReviewScore, Scorer, load_scorer

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReviewNet:
    scorer: Scorer
    threshold: float

    def assess(self, message: Message, verdict: Verdict) -> ReviewScore | None:
        """The score of a message graded none, or None when it was graded or scores under the threshold.

        The net only helps: if it fails on some text, the message is still graded and stored."""
        if verdict.level is not Level.NONE:
            return None
        try:
            found = self.scorer.score(message.body)
        except Exception:
            log.exception("review.error", message=message.id, scorer=self.scorer.name)
            return None
        return found if found.score >= self.threshold else None


def build_review_net(spec: ReviewSpec) -> ReviewNet | None:
    """None when ``review: {enabled: false}``. Raises ConfigError for a model file it cannot use."""
    return ReviewNet(load_scorer(spec.model), spec.threshold) if spec.enabled else None


def record_review(db: sqlite3.Connection, message_id: str, found: ReviewScore, scorer: str, now: datetime) -> None:
    db.execute("INSERT OR REPLACE INTO reviews (message_id, at, score, features, scorer) VALUES (?, ?, ?, ?, ?)",
               (message_id, to_epoch(now), found.score, dumps([list(f) for f in found.features]), scorer))


def explain_fields(net: ReviewNet | None, message: Message, verdict: Verdict) -> dict[str, object]:
    """What `yuqing explain` adds for a message graded none: would it go on the review list, and why."""
    if net is None or verdict.level is not Level.NONE:
        return {}
    found = net.scorer.score(message.body)
    return {"review": found.score >= net.threshold, "review_score": round(found.score, 4),
            "review_features": [word for word, _ in found.features], "review_scorer": net.scorer.name}


@dataclass(frozen=True)
class ReviewItem:
    message_id: str
    at: datetime
    source: str
    score: float
    features: tuple[str, ...]
    title: str
    text: str
    url: str | None

    @property
    def headline(self) -> str:
        """One line for a list: the title, else the start of the text."""
        line = (self.title or self.text).strip().replace("\n", " ")
        return line if len(line) <= 60 else line[:59] + "…"


def items(store: Store, start: datetime | None = None, end: datetime | None = None,
          limit: int | None = None) -> list[ReviewItem]:
    """Reviews flagged in [start, end), newest first."""
    sql = ("SELECT message_id, at, score, features FROM reviews WHERE at >= ? AND at < ?"
           " ORDER BY at DESC, message_id")
    bounds = (to_epoch(start) if start else float("-inf"), to_epoch(end) if end else float("inf"))
    rows = store.query(sql + (" LIMIT ?" if limit else ""), bounds + ((limit,) if limit else ()))
    # A review is written with its message, and messages are never deleted: each row finds its message.
    found = messages.by_ids(store, [row["message_id"] for row in rows])
    return [_item(row, found[row["message_id"]]) for row in rows if row["message_id"] in found]


def _item(row: sqlite3.Row, message: MessageRecord) -> ReviewItem:
    """A review item as it may leave the process (reports, the review list): informants' numbers masked."""
    data = message.data
    return ReviewItem(message_id=row["message_id"], at=from_epoch(row["at"]), source=message.source,
                      score=float(row["score"]), features=tuple(str(f[0]) for f in loads(row["features"])),
                      title=mask(str(data.get("title") or "")), text=mask(str(data.get("text") or "")),
                      url=data.get("url"))


def labelled(store: Store, since: datetime, ordinary: int) -> list[dict[str, object]]:
    """Training rows for ``python -m rules.reviewnet.train`` from the county's own traffic since ``since``:
    label 1 for every message of an incident someone acknowledged or resolved (people acted on it), label 0
    for up to ``ordinary`` messages no rule matched and the net did not flag (picked by content hash: a
    fixed, evenly spread sample). Review-list messages are left out: only a person can say what they were."""
    acted = incidents.acted_on(store)
    confirmed = [m for m in messages.in_incidents_since(store, since) if m.incident_id in acted]
    reviewed = {row["message_id"] for row in store.query("SELECT message_id FROM reviews")}
    unreviewed = (m for m in messages.plain_since(store, since) if m.id not in reviewed)
    plain = list(islice(unreviewed, ordinary if ordinary >= 0 else None))  # as SQL's LIMIT: negative, no limit
    return [{"id": m.id, "text": _body(m.data), "label": label}
            for label, found in ((1, confirmed), (0, plain)) for m in found]


def _body(data: dict[str, object]) -> str:
    """What the net reads: title and text, as ``Message.body``."""
    title, text = str(data.get("title") or ""), str(data.get("text") or "")
    return f"{title}\n{text}" if title else text
