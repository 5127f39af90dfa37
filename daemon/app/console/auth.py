"""Login, logout and the session check in front of every console page and action.

A page without a session redirects to the login form; a JSON read answers 401; a POST needs the session
*and* its CSRF token in the form (``csrf``), compared in constant time, or it is refused with 403 and
nothing happens. The login form itself carries a pre-login token (a cookie and a form field that must
agree), so another site cannot log a browser in under its own name either. Logins, failed logins and
logouts go to the audit log with the client's address.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import jinja2
import structlog

from channels.directory import Directory
from daemon.app.console import sessions
from daemon.app.console.sessions import Session
from daemon.app.console.users import check_password, hash_password, read_users
from daemon.app.console.web import Throttle, cookies, form, html, redirect, set_cookie
from daemon.app.httpapi import Request, Response
from daemon.clock import Clock
from daemon.config.console import ConsoleSpec
from daemon.store import Store, audit
from rules.errors import ConfigError

log = structlog.get_logger(__name__)

SESSION_COOKIE = "yq_session"
LOGIN_COOKIE = "yq_login"  # the pre-login token: the login form's own CSRF defence
HOME = "/console"
LOGIN = "/console/login"
_DUMMY = hash_password(secrets.token_urlsafe(16))  # unknown names cost as much as known ones: no enumeration


@dataclass(frozen=True)
class Visit:
    """A request that came with a live session."""

    request: Request
    session: Session
    token: str

    @property
    def person(self) -> str:
        return self.session.person


PageHandler = Callable[[Visit], Response]


class Gate:
    def __init__(self, store: Store, spec: ConsoleSpec, directory: Directory, clock: Clock,
                 env: jinja2.Environment, secure: bool) -> None:
        self.store = store
        self.spec = spec
        self.directory = directory
        self.clock = clock
        self.env = env
        self.secure = secure  # the public URL is https: cookies are marked Secure
        self.throttle = Throttle()

    # ------------------------------------------------------------ wrappers

    def page(self, handler: PageHandler) -> Callable[[Request], Response]:
        def checked(request: Request) -> Response:
            visit = self._visit(request)
            return self._closing(lambda: handler(visit) if visit else redirect(LOGIN))
        return checked

    def api(self, handler: PageHandler) -> Callable[[Request], Response]:
        def checked(request: Request) -> Response:
            visit = self._visit(request)
            return self._closing(lambda: handler(visit) if visit else Response.json(401, {"error": "请先登录"}))
        return checked

    def action(self, handler: PageHandler) -> Callable[[Request], Response]:
        def checked(request: Request) -> Response:
            visit = self._visit(request)
            if visit is None:
                return self._closing(lambda: redirect(LOGIN))
            if not hmac.compare_digest(form(request).get("csrf", "").encode(), visit.session.csrf.encode()):
                log.warning("console.csrf_refused", person=visit.person, client=request.client, path=request.path)
                return self._closing(lambda: self._message(403, "请求无效（页面已过期），请返回刷新后重试。"))
            return self._closing(lambda: handler(visit))
        return checked

    def public(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """The login form and its POST: no session needed."""
        return lambda request: self._closing(lambda: handler(request))

    def _visit(self, request: Request) -> Visit | None:
        token = cookies(request).get(SESSION_COOKIE, "")
        session = sessions.find(self.store, token, self.clock.now())
        return None if session is None else Visit(request, session, token)

    def _closing(self, then: Callable[[], Response]) -> Response:
        try:
            return then()
        finally:
            self.store.close()  # this request thread's connection (Store keeps one per thread)

    # ------------------------------------------------------------ login and logout

    def login_form(self, request: Request, notice: str = "", status: int = 200) -> Response:
        pre = secrets.token_urlsafe(16)
        page = self.env.get_template("console_login.html.j2").render(pre=pre, notice=notice)
        return html(status, page, (set_cookie(LOGIN_COOKIE, pre, 3600, self.secure),))

    def login(self, request: Request) -> Response:
        fields = form(request)
        name, password = fields.get("name", "").strip()[:64], fields.get("password", "")
        pre = cookies(request).get(LOGIN_COOKIE, "")
        if not pre or not hmac.compare_digest(fields.get("pre", "").encode(), pre.encode()):
            return self.login_form(request, "登录页面已过期，请重新输入。", 403)
        now = self.clock.now()
        keys = (f"name:{name}", f"client:{request.client}")
        if self.throttle.blocked(keys, now):
            log.warning("console.login_throttled", name=name, client=request.client)
            return self.login_form(request, "失败次数过多，请 15 分钟后再试。", 429)
        try:
            users = read_users(self.spec.users)
        except ConfigError as exc:
            log.error("console.users_unreadable", path=str(self.spec.users), problems=[str(p) for p in exc.problems])
            users = {}
        known = name in users and name in self.directory.people
        if not check_password(password, users[name] if known else _DUMMY) or not known:
            self.throttle.failed(keys, now)
            with self.store.transaction() as db:
                audit.record(db, now, name or "?", "login_failed", None, "控制台登录失败", request.client)
            log.warning("console.login_failed", name=name, client=request.client)
            return self.login_form(request, "用户名或密码错误。", 403)
        self.throttle.succeeded(f"name:{name}")
        token, _ = sessions.start(self.store, name, request.client, now, self.spec.session_ttl)
        with self.store.transaction() as db:
            audit.record(db, now, name, "login", None, "控制台登录", request.client)
        log.info("console.login", person=name, client=request.client)
        max_age = int(self.spec.session_ttl.total_seconds())
        return redirect(HOME, (set_cookie(SESSION_COOKIE, token, max_age, self.secure),
                               set_cookie(LOGIN_COOKIE, "", 0, self.secure)))

    def logout(self, visit: Visit) -> Response:
        now = self.clock.now()
        with self.store.transaction() as db:
            sessions.end(db, visit.token)
            audit.record(db, now, visit.person, "logout", None, "控制台退出", visit.request.client)
        return redirect(LOGIN, (set_cookie(SESSION_COOKIE, "", 0, self.secure),))

    def _message(self, status: int, message: str) -> Response:
        return html(status, self.env.get_template("console_message.html.j2").render(message=message, status=status))
