"""structlog setup: JSON lines for journald, a readable console on a terminal.

Foreign loggers (apprise, watchdog, jieba) go through the same renderer, so journald gets one format.
Every line, ours and theirs, tracebacks included, passes ``redact`` last: URLs in it are masked
(``channels.delivery.mask_url``), the secrets of the configured channels (``hide``) become ``***``, and
informants' numbers are masked (``channels.masking``) in every field but the identifiers.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog

from channels.delivery import mask_urls_in, redact
from channels.masking import mask

_LEVEL_NAMES = {"warn": "warning", "exception": "error", "critical": "critical"}
# Fields that name things (ids, files, paths): kept as they are, so lines can be searched for them.
IDENTIFIERS = frozenset({"timestamp", "logger", "log_level", "level", "message", "messages", "incident",
                         "notification", "notifications", "known_as", "id", "ids", "file", "files", "path",
                         "inbox", "inboxes", "version", "rule", "rules"})
_hidden: frozenset[str] = frozenset()
_hidden_lock = threading.Lock()


def hide(secrets: frozenset[str]) -> None:
    """Secrets (channel passwords, tokens, webhook keys) to blank out of every later line."""
    global _hidden
    with _hidden_lock:
        _hidden = frozenset(s for s in secrets if len(s) >= 4)


def redact_event(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _clean(value, personal=key not in IDENTIFIERS)
    return event_dict


def _clean(value: Any, *, personal: bool) -> Any:
    if isinstance(value, str):
        text = redact(mask_urls_in(value), _hidden) if _hidden else mask_urls_in(value)
        return mask(text) if personal else text
    if isinstance(value, list | tuple):
        return [_clean(v, personal=personal) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v, personal=personal) for k, v in value.items()}
    return value


def add_log_level(_logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The log level under ``log_level``: ``level`` in our events is the 预警等级 of a message or incident."""
    event_dict["log_level"] = _LEVEL_NAMES.get(method_name, method_name)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, not what it was at setup (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup(*, json_lines: bool | None = None, level: int = logging.INFO) -> None:
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json_lines:
        final.append(structlog.processors.format_exc_info)
    final.append(redact_event)
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for noisy in ("apprise", "watchdog", "jieba", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
