"""Notify: who is told what, when, over which channel, until someone acknowledges.

In: incidents (``daemon.incidents.Incident``, with its ``channels.model.Alert``) and their timers
(escalation steps, deadlines, digests), closures, admin notices. Out: ``channels.model.Notification``
rows in the outbox, delivered through ``channels``, each ``channels.model.Result`` recorded in
``deliveries``. Policies and the people, teams and channels they name are typed in
``daemon.config.policy`` / ``daemon.config.notify``.
"""
