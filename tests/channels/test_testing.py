from __future__ import annotations

from pathlib import Path

import apprise

from channels import local, testing
from channels.local import jsonl_path
from channels.model import Notification, Outcome, Parts, Person
from channels.testing import CapturingChannel
from tests.channels.sending import deliver

ZHANG = Person("zhang", "张三", phone="13800000001", email="zhang@example.gov.cn")
LI = Person("li", "李四", phone="13800000002")


def test_capturing_channel_records_what_was_sent() -> None:
    duty, other = CapturingChannel("duty"), CapturingChannel("other")
    duty.clear()
    other.clear()
    n = Notification("n1", "sms", (ZHANG, LI), "【红色预警】城东拆迁户聚集", "正文", parts=Parts(level="red"))

    assert deliver(duty.spec(address="phone", channel="sms"), n).ok
    assert deliver(other.spec(), n).ok

    [sent] = duty.captured()
    assert (sent.channel, sent.title, sent.body) == ("duty", "【红色预警】城东拆迁户聚集", "正文")
    assert sent.recipients == ("13800000001", "13800000002")
    assert sent.notify_type == "failure"
    assert other.captured()[0].recipients == ()  # a group channel names nobody
    assert len(testing.captured()) >= 2
    duty.clear()
    assert duty.captured() == []
    assert len(other.captured()) == 1


def test_failing_capturing_channel_asks_for_a_retry() -> None:
    broken = CapturingChannel("broken", fail=True)
    result = deliver(broken.spec(), Notification("n", "x", (), "t", "b"))
    assert result.outcome is Outcome.RETRY
    assert broken.captured() == []


def test_module_clear_empties_everything() -> None:
    assert deliver(CapturingChannel("a").spec(), Notification("n", "x", (), "t", "b")).ok
    testing.clear()
    assert testing.captured() == []


def test_registration_is_idempotent() -> None:
    for _ in range(3):
        local.register()
        testing.register()
    sender = apprise.Apprise()
    assert sender.add("jsonl:///tmp/x.jsonl")
    assert sender.add("console://")
    assert sender.add("capture://x")


def test_jsonl_path_reassembles_what_apprise_split() -> None:
    assert jsonl_path({"host": "var", "fullpath": "/lib/yuqing/n.jsonl"}) == Path("/var/lib/yuqing/n.jsonl")
    assert jsonl_path({"host": "tmp", "fullpath": "/%E5%8E%BF%20a/n.jsonl"}) == Path("/tmp/县 a/n.jsonl")
    assert jsonl_path({"host": "n.jsonl"}) == Path("/n.jsonl")
    assert jsonl_path({"host": ".", "fullpath": "/var/n.jsonl"}) == Path("./var/n.jsonl")
