from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.masking import mask

CHINESE = st.text(alphabet=st.sampled_from("城东拆迁户聚集要求补偿款县政府门口，。今天网友称"), max_size=12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系人手机13800000001", "联系人手机138****0001"),
        ("电话：+86 138 0000 0001。", "电话：+86 138 **** 0001。"),
        ("8613912345678", "86139****5678"),
        ("座机010-12345678", "座机010-****5678"),
        ("（0571）88886666", "（0571）****6666"),
        ("0755 2345678", "0755 ***5678"),
        ("身份证110101199001011234", "身份证110*************34"),
        ("身份证号11010119900101123x", "身份证号110*************3x"),
        ("卡号6222021234567890123", "卡号***************0123"),
        ("卡号 6222 0212 3456 7890", "卡号 **** **** **** 7890"),
    ],
)
def test_masks_personal_numbers(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20 09:30", "2026年11月20日9时30分", "转发1200次，评论340条，阅读200000",
        "补偿款¥1,234,567.89元", "涉及3000户", "时间20261120093000", "版本2.10.3", "粉丝12000000",
        "12345热线", "第1380000000期",
        "门牌号0571", "成本0.0571元",
    ],
)
def test_leaves_ordinary_figures(text: str) -> None:
    assert mask(text) == text


def test_links_are_not_broken() -> None:
    text = "原文https://weibo.com/1380000000/4950000000000001 举报人13800000001"
    assert mask(text) == "原文https://weibo.com/1380000000/4950000000000001 举报人138****0001"


def test_chinese_after_a_link_is_still_masked() -> None:
    assert mask("见http://x.cn/a电话13800000001") == "见http://x.cn/a电话138****0001"


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1)
)
ids = st.builds(
    lambda body, last: f"{body:017d}{last}", st.integers(10**16, 10**17 - 1), st.sampled_from("0123456789X")
)


@given(CHINESE, mobiles, CHINESE)
def test_any_mobile_is_masked(before: str, number: str, after: str) -> None:
    out = mask(before + number + after)
    assert number not in out
    assert out == before + number[:3] + "****" + number[7:] + after


@given(CHINESE, ids, CHINESE)
def test_any_id_number_is_masked(before: str, number: str, after: str) -> None:
    out = mask(before + number + after)
    assert out == before + number[:3] + "*" * 13 + number[-2:] + after


ordinary_numbers = st.one_of(
    st.integers(0, 9_999_999_999).map(str),  # counts, up to 10 digits
    st.floats(0, 1e9, allow_nan=False).map(lambda f: f"{f:,.2f}"),  # money
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y年%m月%d日 %H:%M")),
)


@given(st.lists(st.tuples(CHINESE, ordinary_numbers), max_size=6))
def test_ordinary_figures_are_never_masked(parts: list[tuple[str, str]]) -> None:
    text = "".join(words + "。" + number for words, number in parts)
    assert mask(text) == text


@given(st.text(alphabet=st.sampled_from("0123456789 -+()（）X城东，。:/.https"), max_size=60))
def test_mask_is_idempotent_and_keeps_length(text: str) -> None:
    once = mask(text)
    assert mask(once) == once
    assert len(once) == len(text)


@given(st.text(alphabet=st.sampled_from("0123456789 -城东"), max_size=60))
def test_no_unmasked_mobile_survives(text: str) -> None:
    out = mask(text)
    for found in re.finditer(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", out):
        pytest.fail(f"unmasked mobile {found.group(0)} in {out!r}")
