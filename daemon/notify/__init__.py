"""Notify: who is told what, when, over which channel, until someone acknowledges.

In: incidents and their timers (escalation steps, deadlines, digests), closures, admin notices. Out:
rendered notifications in the outbox, delivered through ``channels`` and recorded. Policies and the
people, teams and channels they name are typed in ``daemon.config.policy`` / ``daemon.config.notify``.
"""
