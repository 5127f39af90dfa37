from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.model import Alert
from channels.templates import (
    BUILTIN_DIR,
    SMS_LIMIT,
    STYLES,
    TEMPLATE_FILES,
    Renderer,
    Style,
    check_overrides,
    render,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALERT = Alert(
    incident_id="INC-20261120-0001", level="red", level_label="红色", title="城东拆迁户聚集",
    category="征地拆迁", source="weibo", url="https://weibo.com/1234567890/4950000000000001",
    first_seen=datetime(2026, 11, 20, 1, 30, tzinfo=UTC),  # 09:30 in Shanghai
    excerpt="城东拆迁户今天在县政府门口聚集，要求补偿款，联系人13800000001。",
    rules=("land-mass-gathering", "聚集升级"), reasons=("转发 1200 ≥ 100", "平台 3 ≥ 2"),
    deadline=datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI),
)


def test_styles_match_the_literal() -> None:
    assert set(STYLES) == set(get_args(Style))


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("new", "【红色预警】城东拆迁户聚集"),
        ("escalation", "【红色预警·升级提醒】城东拆迁户聚集"),
        ("repeat", "【红色预警·重复提醒】城东拆迁户聚集"),
        ("raised", "【红色预警·等级提升】城东拆迁户聚集"),
        ("test", "【测试】城东拆迁户聚集"),
        ("digest", "【红色预警·日报】城东拆迁户聚集"),
    ],
)
@pytest.mark.parametrize("style", STYLES)
def test_title_by_kind(kind: str, title: str, style: Style) -> None:
    assert render(dataclasses.replace(ALERT, kind=kind), style)[0] == title  # type: ignore[arg-type]


def test_email_has_every_fact() -> None:
    title, body = render(dataclasses.replace(ALERT, kind="escalation", step=2), "email")
    assert title == "【红色预警·升级提醒】城东拆迁户聚集"
    lines = body.splitlines()
    assert lines[0] == "该事件尚未确认，第2次升级提醒，请立即核实处置。"
    for line in (
        "预警等级：红色", "事件：城东拆迁户聚集", "类别：征地拆迁", "首发：微博 2026-11-20 09:30",
        "链接：https://weibo.com/1234567890/4950000000000001",
        "命中规则：land-mass-gathering、聚集升级",
        "  - 转发 1200 ≥ 100", "  - 平台 3 ≥ 2", "处置时限：2026-11-20 10:00 前",
        "事件编号：INC-20261120-0001",
        "摘要：城东拆迁户今天在县政府门口聚集，要求补偿款，联系人138****0001。",
    ):
        assert line in lines


def test_email_leaves_out_what_is_unknown() -> None:
    bare = Alert("INC-2", "blue", "蓝色", "某小区物业纠纷")
    _, body = render(bare, "email")
    assert body.splitlines() == [
        "发现蓝色预警舆情，请及时核实处置。", "", "预警等级：蓝色", "事件：某小区物业纠纷",
        "事件编号：INC-2", "确认收到：yuqing ack INC-2 --by 您的代号",
    ]


def test_test_kind_says_no_action_needed() -> None:
    _, body = render(dataclasses.replace(ALERT, kind="test"), "email")
    assert body.startswith("这是一条测试通知")
    assert "事件编号" not in body


def test_raised_and_repeat_leads() -> None:
    raised = render(dataclasses.replace(ALERT, kind="raised"), "email")[1]
    assert raised.startswith("该事件预警等级已提升为红色")
    assert render(dataclasses.replace(ALERT, kind="repeat"), "chat")[1].count("再次提醒") == 1


def test_chat_is_markdown() -> None:
    title, body = render(ALERT, "chat")
    assert body.startswith(f"### {title}\n")
    assert "- **类别**：征地拆迁" in body
    assert "\n> 城东拆迁户今天在县政府门口聚集，要求补偿款，联系人138****0001。\n" in body
    assert "[查看原文](https://weibo.com/1234567890/4950000000000001)" in body


