"""The ``yuqing`` command's entry point, under a name no other project uses.

This project's import packages ``daemon``, ``rules`` and ``channels`` have the names of PyPI projects:
python-daemon installs a top-level ``daemon``, django-rules (``pip install rules``) a ``rules``, Django
Channels a ``channels``. One of them earlier on ``sys.path`` (PYTHONPATH, a .pth file) would be imported
instead of ours, and one installed into the same site-packages overwrites our files. So before anything of
them is imported, this module checks that all three are the packages installed beside it, each ``__init__``
carrying this project's marker, and otherwise stops with a message naming the foreign package.
(docs/architecture.md, "Import names".) Standard library only: it must work whatever else is broken.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

PACKAGES = ("daemon", "rules", "channels")
MARKER = 'PROJECT = "yuqing-sentinel"'  # a line in each package's __init__.py


def foreign_packages() -> list[str]:
    """One sentence per package that is not this installation's own (empty: all three are)."""
    home = Path(__file__).resolve().parent
    problems = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)  # finds without importing: foreign code never runs
        origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
        expected = (home / name / "__init__.py").resolve()
        if origin is None:
            where = "nowhere" if spec is None else "a folder without __init__.py: " + ", ".join(
                spec.submodule_search_locations or ())
            problems.append(f"`{name}` is {where}, not {expected.parent}")
        elif origin != expected:
            problems.append(f"`{name}` is imported from {origin.parent}, not from {expected.parent}:"
                            f" another project's `{name}` package comes earlier on sys.path")
        elif MARKER not in origin.read_text(encoding="utf-8", errors="replace"):
            problems.append(f"{origin} is another project's file: a package with a top-level `{name}`"
                            " was installed into the same folder over this one")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    problems = foreign_packages()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("yuqing-sentinel needs its own `daemon`, `rules` and `channels`: run it from its own virtual"
              " environment (docs/deploy.md) with PYTHONPATH unset, and install python-daemon, django-rules"
              " or Django Channels elsewhere", file=sys.stderr)
        return 1
    from daemon.app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
