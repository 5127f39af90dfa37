"""Report e-mail: ``pack`` puts a report's PNG charts (sent as ``cid:`` related parts of the HTML) and its
XLSX workbook (attached) into the notification's ``meta``, so the report is stored in the outbox before
it is sent and retried like any other notification.

Building and sending the message is the mail channel's (``channels.mail``), with its handling of SMTP
answers: a 5xx refusal ends the report at once, a 4xx or an unreachable server is retried. Other
channels (chat robots, the console, jsonl files) get the plain-text report; its files are kept under
state_dir/reports.
"""

from __future__ import annotations

from channels.mail import pack

__all__ = ["pack"]
