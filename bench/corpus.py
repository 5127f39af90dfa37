"""Where the benchmarks find their corpus of ordinary Chinese text.

The corpus is not part of the repository (its texts come from published data sets whose terms allow
benchmarking, not redistribution with the project). It is looked for, in order:

1. the file named by ``YUQING_CORPUS`` (one JSON object a line with at least ``text``);
2. ``../shared/corpus/bench.jsonl`` beside the repository, where the project's own machines keep it.

Without either, a benchmark stops with a message saying what to provide, instead of a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus" / "bench.jsonl"
VARIABLE = "YUQING_CORPUS"


class CorpusMissing(SystemExit):
    """No corpus could be found: exits with the reason instead of a traceback."""


def corpus_path() -> Path:
    """The corpus file to read: ``$YUQING_CORPUS``, else the shared copy, else :class:`CorpusMissing`."""
    named = os.environ.get(VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise CorpusMissing(f"{VARIABLE}={named}: no such file (a JSON-lines file with a 'text' field a line)")
        return path
    if SHARED.is_file():
        return SHARED
    raise CorpusMissing(
        f"no benchmark corpus: set {VARIABLE} to a JSON-lines file of ordinary Chinese posts, one object a line "
        f'with a "text" field (tens of thousands of lines: reviews, headlines, forum posts), '
        f"or put it at {SHARED}")


def load_texts(path: Path | None = None) -> list[str]:
    """Every ``text`` of the corpus, in file order."""
    with (path or corpus_path()).open(encoding="utf-8") as lines:
        return [str(json.loads(line)["text"]) for line in lines if line.strip()]
