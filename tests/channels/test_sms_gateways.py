"""SMS gateways against local servers: the county's HTTP gateway, and Aliyun and Tencent Cloud stand-ins
that check signatures the way the real APIs do, computed here independently of the code under test, and
answer with the real APIs' success and error bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from channels import delivery
from channels.model import AliyunSms, ChannelSpec, HttpSms, Notification, Outcome, Parts, Person, TencentSms
from channels.webcall import retry_after
from tests.channels.sending import deliver

ZHANG = Person("zhang", "张三", phone="13800000001")
LI = Person("li", "李四", phone="13800000002")
WANG = Person("wang", "王五")  # no phone
TITLE = "【红色预警】城东拆迁户聚集"
BODY = '群众说"补偿款"没到位\n请于11-20 10:00前处置'
KEY_SECRET = "aliyun-Secret-9f8e7d6c"
TC_SECRET = "tencent-Key-1a2b3c4d5e"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Server:
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[Seen], tuple[int, Any]] = lambda s: (200, {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            state.seen.append(request)
            status, payload = state.answer(request)
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def note(*people: Person) -> Notification:
    return Notification("n-1", "sms", people, TITLE, BODY, parts=Parts(level="red"))


# ---------------------------------------------------------------- the county's HTTP gateway


def http_sms(server: Server, **kw: Any) -> ChannelSpec:
    gateway = HttpSms(url=f"{server.url}/send?to={{{{ phone }}}}",
                      body='{"mobile": "{{ phone }}", "content": "{{ text }}", "who": "{{ name }}"}',
                      headers={"X-Token": "gw-Token-12345"}, **kw)
    return ChannelSpec("sms", gateway.url, "phone", gateway)


def test_http_sms_one_json_request_per_recipient(server: Server) -> None:
    result = deliver(http_sms(server), note(ZHANG, LI, WANG))

    assert result.outcome is Outcome.OK, result.detail
    assert result.reached == ("zhang", "li")
    assert result.detail == "skipped (no phone): 王五"
    assert [s.path for s in server.seen] == ["/send?to=13800000001", "/send?to=13800000002"]
    first = server.seen[0]
    assert first.headers["x-token"] == "gw-Token-12345"
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    # Quotes and the line break of the text are escaped: the body is valid JSON, the text intact.
    assert json.loads(first.body) == {"mobile": "13800000001", "content": f"{TITLE}\n{BODY}", "who": "张三"}


def test_http_sms_form_body_and_get(server: Server) -> None:
    form = HttpSms(url=f"{server.url}/sms", body="m={{ phone }}&c={{ text }}",
                   content_type="application/x-www-form-urlencoded")
    assert deliver(ChannelSpec("sms", form.url, "phone", form), note(ZHANG)).ok
    assert dict(parse_qsl(server.seen[0].body.decode())) == {"m": "13800000001", "c": f"{TITLE}\n{BODY}"}

    get = HttpSms(url=f"{server.url}/api?m={{{{ phone }}}}&c={{{{ title }}}}", method="GET")
    assert deliver(ChannelSpec("sms", get.url, "phone", get), note(ZHANG)).ok
    assert server.seen[1].method == "GET"
    assert server.seen[1].path == f"/api?m=13800000001&c={quote(TITLE, safe='')}"


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.OK), (204, Outcome.OK), (500, Outcome.RETRY), (503, Outcome.RETRY), (429, Outcome.RETRY),
    (400, Outcome.PERMANENT), (401, Outcome.PERMANENT), (404, Outcome.PERMANENT),
])
def test_http_sms_status_decides(server: Server, status: int, outcome: Outcome) -> None:
    server.answer = lambda s: (status, {"error": "x"} if status >= 400 else {})
    result = deliver(http_sms(server), note(ZHANG))
    assert result.outcome is outcome
    if status >= 400:
        assert result.detail == f'张三: {outcome.value}, HTTP {status}: {{"error": "x"}}'


def test_http_sms_partial_failure_names_who_was_reached(server: Server) -> None:
    server.answer = lambda s: (500, {}) if b"13800000002" in s.body else (200, {})
    result = deliver(http_sms(server), note(ZHANG, LI))
    assert result.outcome is Outcome.RETRY
    assert result.reached == ("zhang",)
    assert result.detail == "李四: retry, HTTP 500: {}; reached 1 of 2"
    assert "13800000002" not in result.detail


def test_http_sms_retry_after_is_passed_on(server: Server) -> None:
    """429 with ``Retry-After``: RETRY no sooner than asked; for several recipients, the longest wait."""
    server.answer = lambda s: (429, {}) if b"13800000001" in s.body else (503, {})
    server.headers = {"Retry-After": "120"}
    result = deliver(http_sms(server), note(ZHANG, LI))
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 120.0)


def test_http_sms_without_retry_after_leaves_the_wait_to_backoff(server: Server) -> None:
    server.answer = lambda s: (429, {})
    assert deliver(http_sms(server), note(ZHANG)).retry_after is None
    server.answer = lambda s: (400, {})
    server.headers = {"Retry-After": "120"}  # a permanent failure is not retried at all
    result = deliver(http_sms(server), note(ZHANG))
    assert (result.outcome, result.retry_after) == (Outcome.PERMANENT, None)


@pytest.mark.parametrize(("value", "seconds"), [
    ("30", 30.0), ("Wed, 02 Dec 2026 08:01:00 GMT", 60.0), ("Wed, 02 Dec 2026 07:59:00 GMT", 0.0),
    ("9999999", 86400.0), ("soon", None), ("", None), ("-5", None),
])
def test_retry_after_header_forms(value: str, seconds: float | None) -> None:
    headers = Message()
    headers["Retry-After"] = value
    assert retry_after(headers, now=datetime(2026, 12, 2, 8, 0, tzinfo=UTC)) == seconds


def test_http_sms_silent_gateway_is_retry_within_timeout(silent_server: int) -> None:
    gateway = HttpSms(url=f"http://127.0.0.1:{silent_server}/send", body="{{ text }}")
    started = time.monotonic()
    result = deliver(ChannelSpec("sms", gateway.url, "phone", gateway), note(ZHANG), timeout=1)
    assert result.outcome is Outcome.RETRY
    assert "timed out" in result.detail
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------- Aliyun


def aliyun_signature(params: dict[str, str], secret: str) -> str:
    """As Aliyun's documentation spells it, written independently of channels.aliyun."""
    def enc(s: str) -> str:
        return quote(s, safe="~").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")
    query = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = "POST&%2F&" + enc(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def aliyun_api(secret: str, code: str = "OK") -> Callable[[Seen], tuple[int, Any]]:
    nonces: set[str] = set()

    def answer(request: Seen) -> tuple[int, Any]:
        params = dict(parse_qsl(request.body.decode("ascii"), keep_blank_values=True))
        if params.get("Signature") != aliyun_signature(params, secret):
            return 400, {"RequestId": "R1", "Code": "SignatureDoesNotMatch",
                         "Message": "Specified signature is not matched with our calculation."}
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs((datetime.now(UTC) - stamp).total_seconds()) > 900 or params["SignatureNonce"] in nonces:
            return 400, {"RequestId": "R2", "Code": "SignatureNonceUsed", "Message": "nonce used"}
        nonces.add(params["SignatureNonce"])
        if code != "OK":
            return 200, {"RequestId": "R3", "Code": code, "Message": "触发号码天级流控"}
        return 200, {"RequestId": "R4", "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}
    return answer


def aliyun_spec(server: Server, secret: str = KEY_SECRET) -> ChannelSpec:
    gateway = AliyunSms("LTAI5tKeyId0001", secret, "某县网信办", "SMS_123456789",
                        params={"title": "{{ title }}", "content": "{{ body }}"}, endpoint=f"{server.url}/")
    return ChannelSpec("aliyun", gateway.endpoint, "phone", gateway)


def test_aliyun_signed_request_is_accepted(server: Server) -> None:
    server.answer = aliyun_api(KEY_SECRET)
    result = deliver(aliyun_spec(server), note(ZHANG, LI))

    assert result.outcome is Outcome.OK, result.detail
    assert len(server.seen) == 2
    params = dict(parse_qsl(server.seen[0].body.decode()))
    assert (params["Action"], params["Version"], params["PhoneNumbers"], params["SignName"]) == (
        "SendSms", "2017-05-25", "13800000001", "某县网信办")
    assert json.loads(params["TemplateParam"]) == {"title": TITLE, "content": BODY}
    assert server.seen[0].headers["content-type"] == "application/x-www-form-urlencoded"


def test_aliyun_wrong_secret_is_refused_permanently(server: Server) -> None:
    server.answer = aliyun_api("the-real-secret")
    result = deliver(aliyun_spec(server), note(ZHANG))
    assert result.outcome is Outcome.PERMANENT
    assert "aliyun SignatureDoesNotMatch" in result.detail
    assert "(HTTP 400)" in result.detail


@pytest.mark.parametrize(("code", "outcome"), [
    ("isv.BUSINESS_LIMIT_CONTROL", Outcome.RETRY), ("Throttling.User", Outcome.RETRY),
    ("isv.MOBILE_NUMBER_ILLEGAL", Outcome.PERMANENT), ("isv.SMS_TEMPLATE_ILLEGAL", Outcome.PERMANENT),
])
def test_aliyun_business_errors(server: Server, code: str, outcome: Outcome) -> None:
    server.answer = aliyun_api(KEY_SECRET, code)
    result = deliver(aliyun_spec(server), note(ZHANG))
    assert result.outcome is outcome
    assert f"aliyun {code}: 触发号码天级流控" in result.detail


# ---------------------------------------------------------------- Tencent Cloud


def tencent_check(request: Seen, secret_id: str, secret_key: str) -> bool:
    """Signature v3 as Tencent Cloud documents it, written independently of channels.tencent."""
    auth = request.headers.get("authorization", "")
    stamp = int(request.headers["x-tc-timestamp"])
    date = time.strftime("%Y-%m-%d", time.gmtime(stamp))
    signed = "content-type;host"
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{request.headers['content-type']}\nhost:{request.headers['host']}\n",
        signed, hashlib.sha256(request.body).hexdigest(),
    ])
    scope = f"{date}/sms/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = sign(sign(sign(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    expected = (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed}, "
                f"Signature={hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()}")
    return hmac.compare_digest(auth, expected) and abs(time.time() - stamp) < 300


