"""Each table of the state database is read and written by one repository module; every other module
calls its functions and holds no SQL. This is also the seam a PostgreSQL backend plugs into."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OWNER = {
    "incidents": "daemon/incidents/__init__.py",
    "incident_events": "daemon/incidents/__init__.py",
    "files": "daemon/store/messages.py",
    "messages": "daemon/store/messages.py",
    "timers": "daemon/store/timers.py",
    "deadlines": "daemon/store/timers.py",
    "digest_items": "daemon/store/timers.py",
    "outbox": "daemon/notify/outbox.py",
    "deliveries": "daemon/notify/outbox.py",
    "sms_sent": "daemon/notify/outbox.py",
    "audit": "daemon/store/audit.py",
    "meta": "daemon/store/meta.py",
    "feed_state": "daemon/ingest/feeds.py",
    "feed_seen": "daemon/ingest/feeds.py",
    "report_timers": "daemon/reports/schedule.py",
    "reviews": "daemon/triage/review.py",
    "silences": "daemon/notify/silences.py",
    "sessions": "daemon/app/console/sessions.py",
}
SCHEMA = "daemon/store/__init__.py"  # creates and migrates every table, and opens transactions
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b", re.IGNORECASE)
TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(?!SET\b)([a-z_]+)", re.IGNORECASE)  # not UPSERT's DO UPDATE SET


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                       for v in node.values)
    return None


def sql_out_of_place() -> list[str]:
    """``module:line: table`` for every SQL statement that touches a table its module does not own."""
    found = []
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = _text(node)
            if text is None or not SQL.match(text):
                continue
            for table in sorted({t.lower() for t in TABLE.findall(text)}):
                if table in OWNER and OWNER[table] != module:
                    found.append(f"{module}:{getattr(node, 'lineno', 0)}: {table}")
                elif table not in OWNER and module != SCHEMA:
                    found.append(f"{module}:{getattr(node, 'lineno', 0)}: {table} (a table nobody owns)")
    return found


def test_every_table_is_read_and_written_by_its_repository_only() -> None:
    assert sql_out_of_place() == []


def test_the_owner_map_names_every_table_of_the_schema() -> None:
    schema = (ROOT / SCHEMA).read_text(encoding="utf-8")
    tables = set(re.findall(r"CREATE TABLE IF NOT EXISTS ([a-z_]+)", schema))
    assert tables == set(OWNER)


def test_a_statement_on_another_module_s_table_is_found(tmp_path: Path) -> None:
    assert TABLE.findall("SELECT o.id FROM outbox o JOIN incidents i ON i.id = o.incident_id") == [
        "outbox", "incidents"]
