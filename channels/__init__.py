"""The delivery layer: directory of people and teams, templates, and the channels (a module each, found
by URL scheme or gateway kind in ``channels.registry``; apprise for every other scheme).

Never imports ``daemon``, never reads rules and never touches the store: the daemon's outbox decides
what to send and records what happened; this package only renders and delivers.
"""

PROJECT = "yuqing-sentinel"  # yuqing_sentinel.py tells this package from a PyPI namesake by it
