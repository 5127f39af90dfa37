"""The real daemon, except that the process dies (``os._exit``) the moment it starts reading a file whose
name contains ``poison``: what a crash inside a C parser, or the kernel's OOM killer, does to it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from daemon.app import cli
from daemon.triage import pipeline

EXIT_CODE = 70
_real_read_records = pipeline.read_records


def _dying_read_records(path: Path, *args: Any, **kwargs: Any) -> Any:
    if "poison" in path.name:
        os._exit(EXIT_CODE)
    return _real_read_records(path, *args, **kwargs)


pipeline.read_records = _dying_read_records  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli.main())
