"""Repository of the ``timers``, ``deadlines`` and ``digest_items`` tables: escalation steps, deadline
reminders and the daily digest as rows due at a time, fired once. Every read and write of these tables is
a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations
