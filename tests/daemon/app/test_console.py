"""The web console over a real HTTP listener on 127.0.0.1: login, sessions, CSRF, actions and their audit."""

from __future__ import annotations

import http.client
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from daemon import incidents
from daemon.app.console import Console
from daemon.app.console.users import set_password
from daemon.app.httpapi import HttpServer, Router
from daemon.clock import FakeClock
from daemon.config.console import ConsoleSpec
from daemon.config.notify import load_notify
from daemon.notify import silences
from daemon.store import Store, audit
from tests.conftest import free_port
from tests.daemon.app.test_ackpage import open_red

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
NOTIFY = """\
channels:
  duty-group: "jsonl://./duty.jsonl"
people:
  zhang: {name: 张三, role: 值班员}
  zhao: {name: 赵六, role: 县委副书记}
teams: {值班: [zhang]}
policies:
  red:
    - {notify: [值班], via: [duty-group], deadline: 30m}
"""


class Client:
    """One browser: keeps its cookies, does not follow redirects (the tests look at them)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, fields: dict[str, str] | list[tuple[str, str]] | None = None,
                ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.set_cookies.append(value)
                key, _, rest = value.partition("=")
                cookie = rest.split(";")[0]
                if "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, fields)

    def login(self, name: str = "zhang", password: str = PASSWORD) -> tuple[int, dict[str, str], str]:
        _, _, page = self.get("/console/login")
        pre = re.search(r'name="pre" value="([^"]+)"', page)
        assert pre is not None
        return self.post("/console/login", {"pre": pre.group(1), "name": name, "password": password})

    def csrf(self, path: str = "/console") -> str:
        _, _, page = self.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None, page[:500]
        return found.group(1)


class Served:
    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "notify.yaml").write_text(NOTIFY, encoding="utf-8")
        self.notify = load_notify(tmp_path / "notify.yaml", env={})
        self.users = tmp_path / "console-users.yaml"
        set_password(self.users, "zhang", PASSWORD)
        self.store = Store(tmp_path / "state.db")
        self.clock = FakeClock(T0)
        router = Router()
        Console(self.store, ConsoleSpec(self.users, timedelta(hours=12)), self.notify, self.clock,
                secure=False).register(router)
        self.server = HttpServer(f"127.0.0.1:{free_port()}", router)
        self.server.start()
        self.port = self.server.address[1]
        self.db = tmp_path / "state.db"

    def browser(self) -> Client:
        return Client(self.port)

    def audit_rows(self) -> list[tuple[str, str, str | None, str | None]]:
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT actor, action, incident_id, client FROM audit ORDER BY id").fetchall()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.server.stop()


def test_logging_in_sets_a_strict_httponly_cookie_keeps_only_its_hash_and_audits_it(served: Served) -> None:
    browser = served.browser()
    status, headers, _ = browser.login()
    assert (status, headers["location"]) == (303, "/console")
    cookie = next(c for c in browser.set_cookies if c.startswith("yq_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    token = browser.cookies["yq_session"]
    assert len(token) >= 40
    with sqlite3.connect(served.db) as db:
        stored = db.execute("SELECT token_hash, person, client FROM sessions").fetchall()
    assert len(stored) == 1
    assert stored[0][1:] == ("zhang", "127.0.0.1")
    assert token not in stored[0][0]
    status, headers, page = browser.get("/console")
    assert status == 200
    assert "值班：张三" in page
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert served.audit_rows() == [("zhang", "login", None, "127.0.0.1")]


def test_wrong_passwords_and_unknown_names_are_refused_audited_and_then_throttled(served: Served) -> None:
    browser = served.browser()
    assert browser.login(password="wrong password")[0] == 403
    assert browser.login(name="nobody")[0] == 403
    assert browser.login(name="zhao")[0] == 403  # in the directory, but no password set
    assert "yq_session" not in browser.cookies
    for _ in range(2):
        browser.login(password="still wrong")
    status, _, page = browser.login()  # the right password, but this address has failed five times
    assert status == 429
    assert "失败次数过多" in page
    assert [r[1] for r in served.audit_rows()] == ["login_failed"] * 5
    served.clock.advance(timedelta(minutes=16))
    assert browser.login()[0] == 303


def test_the_login_form_needs_its_own_pre_login_token(served: Served) -> None:
    browser = served.browser()
    status, _, _ = browser.post("/console/login", {"pre": "forged", "name": "zhang", "password": PASSWORD})
    assert status == 403
    assert "yq_session" not in browser.cookies


def test_without_a_session_pages_redirect_to_login_the_api_says_401_and_posts_do_nothing(served: Served) -> None:
    incident = open_red(served.store, T0)
    browser = served.browser()
    status, headers, _ = browser.get("/console")
    assert (status, headers["location"]) == (303, "/console/login")
    assert browser.get("/console/api/open")[0] == 401
    browser.cookies["yq_session"] = "made-up"
    assert browser.post("/console/ack", {"id": incident.id, "csrf": "x"})[0] == 303
    assert incidents.get(served.store.db, incident.id).acked_at is None


def test_a_post_without_the_session_s_csrf_token_is_refused_and_changes_nothing(served: Served) -> None:
    incident = open_red(served.store, T0)
    browser = served.browser()
    browser.login()
    status, _, page = browser.post("/console/ack", {"id": incident.id, "csrf": "not-the-token"})
    assert status == 403
    assert "请求无效" in page
    assert browser.post("/console/ack", {"id": incident.id})[0] == 403
    assert incidents.get(served.store.db, incident.id).acked_at is None
    assert [r[1] for r in served.audit_rows()] == ["login"]


def test_ack_note_silence_and_resolve_are_recorded_with_who_and_from_where(served: Served) -> None:
    incident = open_red(served.store, T0)
    browser = served.browser()
    browser.login()
    csrf = browser.csrf(f"/console/incident?id={incident.id}")
    status, headers, _ = browser.post("/console/ack", {"id": incident.id, "csrf": csrf})
    assert (status, headers["location"]) == (303, f"/console/incident?id={incident.id}")
    assert incidents.get(served.store.db, incident.id).acked_by == "zhang"
    browser.post("/console/note", {"id": incident.id, "csrf": csrf, "note": "已联系城东街道，电话13912345678"})
    browser.post("/console/silence", {"id": incident.id, "csrf": csrf, "hours": "4", "reason": "现场已处置"})
    assert browser.post("/console/silence", {"id": incident.id, "csrf": csrf, "hours": "999", "reason": "x"})[0] == 400
    browser.post("/console/resolve", {"id": incident.id, "csrf": csrf, "note": "已辟谣"})
    assert incidents.get(served.store.db, incident.id).status is incidents.Status.RESOLVED
    assert served.audit_rows()[1:] == [("zhang", action, incident.id, "127.0.0.1")
                                       for action in ("acknowledge", "note", "silence", "resolve")]
    _, _, page = browser.get(f"/console/incident?id={incident.id}")
    for shown in ("已处置", "备注", "已联系城东街道", "现场已处置", "通知", "sms → 张三、赵六", "127.0.0.1"):
        assert shown in page, shown
    assert "13912345678" not in page  # informants' numbers are masked, as everywhere else
    assert 'id="ack"' not in page
    assert 'id="resolve"' not in page
    # Acting on a resolved incident again is refused, not repeated.
    assert browser.post("/console/ack", {"id": incident.id, "csrf": csrf})[0] == 409


def test_the_poll_lists_open_incidents_most_serious_first_with_their_deadlines(served: Served) -> None:
    incident = open_red(served.store, T0)
    with served.store.transaction() as db:
        incidents.set_deadline(db, incident.id, T0 + timedelta(minutes=30))
    browser = served.browser()
    browser.login()
    status, headers, body = browser.get("/console/api/open")
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert f'"id": "{incident.id}"' in body
    assert '"level": "red"' in body
    assert '"status_label": "待确认"' in body
    assert f'"deadline": {(T0 + timedelta(minutes=30)).timestamp()}' in body
    _, _, page = browser.get("/console")
    assert f'id="inc-{incident.id}"' in page
    assert "燃气爆炸致人员伤亡" in page


def test_sessions_end_at_their_expiry_and_at_logout(served: Served) -> None:
    browser = served.browser()
    browser.login()
    served.clock.advance(timedelta(hours=11, minutes=59))
    assert browser.get("/console")[0] == 200
    served.clock.advance(timedelta(minutes=2))
    assert browser.get("/console")[0] == 303
    browser.login()
    csrf = browser.csrf()
    status, headers, _ = browser.post("/console/logout", {"csrf": csrf})
    assert (status, headers["location"]) == (303, "/console/login")
    assert "yq_session" not in browser.cookies
    with sqlite3.connect(served.db) as db:
        assert db.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    assert served.audit_rows()[-1][:2] == ("zhang", "logout")


def test_reports_ledger_and_review_pages_are_served_and_the_download_is_audited(served: Served) -> None:
    incident = open_red(served.store, T0)
    browser = served.browser()
    browser.login()
    status, headers, page = browser.get("/console/report?kind=daily")
    assert status == 200
    assert "舆情日报" in page
    assert "script-src" not in headers["content-security-policy"]
    assert "舆情周报" in browser.get("/console/report?kind=weekly")[2]
    assert browser.get("/console/review")[0] == 200
    status, headers, body = browser.get("/console/ledger?from=2026-11-01&to=2026-11-30&format=csv&audit=1")
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="ledger-2026-11-01-2026-11-30.csv"'
    assert incident.id in body
    assert "操作记录" in body
    assert browser.get("/console/ledger?from=2026-11-30&to=2026-11-01")[0] == 400
    assert served.audit_rows()[-1] == ("zhang", "ledger", None, "127.0.0.1")
    assert browser.get("/console/static/console.js")[0] == 200


def test_the_audit_trail_reads_back_in_order_with_its_addresses(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with store.transaction() as db:
        audit.record(db, T0, "zhang", "login", None, "控制台登录", "10.0.0.7")
        audit.record(db, T0 + timedelta(hours=1), "li", "acknowledge", "YQ-1", "", None)
    assert [(e.actor, e.client) for e in audit.since(store)] == [("zhang", "10.0.0.7"), ("li", None)]
    assert [e.actor for e in audit.since(store, T0 + timedelta(minutes=1))] == ["li"]
    assert [e.actor for e in audit.since(store, limit=1)] == ["li"]



def test_a_silence_set_by_mistake_is_lifted_from_the_page_and_audited(served: Served) -> None:
    incident = open_red(served.store, T0)
    browser = served.browser()
    browser.login()
    csrf = browser.csrf(f"/console/incident?id={incident.id}")
    browser.post("/console/silence", {"id": incident.id, "csrf": csrf, "hours": "12", "reason": "误报"})
    _, _, page = browser.get(f"/console/incident?id={incident.id}")
    assert 'id="unsilence"' in page
    assert browser.post("/console/unsilence", {"id": incident.id, "csrf": "wrong"})[0] == 403
    status, headers, _ = browser.post("/console/unsilence", {"id": incident.id, "csrf": csrf})
    assert (status, headers["location"]) == (303, f"/console/incident?id={incident.id}")
    assert silences.active(served.store.db, incidents.get(served.store.db, incident.id), served.clock.now()) is None
    _, _, page = browser.get(f"/console/incident?id={incident.id}")
    assert 'id="unsilence"' not in page
    assert 'id="silence"' in page  # it may be silenced again
    assert served.audit_rows()[-1] == ("zhang", "unsilence", incident.id, "127.0.0.1")
