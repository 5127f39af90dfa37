"""The channel registry's contract: every channel declares where its secrets are, every scheme resolves to
its channel, and whatever no channel claims goes to apprise."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from channels import apprise_channel, mail
from channels.base import Channel, field_secrets
from channels.model import AliyunSms, ChannelSpec, DingTalkCard, FeishuCard, HttpSms, TencentSms
from channels.registry import CHANNELS, FALLBACK, REGISTRY, build, by_scheme, channel_secrets, resolve
from channels.urls import url_secrets

PASSWORD = "Pw-7f3a9c1e"
TOKEN = "tk" + "5e8d" * 15
SIGN_SECRET = "SEC9b1c2d3e4f5a6b7c8d9e0f"
API_KEY = "key-4c4c4c4c4c"
KEY_ID = "LTAI5tKeyId0001"

# One configured spec per registry key, and the secrets that must be found in it. A new channel's
# schemes need a sample here (test_every_scheme_has_a_sample says so).
SAMPLES: dict[str, tuple[ChannelSpec, set[str]]] = {
    "mailto": (ChannelSpec("email", f"mailto://alerts:{PASSWORD}@smtp.example.gov.cn", "email"), {PASSWORD}),
    "mailtos": (ChannelSpec("email", f"mailtos://alerts:{PASSWORD}@smtp.example.gov.cn", "email"), {PASSWORD}),
    "jsonl": (ChannelSpec("log", f"jsonl:///var/lib/yuqing/n.jsonl?apikey={API_KEY}"), {API_KEY}),
    "console": (ChannelSpec("console", f"console://?token={TOKEN}"), {TOKEN}),
    "capture": (ChannelSpec("cap", f"capture://duty?secret={SIGN_SECRET}"), {SIGN_SECRET}),
    "http-sms": (ChannelSpec("sms", f"https://sms.example.gov.cn/send?token={TOKEN}", "phone", HttpSms(
        f"https://sms.example.gov.cn/send?token={TOKEN}", body="{{ text }}",
        headers={"X-Token": API_KEY, "Authorization": f"Bearer {SIGN_SECRET}", "Content-Type": "text/plain"})),
        {TOKEN, API_KEY, f"Bearer {SIGN_SECRET}"}),
    "aliyun-sms": (ChannelSpec("sms", "https://dysmsapi.aliyuncs.com/", "phone", AliyunSms(
        KEY_ID, SIGN_SECRET, "县网信办", "SMS_1")), {KEY_ID, SIGN_SECRET}),
    "tencent-sms": (ChannelSpec("sms", "https://sms.tencentcloudapi.com/", "phone", TencentSms(
        KEY_ID, SIGN_SECRET, "1400000001", "县网信办", "1")), {KEY_ID, SIGN_SECRET}),
    "dingtalk-card": (ChannelSpec("dingtalk", "https://api.dingtalk.com", "dingtalk", DingTalkCard(
        "dingappkey01", SIGN_SECRET, "tpl.schema")), {SIGN_SECRET}),
    "feishu-card": (ChannelSpec("feishu", "https://open.feishu.cn", "feishu", FeishuCard(
        "cli_a1b2c3d4", SIGN_SECRET)), {SIGN_SECRET}),
}
APPRISE_SAMPLES = (
    (ChannelSpec("group", f"dingtalk://{SIGN_SECRET}@{TOKEN}/"), {SIGN_SECRET, TOKEN}),
    (ChannelSpec("hook", f"json://bot:{PASSWORD}@hooks.example.gov.cn/hook?+X-Token={TOKEN}"), {PASSWORD, TOKEN}),
    (ChannelSpec("sms", f"smseagle://{TOKEN}@10.0.0.5/", "phone"), {TOKEN}),
)


def test_every_scheme_has_a_sample() -> None:
    assert set(REGISTRY) == set(SAMPLES)


@pytest.mark.parametrize("channel", [*CHANNELS, FALLBACK], ids=lambda c: c.name)
def test_every_channel_declares_its_secret_fields(channel: Channel) -> None:
    assert channel.name
    assert channel.secret_fields, f"{channel.name} declares no secret fields"
    assert all(field and not field.startswith(".") for field in channel.secret_fields)


@pytest.mark.parametrize("scheme", sorted(SAMPLES))
def test_every_scheme_resolves_to_its_channel_and_its_secrets_are_found(scheme: str) -> None:
    spec, expected = SAMPLES[scheme]
    channel = REGISTRY[scheme]
    assert by_scheme(scheme) is channel
    assert by_scheme(scheme.upper()) is channel
    assert resolve(spec) is channel
    assert channel in CHANNELS
    found = field_secrets(spec, channel.secret_fields)  # every declared path exists on the spec
    assert expected <= found
    assert channel_secrets(spec) == found
    assert url_secrets(spec.url) <= found  # never less than masking the URL alone did


@pytest.mark.parametrize(("spec", "expected"), APPRISE_SAMPLES, ids=lambda x: getattr(x, "name", ""))
def test_unknown_schemes_fall_to_apprise_with_their_url_secrets(spec: ChannelSpec, expected: set[str]) -> None:
    assert resolve(spec) is FALLBACK is apprise_channel.CHANNEL
    assert expected <= channel_secrets(spec)


def test_scheme_lookup_falls_to_apprise() -> None:
    for scheme in ("nosuchgw", "", "dingtalk", "json", "aliyun", "tencent", "http", "sms"):
        assert by_scheme(scheme) is FALLBACK, scheme
    # apprise's own aliyun:// URL is not the aliyun-sms gateway: only a spec's gateway picks that.
    assert resolve(ChannelSpec("sms", "aliyun://KeyId/Secret/Sign/Tpl/13800000001", "phone")) is FALLBACK


def test_two_channels_cannot_claim_one_scheme() -> None:
    @dataclass(frozen=True)
    class Other:
        name: str = "other-mail"
        schemes: frozenset[str] = frozenset({"MAILTO"})
        secret_fields: tuple[str, ...] = ("url",)

        def send(self, *_: object, **__: object) -> object:
            raise AssertionError("never sent")

    with pytest.raises(ValueError, match="mailto is claimed by both mail and other-mail"):
        build([mail.CHANNEL, Other()])  # type: ignore[list-item]


def test_a_declared_field_missing_from_the_spec_is_an_error() -> None:
    spec = ChannelSpec("email", "mailto://a:b@h", "email")
    with pytest.raises(AttributeError):
        field_secrets(spec, ("gateway.secret_key",))
    assert field_secrets(spec, ("gateway",)) == frozenset()  # no gateway, nothing secret in it

