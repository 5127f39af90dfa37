"""Which ``Channel`` delivers a ``ChannelSpec``: by the gateway's ``kind`` when it has one, else by its
URL's scheme; any scheme no channel claims goes to apprise, which knows a hundred services.

Adding a channel: a module with a class that has ``name``, ``schemes``, ``secret_fields`` and ``send``
(``channels.base.Channel``), its instance in ``CHANNELS`` below, and a case in tests/channels/test_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from channels import aliyun, apprise_channel, dingtalk_openapi, feishu_openapi, local, mail, sms_gateway, tencent
from channels.base import Channel, field_secrets
from channels.model import ChannelSpec
from channels.urls import scheme_of

FALLBACK: Channel = apprise_channel.CHANNEL
CHANNELS: tuple[Channel, ...] = (mail.CHANNEL, local.CHANNEL, sms_gateway.CHANNEL, aliyun.CHANNEL, tencent.CHANNEL,
                                 dingtalk_openapi.CHANNEL, feishu_openapi.CHANNEL)


def build(channels: Iterable[Channel]) -> Mapping[str, Channel]:
    """Scheme (or gateway kind) → channel. Two channels claiming one scheme is a programming error."""
    found: dict[str, Channel] = {}
    for channel in channels:
        for scheme in map(str.lower, channel.schemes):
            if scheme in found:
                raise ValueError(f"{scheme} is claimed by both {found[scheme].name} and {channel.name}")
            found[scheme] = channel
    return MappingProxyType(found)


REGISTRY = build(CHANNELS)


def key_of(spec: ChannelSpec) -> str:
    """The registry key of ``spec``: ``aliyun-sms`` for an Aliyun gateway, ``mailtos`` for a mail URL."""
    return spec.gateway.KIND if spec.gateway is not None else scheme_of(spec.url)


def by_scheme(scheme: str) -> Channel:
    return REGISTRY.get(scheme.strip().lower(), FALLBACK)


def resolve(spec: ChannelSpec) -> Channel:
    return by_scheme(key_of(spec))


def channel_secrets(spec: ChannelSpec) -> frozenset[str]:
    """Everything of a channel that must never be logged, as its channel declares it (``secret_fields``):
    what ``daemon.logs.hide`` blanks everywhere and ``deliver`` blanks out of every ``Result``."""
    return field_secrets(spec, resolve(spec).secret_fields)
