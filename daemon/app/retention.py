"""Housekeeping: handled inbox files and remembered feed items older than the config's ``limits``.

Every message is in the store for good (the ledger and reports read it); the files it came in are
kept in ``processed/YYYY-MM-DD/`` for ``keep_processed`` (90 days by default) so that IT staff can
look at what arrived, then removed so that the disk does not fill. ``failed/`` is never pruned:
a quarantined file waits for a person. Feed item ids (``feed_seen``) are forgotten after
``keep_feed_items``; an old item a feed still lists is then a duplicate by its id or content in the
store, never a new message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import structlog

from daemon.clock import local
from daemon.ingest import feeds
from daemon.store import Store

log = structlog.get_logger(__name__)

EVERY = timedelta(hours=1)  # pruning is cheap but need not run on every rescan


def prune_processed(folders: Iterable[Path], keep: timedelta, now: datetime) -> int:
    """Remove the ``YYYY-MM-DD`` day folders older than ``keep`` under each ``processed`` folder.
    Anything else in there is left alone. Returns how many day folders went."""
    oldest = local(now).date() - timedelta(days=max(keep.days, 1))
    removed = 0
    for folder in folders:
        if folder.is_symlink():  # swapped for a link by someone with write access to the inbox
            log.warning("retention.link_skipped", folder=str(folder))
            continue
        for day in sorted(folder.iterdir()) if folder.is_dir() else ():
            try:
                when = date.fromisoformat(day.name)
            except ValueError:
                continue
            if when >= oldest or day.is_symlink() or not day.is_dir():
                continue
            shutil.rmtree(day, ignore_errors=True)
            if day.exists():
                log.warning("retention.not_removed", folder=str(day))
            else:
                removed += 1
    if removed:
        log.info("retention.processed_removed", days=removed, older_than=oldest.isoformat())
    return removed


def prune_feed_items(store: Store, keep: timedelta, now: datetime) -> int:
    """Forget feed items first seen longer than ``keep`` ago. Returns how many rows went."""
    with store.transaction() as db:
        removed = feeds.forget_seen(db, now - keep)
    if removed:
        log.info("retention.feed_items_forgotten", items=removed, older_than=(now - keep).isoformat())
    return removed