def test_console_is_one_line() -> None:
    title, body = render(ALERT, "console")
    assert (title, body) == (
        "【红色预警】城东拆迁户聚集",
        "征地拆迁 · 微博 2026-11-20 09:30 · 时限 11-20 10:00 · 编号 INC-20261120-0001",
    )
    multi = dataclasses.replace(ALERT, title="第一行\n第二行", category="分\n类")
    assert "\n" not in render(multi, "console")[1]


def test_sms_short_alert_is_whole() -> None:
    title, body = render(ALERT, "sms")
    assert body == (
        "征地拆迁，微博 2026-11-20 09:30：城东拆迁户今天在县政府门口聚集，要求补偿款，联系人138****0001。"
        " 请于11-20 10:00前处置 编号INC-20261120-0001"
    )
    assert len(title) + 1 + len(body) <= SMS_LIMIT


def test_sms_cuts_the_excerpt_to_two_segments() -> None:
    long = dataclasses.replace(ALERT, excerpt="群众反映补偿款迟迟未到位，" * 20)
    title, body = render(long, "sms")
    assert len(title) + 1 + len(body) == SMS_LIMIT
    assert "…" in body
    assert body.endswith(" 请于11-20 10:00前处置 编号INC-20261120-0001")  # the facts survive the cut


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(alphabet="城东拆迁户聚集0123456789 abc", min_size=1, max_size=200),
    excerpt=st.text(alphabet="群众反映补偿款138000000 。\n", max_size=400),
    category=st.text(alphabet="征地拆迁环境", max_size=40),
)
def test_sms_never_exceeds_two_segments(title: str, excerpt: str, category: str) -> None:
    alert = dataclasses.replace(ALERT, title=title, excerpt=excerpt, category=category)
    rendered_title, body = render(alert, "sms")
    assert len(rendered_title) + 1 + len(body) <= SMS_LIMIT


@pytest.mark.parametrize("style", STYLES)
def test_every_output_is_masked(style: Style) -> None:
    alert = dataclasses.replace(
        ALERT, title="举报人13912345678反映", category="身份证110101199001011234",
        reasons=("联系电话010-12345678",), excerpt="卡号6222021234567890123",
    )
    title, body = render(alert, style)
    for secret in ("13912345678", "110101199001011234", "010-12345678", "6222021234567890123"):
        assert secret not in title + body
    assert "139****5678" in title


def test_digest_lists_every_item() -> None:
    other = dataclasses.replace(ALERT, title="某小区物业纠纷", level_label="蓝色", category="物业纠纷",
                                url=None)
    items = (ALERT, other)
    digest = Alert("digest-2026-11-20", "blue", "蓝色", "2026-11-20", kind="digest", items=items)
    for style in STYLES:
        title, body = render(digest, style)
        assert title == "【蓝色预警·日报】2026-11-20"
        assert "城东拆迁户聚集" in body
        assert "某小区物业纠纷" in body
    email = render(digest, "email")[1].splitlines()
    assert email[0] == "2026-11-20，共2条预警舆情："
    assert "1. 【红色】城东拆迁户聚集（征地拆迁）" in email
    assert "2. 【蓝色】某小区物业纠纷（物业纠纷）" in email


def test_empty_digest() -> None:
    digest = Alert("d", "", "", "2026-11-20", kind="digest")
    title, body = render(digest, "email")
    assert title == "【舆情日报】2026-11-20"
    assert "（无）" in body


def test_override_dir_replaces_one_template(tmp_path: Path) -> None:
    (tmp_path / "title.j2").write_text("[{{ alert.level_label }}] {{ alert.title }}", encoding="utf-8")
    renderer = Renderer(tmp_path)
    title, body = renderer.render(ALERT, "email")
    assert title == "[红色] 城东拆迁户聚集"
    assert "预警等级：红色" in body  # the shipped email.j2 still serves


def test_override_with_a_typo_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text("{{ alert.titel }}", encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError):
        Renderer(tmp_path).render(ALERT, "sms")


