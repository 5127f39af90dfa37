"""Report e-mail: ``parts`` puts a report's HTML, its PNG charts (sent as ``cid:`` related parts of the
HTML) and its XLSX workbook (attached) into the notification's ``Parts``, so the report is stored in the
outbox (daemon/notify/outbox_meta.py) before it is sent and retried like any other notification.

Building and sending the message is the mail channel's (``channels.mail``), with its handling of SMTP
answers: a 5xx refusal ends the report at once, a 4xx or an unreachable server is retried. Other
channels (chat robots, the console, jsonl files) get the plain-text report; its files are kept under
state_dir/reports.
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.model import Parts


def parts(html: str, images: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> Parts:
    """The e-mail parts of a report: its HTML, images by Content-ID and attachments by file name."""
    return Parts(html=html, images=tuple(images.items()), attachments=tuple(attachments.items()))
