"""The delivery layer: directory of people and teams, templates, apprise-backed channels.

Never imports ``daemon``, never reads rules and never touches the store: the daemon's outbox decides
what to send and records what happened; this package only renders and delivers.
"""

PROJECT = "yuqing-sentinel"  # yuqing_sentinel.py tells this package from a PyPI namesake by it
