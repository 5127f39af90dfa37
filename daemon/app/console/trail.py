"""The audit trail in the browser, and one's own sessions.

``/console/audit``: every audit entry (who, when in Beijing time, from which address, what, which
incident), newest first, filtered by person and by day, a page at a time: each page is one bounded read
(``audit.page``), whatever the table's size. ``/console/sessions``: the browsers logged in under one's own
name, and "log out everywhere" (a lost phone, a shared computer), which ends them all in one transaction
with its audit line.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import jinja2
import structlog

from channels.masking import mask
from daemon.app.console import sessions
from daemon.app.console.auth import LOGIN, SESSION_COOKIE, Visit
from daemon.app.console.pages import ACTION_LABELS
from daemon.app.console.web import day, html, query, redirect, set_cookie
from daemon.app.httpapi import Response
from daemon.clock import Clock, local
from daemon.config.policy import NotifyConfig
from daemon.store import Store, audit
from rules.county import SHANGHAI

log = structlog.get_logger(__name__)

PAGE_SIZE = 50
MAX_PAGE = 1000  # 50 000 entries back: further is `yuqing audit --since`'s job


class Trail:
    def __init__(self, store: Store, notify: NotifyConfig, clock: Clock, env: jinja2.Environment,
                 secure: bool) -> None:
        self.store = store
        self.notify = notify
        self.clock = clock
        self.env = env
        self.secure = secure

    def names(self) -> dict[str, str]:
        return {key: person.name for key, person in self.notify.directory.people.items()}

    def audit_page(self, visit: Visit) -> Response:
        request = visit.request
        person = query(request, "person").strip()[:64]
        day_text = query(request, "day")
        picked = day(day_text) if day_text else None
        try:
            number = int(query(request, "page") or "1")
        except ValueError:
            number = 0
        if (day_text and picked is None) or not 1 <= number <= MAX_PAGE:
            return self._message(400, "筛选条件有误：日期格式如 2026-11-20，页码为正整数。")
        start = datetime.combine(picked, time(0), SHANGHAI) if picked else None
        found = audit.page(self.store, actor=person or None, start=start,
                           end=start + timedelta(days=1) if start else None,
                           limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)  # one more: is there a next page
        names = self.names()
        rows = [(local(e.at).strftime("%Y-%m-%d %H:%M:%S"), names.get(e.actor, e.actor), e.client or "命令行",
                 ACTION_LABELS.get(e.action, e.action), mask(e.detail), e.incident_id or "")
                for e in found[:PAGE_SIZE]]
        filters = {k: v for k, v in (("person", person), ("day", day_text)) if v}
        return self._page("console_audit.html.j2", visit, rows=rows, people=sorted(names.items()), person=person,
                          day=day_text, number=number,
                          previous=self._link(filters, number - 1) if number > 1 else None,
                          next=self._link(filters, number + 1) if len(found) > PAGE_SIZE else None)

    def _link(self, filters: dict[str, str], number: int) -> str:
        return "/console/audit?" + urlencode({**filters, "page": str(number)})

    def sessions_page(self, visit: Visit) -> Response:
        shown = "%Y-%m-%d %H:%M"
        rows = [(local(s.created_at).strftime(shown), s.client, local(s.expires_at).strftime(shown),
                 s.csrf == visit.session.csrf)  # the CSRF token is per session: this one is the current browser
                for s in sessions.of_person(self.store, visit.person, self.clock.now())]
        return self._page("console_sessions.html.j2", visit, rows=rows)

    def logout_everywhere(self, visit: Visit) -> Response:
        now = self.clock.now()
        with self.store.transaction() as db:
            ended = sessions.end_every(db, visit.person)
            audit.record(db, now, visit.person, "logout_all", None, f"控制台：退出全部登录（{ended} 处）",
                         visit.request.client)
        log.info("console.logout_all", person=visit.person, ended=ended, client=visit.request.client)
        return redirect(LOGIN, (set_cookie(SESSION_COOKIE, "", 0, self.secure),))

    def _page(self, template: str, visit: Visit, **values: Any) -> Response:
        body = self.env.get_template(template).render(
            me=self.names().get(visit.person, visit.person), csrf=visit.session.csrf, **values)
        return html(200, body)

    def _message(self, status: int, message: str) -> Response:
        return html(status, self.env.get_template("console_message.html.j2").render(message=message, status=status))
