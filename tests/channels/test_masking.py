from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
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


# ---------------------------------------------------------------- numbers written to slip past the mask

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f", "\u180e"]
SEPARATORS = [" ", "-", ".", "\u3000", "\u00a0", "－", "．", "‐", "—", "·"]


def digits_of(text: str) -> str:
    """What a reader (or a script) can still read of a number: NFKC digits and X, the rest dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit() or ch in "Xx")


@pytest.mark.parametrize(("text", "expected"), [
    ("举报人１３８００００１２３４", "举报人１３８****１２３４"),
    ("电话138 0000 0001", "电话138 **** 0001"),
    ("电话138.0000.0001", "电话138.****.0001"),
    ("电话1 3 8 0 0 0 0 0 0 0 1", "电话1 3 8 * * * * 0 0 0 1"),
    ("电话138\u200b0000\u200d0001", "电话138\u200b****\u200d0001"),
    ("身份证110101 19900101 1234", "身份证110*** ******** **34"),
    ("身份证１１０１０１１９９００１０１１２３Ｘ", "身份证１１０*************３Ｘ"),
])
def test_numbers_split_widened_or_hidden_are_masked_in_place(text: str, expected: str) -> None:
    assert mask(text) == expected


def disguised(number: str, data: st.DataObject) -> str:
    """``number`` with any mix of full-width digits, separators and invisible characters between them."""
    out = []
    for i, digit in enumerate(number):
        out.append(digit.translate(FULL_WIDTH) if data.draw(st.booleans()) else digit)
        if i < len(number) - 1:
            out.append("".join(data.draw(st.lists(st.sampled_from(SEPARATORS), max_size=2))))
            out.append("".join(data.draw(st.lists(st.sampled_from(INVISIBLE), max_size=3))))
    return "".join(out)


@settings(deadline=None)  # many draws per example; the machine may be busy
@given(CHINESE, mobiles, CHINESE, st.data())
def test_no_disguised_mobile_survives(before: str, number: str, after: str, data: st.DataObject) -> None:
    out = mask(before + disguised(number, data) + after)
    assert digits_of(out) == number[:3] + number[-4:], out


@settings(deadline=None)  # many draws per example; the machine may be busy
@given(CHINESE, ids, CHINESE, st.data())
def test_no_disguised_id_number_survives(before: str, number: str, after: str, data: st.DataObject) -> None:
    out = mask(before + disguised(number, data) + after)
    assert digits_of(out) == number[:3] + number[-2:], out


@settings(deadline=None)  # many draws per example; the machine may be busy
@given(st.text(alphabet=st.sampled_from("0123456789０１３８ -.\u200b\u3000城东，。"), max_size=60))
def test_disguised_masking_is_idempotent_and_keeps_length(text: str) -> None:
    once = mask(text)
    assert mask(once) == once
    assert len(once) == len(text)