def tencent_api(secret_key: str, phone_code: str = "Ok", error: str = "") -> Callable[[Seen], tuple[int, Any]]:
    def answer(request: Seen) -> tuple[int, Any]:
        if request.headers.get("x-tc-action") != "SendSms" or request.headers.get("x-tc-version") != "2021-01-11":
            return 200, {"Response": {"Error": {"Code": "InvalidAction", "Message": "?"}, "RequestId": "a"}}
        if not tencent_check(request, "AKIDtencent0001", secret_key):
            return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                "Message": "The provided credentials could not be validated."},
                                      "RequestId": "b"}}
        if error:
            return 200, {"Response": {"Error": {"Code": error, "Message": "请求的次数超过了频率限制。"},
                                      "RequestId": "c"}}
        phones = json.loads(request.body)["PhoneNumberSet"]
        return 200, {"Response": {"SendStatusSet": [
            {"SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": p, "Fee": 1, "SessionContext": "",
             "Code": phone_code, "Message": "send success" if phone_code == "Ok" else "日限额", "IsoCode": "CN"}
            for p in phones], "RequestId": "d"}}
    return answer


def test_gateways_sign_each_request_at_the_injected_time(server: Server) -> None:
    """The Timestamp signed is the clock's reading as each request goes out, not one taken elsewhere."""
    readings = iter([datetime(2026, 11, 20, 1, 30, 0, tzinfo=UTC), datetime(2026, 11, 20, 1, 30, 7, tzinfo=UTC)])
    server.answer = lambda request: (200, {"Code": "OK"})
    assert delivery.deliver(aliyun_spec(server), note(ZHANG, LI), now=lambda: next(readings)).ok
    stamps = [dict(parse_qsl(seen.body.decode()))["Timestamp"] for seen in server.seen]
    assert stamps == ["2026-11-20T01:30:00Z", "2026-11-20T01:30:07Z"]

    server.seen.clear()
    server.answer = lambda request: (200, {"Response": {"SendStatusSet": [{"Code": "Ok"}]}})
    at = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert delivery.deliver(tencent_spec(server), note(ZHANG), now=lambda: at).ok
    assert server.seen[0].headers["x-tc-timestamp"] == str(int(at.timestamp()))


