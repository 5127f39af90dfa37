"""Tencent Cloud SMS ``SendSms`` (version 2021-01-11) with signature v3, TC3-HMAC-SHA256.

As Tencent Cloud documents it, for a JSON POST to ``/``:

    CanonicalRequest = "POST\\n/\\n\\n" + "content-type:application/json; charset=utf-8\\nhost:{host}\\n"
                       + "\\n" + "content-type;host" + "\\n" + hex(sha256(payload))
    StringToSign     = "TC3-HMAC-SHA256\\n{timestamp}\\n{date}/sms/tc3_request\\n" + hex(sha256(CanonicalRequest))
    key              = HMAC("TC3" + SecretKey, date) → HMAC(·, "sms") → HMAC(·, "tc3_request")
    Authorization    = "TC3-HMAC-SHA256 Credential={SecretId}/{date}/sms/tc3_request,
                        SignedHeaders=content-type;host, Signature=" + hex(HMAC(key, StringToSign))

``date`` is the UTC date of ``X-TC-Timestamp``. Every answer is HTTP 200: ``Response.Error`` for a refused
call (``AuthFailure.SignatureFailure``, ``RequestLimitExceeded`` …), else ``Response.SendStatusSet`` with
one ``Code`` per number (``Ok`` when sent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from channels.model import ChannelSpec, Notification, Outcome, Person, Result, TencentSms
from channels.sms_gateway import gateway_of, render, values
from channels.webcall import by_status, call, describe, per_recipient

SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
RETRY_PREFIXES = ("RequestLimitExceeded", "InternalError", "LimitExceeded", "ResourceUnavailable")


class TencentChannel:
    """``kind: tencent-sms``: one ``SendSms`` call per recipient."""

    name = "tencent-sms"
    schemes = frozenset({TencentSms.KIND})
    secret_fields = ("url", "gateway.secret_id", "gateway.secret_key")

    def send(self, spec: ChannelSpec, notification: Notification, *, timeout: float,
             now: Callable[[], datetime]) -> Result:
        """Each request is signed (TC3) at ``now()``, the moment it is made."""
        gateway = gateway_of(spec, TencentSms)

        def one(person: Person, phone: str) -> Result:
            context = values(person, phone, notification)
            return send_sms(gateway, phone, [render(v, context) for v in gateway.params], now=now,
                            timeout=timeout)

        return per_recipient(notification.recipients, lambda p: p.address(spec.address), one)


CHANNEL = TencentChannel()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def authorization(secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n"
                 f"{_sha256(payload)}")
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{_sha256(canonical)}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    sig = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={sig}"


def e164(phone: str) -> str:
    """Tencent wants ``+86…``: a bare mainland mobile gets the country code."""
    digits = phone.replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return digits
    if digits.startswith("0086"):
        return "+" + digits[2:]
    return "+86" + digits if len(digits) == 11 and digits.startswith("1") else digits


def send_sms(gateway: TencentSms, phone: str, params: Sequence[str], *, now: Callable[[], datetime],
             timeout: float = 10) -> Result:
    """One ``SendSms`` request, signed (TC3) at ``now()``: Tencent refuses a timestamp far from its own."""
    number = e164(phone)
    payload = json.dumps({
        "PhoneNumberSet": [number], "SmsSdkAppId": gateway.sdk_app_id, "SignName": gateway.sign_name,
        "TemplateId": gateway.template_id, "TemplateParamSet": list(params),
    }, ensure_ascii=False).encode("utf-8")
    host = urlsplit(gateway.endpoint).netloc
    stamp = int(now().timestamp())
    headers = {
        "Authorization": authorization(gateway.secret_id, gateway.secret_key, host, payload, stamp),
        "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": "SendSms", "X-TC-Timestamp": str(stamp),
        "X-TC-Version": VERSION, "X-TC-Region": gateway.region,
    }
    reply = call("POST", gateway.endpoint, now=now, body=payload, headers=headers, timeout=timeout)
    try:
        response: Any = json.loads(reply.body).get("Response", {})
    except (ValueError, AttributeError):
        response = None
    if reply.status != 200 or not isinstance(response, dict):
        return Result(by_status(reply.status) if reply.status != 200 else Outcome.RETRY, describe(reply))
    if isinstance(error := response.get("Error"), dict):
        return _coded(str(error.get("Code", "")), str(error.get("Message", "")))
    statuses = [s for s in response.get("SendStatusSet") or [] if isinstance(s, dict)]
    mine = next((s for s in statuses if s.get("PhoneNumber") == number), statuses[0] if statuses else None)
    if mine is None:
        return Result(Outcome.RETRY, "tencent: no SendStatusSet in the answer")
    if str(mine.get("Code", "")).lower() == "ok":
        return Result(Outcome.OK)
    return _coded(str(mine.get("Code", "")), str(mine.get("Message", "")))


def _coded(code: str, message: str) -> Result:
    outcome = Outcome.RETRY if code.startswith(RETRY_PREFIXES) else Outcome.PERMANENT
    return Result(outcome, f"tencent {code}: {message[:200]}")
