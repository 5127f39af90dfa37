"""Triage: one message from ingest to a verdict, and the rulebook that decides it.

In: ``Message`` values (``daemon.ingest``). Out: the message stored, its ``Analysis`` and ``Verdict`` (``rules``), the
incident it opened or joined (``daemon.incidents``) and the timers of its escalation
(``daemon.notify``). ``rulebook`` holds the live rules, ``reload`` swaps them whole, ``review`` keeps the
待研判 list for messages no rule matched, ``replay`` grades stored messages with new rules (read-only).
"""