def test_html_overrides_are_autoescaped(tmp_path: Path) -> None:
    (tmp_path / "email.html.j2").write_text("<b>{{ alert.title }}</b>", encoding="utf-8")
    (tmp_path / "email.j2").write_text("{{ alert.title }}", encoding="utf-8")
    renderer = Renderer(tmp_path)
    alert = dataclasses.replace(ALERT, title="<script>x</script>")
    html = renderer.env.get_template("email.html.j2").render(alert=alert)
    assert html == "<b>&lt;script&gt;x&lt;/script&gt;</b>"
    assert renderer.render(alert, "email")[1] == "<script>x</script>"


def test_unknown_style() -> None:
    with pytest.raises(ValueError, match="unknown style"):
        render(ALERT, "fax")  # type: ignore[arg-type]


def test_html_is_masked_and_escaped() -> None:
    alert = dataclasses.replace(
        ALERT, title="举报人13912345678反映<script>", category="身份证110101199001011234",
        reasons=("联系电话010-12345678",), excerpt="卡号6222021234567890123", spread=("转发 1200",),
    )
    html = Renderer().render_html(alert)
    for secret in ("13912345678", "110101199001011234", "010-12345678", "6222021234567890123", "<script>"):
        assert secret not in html
    assert "139****5678" in html
    assert "&lt;script&gt;" in html
    assert 'href="https://weibo.com/1234567890/4950000000000001"' in html  # links are never masked


def test_html_digest_and_ack_link() -> None:
    digest = Alert("d", "blue", "蓝色", "2026-11-20", kind="digest", items=(ALERT,))
    assert "城东拆迁户聚集" in Renderer().render_html(digest)
    acked = dataclasses.replace(ALERT, ack_url="https://yq.example.gov.cn/ack/t0k")
    assert 'href="https://yq.example.gov.cn/ack/t0k"' in Renderer().render_html(acked)
    assert "确认收到：https://yq.example.gov.cn/ack/t0k" in render(acked, "email")[1]


def test_render_email_gives_both_parts(tmp_path: Path) -> None:
    (tmp_path / "email.html.j2").write_text("<p>{{ title }}|{{ excerpt }}</p>", encoding="utf-8")
    title, text, html = Renderer(tmp_path).render_email(ALERT)
    assert title == "【红色预警】城东拆迁户聚集"
    assert "预警等级：红色" in text
    assert html == "<p>【红色预警】城东拆迁户聚集|城东拆迁户今天在县政府门口聚集，要求补偿款，联系人138****0001。</p>"


def test_check_overrides_accepts_the_shipped_templates(tmp_path: Path) -> None:
    for name in TEMPLATE_FILES:
        (tmp_path / name).write_text((BUILTIN_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "README.txt").write_text("not a template", encoding="utf-8")
    assert check_overrides(tmp_path) == []


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("written", ["１３８００００１２３４", "138 0000 1234", "138.0000.1234", "138-0000-1234",
                                     "1\u200b3\u200b8\u200b0\u200b0\u200b0\u200b0\u200b1\u200b2\u200b3\u200b4"])
def test_numbers_written_to_slip_past_the_mask_are_masked_in_every_style(style: Style, written: str) -> None:
    alert = dataclasses.replace(ALERT, title=f"举报人{written}",
                                excerpt=f"知情人电话{written}，身份证１１０１０１１９９００１０１１２３Ｘ")
    title, body = render(alert, style)
    outputs = [title, body] + ([Renderer().render_html(alert)] if style == "email" else [])
    for text in outputs:
        flat = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())
        assert "13800001234" not in flat
        assert "11010119900101" not in flat


@pytest.mark.parametrize("style", STYLES)
def test_a_repeat_that_stands_for_missed_ones_says_how_many(style: Style) -> None:
    title, body = render(dataclasses.replace(ALERT, kind="repeat", missed=179), style)
    assert title == "【红色预警·重复提醒】城东拆迁户聚集（含未发的179次提醒）"
    if style in ("email", "chat"):
        assert "有179次提醒未发出，合并为本条" in body
    assert "未发" not in render(dataclasses.replace(ALERT, kind="repeat"), style)[0]
