"""The runtime, a package per stage of the data flow (docs/architecture.md):

``ingest`` (files, feeds, HTTP → messages) → ``triage`` (message → verdict, incident, timers) →
``incidents`` (stories, spread, lifecycle) → ``notify`` (policy, escalation, outbox → channels) →
``reports`` (日报/周报, ledger, status); ``app`` wires them into the service and the CLI. Beneath them:
``config`` (typed config.yaml and notify.yaml), ``store`` (SQLite state), ``clock`` and ``logs``.
"""

PROJECT = "yuqing-sentinel"  # yuqing_sentinel.py tells this package from a PyPI namesake by it