def test_aliyun_refuses_a_stale_clock(server: Server) -> None:
    server.answer = aliyun_api(KEY_SECRET)
    result = delivery.deliver(aliyun_spec(server), note(ZHANG), now=lambda: datetime.now(UTC) - timedelta(hours=1))
    assert not result.ok


def tencent_spec(server: Server, secret: str = TC_SECRET) -> ChannelSpec:
    gateway = TencentSms("AKIDtencent0001", secret, "1400000001", "某县网信办", "1234567",
                         params=("{{ title }}", "{{ body }}"), endpoint=f"{server.url}/")
    return ChannelSpec("tencent", gateway.endpoint, "phone", gateway)


def test_tencent_signed_request_is_accepted(server: Server) -> None:
    server.answer = tencent_api(TC_SECRET)
    result = deliver(tencent_spec(server), note(ZHANG))

    assert result.outcome is Outcome.OK, result.detail
    payload = json.loads(server.seen[0].body)
    assert payload == {"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400000001",
                       "SignName": "某县网信办", "TemplateId": "1234567", "TemplateParamSet": [TITLE, BODY]}
    assert server.seen[0].headers["x-tc-region"] == "ap-guangzhou"


@pytest.mark.parametrize(("kwargs", "secret", "outcome", "code"), [
    ({}, "wrong-key", Outcome.PERMANENT, "AuthFailure.SignatureFailure"),
    ({"error": "RequestLimitExceeded"}, TC_SECRET, Outcome.RETRY, "RequestLimitExceeded"),
    ({"phone_code": "LimitExceeded.PhoneNumberDailyLimit"}, TC_SECRET, Outcome.RETRY,
     "LimitExceeded.PhoneNumberDailyLimit"),
    ({"phone_code": "InvalidParameterValue.IncorrectPhoneNumber"}, TC_SECRET, Outcome.PERMANENT,
     "InvalidParameterValue.IncorrectPhoneNumber"),
])
def test_tencent_errors(server: Server, kwargs: dict[str, str], secret: str, outcome: Outcome, code: str) -> None:
    server.answer = tencent_api(TC_SECRET, **kwargs)
    result = deliver(tencent_spec(server, secret), note(ZHANG))
    assert result.outcome is outcome
    assert f"tencent {code}" in result.detail


def test_http_sms_retry_after_date_is_counted_from_the_injected_clock(server: Server) -> None:
    """A ``Retry-After`` HTTP date is a wait from the moment the answer came, on the daemon's clock."""
    server.answer = lambda s: (503, {})
    server.headers = {"Retry-After": "Mon, 02 Jun 2031 08:01:30 GMT"}
    at = datetime(2031, 6, 2, 8, 0, tzinfo=UTC)
    result = delivery.deliver(http_sms(server), note(ZHANG), now=lambda: at)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 90.0)
