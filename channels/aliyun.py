"""Aliyun 短信服务 ``SendSms`` (dysmsapi 2017-05-25), RPC style with signature version 1.0 (HMAC-SHA1).

The signature, as Aliyun documents it: every parameter but ``Signature``, names and values encoded as
RFC 3986 (UTF-8; only ``A-Z a-z 0-9 - _ . ~`` left as they are, a space is ``%20``, never ``+``), sorted
by name, joined ``k=v`` with ``&``; then ``StringToSign = "POST&%2F&" + encode(that query)``, signed with
HMAC-SHA1 under the key ``AccessKeySecret + "&"`` and base64-encoded. The request is a form POST.

Answers: HTTP 200 with ``"Code": "OK"`` is sent; other codes come with 200 too (``isv.*`` business
errors) or with 4xx/5xx (``SignatureDoesNotMatch``, ``InvalidAccessKeyId.NotFound``, ``ServiceUnavailable``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from channels.model import AliyunSms, ChannelSpec, Notification, Outcome, Person, Result
from channels.sms_gateway import gateway_of, render, values
from channels.webcall import by_status, call, describe, per_recipient

VERSION = "2017-05-25"
# Codes that may work later: flow control, the number's hourly/daily quota, Aliyun's own trouble.
RETRY_CODES = frozenset({
    "Throttling", "Throttling.User", "Throttling.Api", "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL",
    "ServiceUnavailable", "InternalError", "isp.SYSTEM_ERROR", "SignatureNonceUsed",
})


class AliyunChannel:
    """``kind: aliyun-sms``: one ``SendSms`` call per recipient."""

    name = "aliyun-sms"
    schemes = frozenset({AliyunSms.KIND})
    # The AccessKey pair (the id too: with a leaked secret it is the other half of the credential).
    secret_fields = ("url", "gateway.access_key_id", "gateway.access_key_secret")

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """Each request is signed at ``now()``, the moment it is made."""
        gateway = gateway_of(spec, AliyunSms)

        def one(person: Person, phone: str) -> Result:
            context = values(person, phone, notification)
            return send_sms(gateway, phone, {k: render(v, context) for k, v in gateway.params.items()},
                            now=now, timeout=timeout)

        return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)


CHANNEL = AliyunChannel()


def encode(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun signs it: ``~`` kept, ``*`` → ``%2A``, space → ``%20``."""
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()) if k != "Signature")


def string_to_sign(params: Mapping[str, str], method: str = "POST") -> str:
    return f"{method.upper()}&{encode('/')}&{encode(canonical_query(params))}"


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def request_params(gateway: AliyunSms, phone: str, template: Mapping[str, str], *,
                   now: datetime, nonce: str | None = None) -> dict[str, str]:
    """Every parameter of one ``SendSms`` call, ``Signature`` included; ``now`` is signed as ``Timestamp``
    (Aliyun refuses one more than 15 minutes off)."""
    moment = now.astimezone(UTC)
    params = {
        "AccessKeyId": gateway.access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "PhoneNumbers": phone,
        "RegionId": gateway.region,
        "SignName": gateway.sign_name,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "TemplateCode": gateway.template_code,
        "TemplateParam": json.dumps(dict(template), ensure_ascii=False, separators=(",", ":")),
        "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": VERSION,
    }
    params["Signature"] = signature(params, gateway.access_key_secret)
    return params


def send_sms(gateway: AliyunSms, phone: str, template: Mapping[str, str], *, now: Callable[[], datetime],
             timeout: float = 10) -> Result:
    params = request_params(gateway, phone, template, now=now())
    body = "&".join(f"{encode(k)}={encode(v)}" for k, v in params.items()).encode("ascii")
    reply = call("POST", gateway.endpoint, now=now, body=body, timeout=timeout,
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        answer = json.loads(reply.body) if reply.body else {}
    except ValueError:
        answer = {}
    code = str(answer.get("Code", "")) if isinstance(answer, dict) else ""
    if reply.status == 200 and code == "OK":
        return Result(Outcome.OK)
    if not code:
        return Result(by_status(reply.status) if reply.status != 200 else Outcome.RETRY, describe(reply))
    outcome = Outcome.RETRY if code in RETRY_CODES or reply.status >= 500 else Outcome.PERMANENT
    message = str(answer.get("Message", ""))[:200]
    return Result(outcome, f"aliyun {code}: {message} (HTTP {reply.status})")
