"""Notification text in Chinese, from Jinja2 templates IT staff may override.

Each style has a body template (``sms.j2``, ``email.j2``, ``chat.j2``, ``console.j2``); all share
``title.j2`` and ``_macros.j2``. ``Renderer(override_dir)`` looks in ``override_dir`` first, so a county
can replace one file and keep the rest. Every output goes through ``channels.masking.mask``.

The shipped templates are plain text and not escaped, except ``email.html.j2`` (the HTML part of an
e-mail): templates named ``*.html.j2`` are autoescaped.
"""

from __future__ import annotations

import dataclasses
import difflib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2

from channels.masking import mask
from channels.model import Alert
from rules.county import SHANGHAI

Style = Literal["sms", "email", "chat", "console"]
STYLES: tuple[Style, ...] = ("sms", "email", "chat", "console")

SMS_LIMIT = 140  # two 70-character UCS-2 segments, title and body together
BUILTIN_DIR = Path(__file__).parent / "templates"
HTML_TEMPLATE = "email.html.j2"
# Every file a county may override, by name; notify.yaml's loader refuses others (a typo would be ignored).
TEMPLATE_FILES = ("title.j2", "_macros.j2", *(f"{s}.j2" for s in STYLES), HTML_TEMPLATE)

SOURCE_LABELS = {
    "weibo": "微博", "douyin": "抖音", "kuaishou": "快手", "wechat": "微信", "toutiao": "今日头条",
    "bilibili": "哔哩哔哩", "zhihu": "知乎", "tieba": "贴吧", "forum": "论坛", "news": "新闻网站",
    "board": "领导留言板", "complaint": "投诉平台", "hotline": "12345热线", "grid": "网格员",
    "overseas": "境外平台", "other": "其他",
}


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``2026-11-20 09:30`` in Asia/Shanghai; naive times are taken as already local."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI)
    return moment.strftime(fmt)


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".html"))


class Renderer:
    """Renders an ``Alert`` for one style. Templates are loaded once and cached by Jinja."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(BUILTIN_DIR)]
        if override_dir is not None:
            loaders.insert(0, jinja2.FileSystemLoader(override_dir))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,  # a misspelt field in an override fails loudly, not blank
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["when"] = local_time
        self.env.filters["when_short"] = lambda m: local_time(m, "%m-%d %H:%M")
        self.env.filters["source_label"] = lambda key: SOURCE_LABELS.get(key, key or "")

    def render(self, alert: Alert, style: Style) -> tuple[str, str]:
        """``(title, body)``, masked. SMS is cut to ``SMS_LIMIT`` by shortening the excerpt first."""
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
        title = mask(self._template("title.j2").render(alert=alert).strip())
        excerpt = mask(alert.excerpt.strip())
        if style == "sms":
            title = " ".join(title.split())
            if len(title) > SMS_LIMIT // 2:
                title = title[: SMS_LIMIT // 2 - 1] + "…"
            return title, self._sms_body(alert, title, excerpt)
        body = mask(self._body(alert, style, title, excerpt))
        if style == "console":
            body = " ".join(body.split())
        return title, body

    def render_html(self, alert: Alert) -> str:
        """The HTML part of an e-mail (``email.html.j2``, autoescaped), masked like every other output."""
        title = mask(self._template("title.j2").render(alert=alert).strip())
        excerpt = mask(alert.excerpt.strip())
        return mask(self._template(HTML_TEMPLATE).render(alert=alert, title=title, excerpt=excerpt).strip())

    def render_email(self, alert: Alert) -> tuple[str, str, str]:
        """``(title, text, html)``: both parts of an e-mail."""
        title, text = self.render(alert, "email")
        return title, text, self.render_html(alert)

    def _template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def _body(self, alert: Alert, style: Style, title: str, excerpt: str) -> str:
        return self._template(f"{style}.j2").render(alert=alert, title=title, excerpt=excerpt).strip()

    def _sms_body(self, alert: Alert, title: str, excerpt: str) -> str:
        budget = SMS_LIMIT - len(title) - 1  # the gateway joins title and body with a line break
        body = mask(self._body(alert, "sms", title, excerpt))
        while len(body) > budget and excerpt:
            over = len(body) - budget
            excerpt = excerpt[: max(0, len(excerpt) - over - 1)].rstrip()
            body = mask(self._body(alert, "sms", title, excerpt + "…" if excerpt else ""))
        if len(body) > budget:  # a very long title or category: cut hard rather than send three segments
            body = body[: max(0, budget - 1)] + "…"
        return body


@cache
def _default() -> Renderer:
    return Renderer()


def render(alert: Alert, style: Style) -> tuple[str, str]:
    """``(title, body)`` with the shipped templates. Use ``Renderer(override_dir)`` for a county's own."""
    return _default().render(alert, style)


SAMPLE = Alert(
    incident_id="INC-20260101-0001", level="red", level_label="红色", title="模板检查", category="征地拆迁",
    source="weibo", url="https://example.gov.cn/post/1", first_seen=datetime(2026, 1, 1, 9, 30, tzinfo=SHANGHAI),
    excerpt="模板检查用的摘要。", rules=("rule-1 规则",), reasons=("转发 1200 ≥ 100",),
    deadline=datetime(2026, 1, 1, 10, 0, tzinfo=SHANGHAI), spread=("转发 1200",),
)


def check_overrides(folder: Path) -> list[str]:
    """What is wrong with a county's template folder: unknown file names (a misspelt name would be
    silently ignored), syntax errors, and names a template uses that an alert does not have. Every style
    and a digest are rendered once with a sample alert. Empty when all is well."""
    if not folder.is_dir():
        return [f"templates folder {folder} does not exist"]
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".j2" and path.name not in TEMPLATE_FILES:
            close = difflib.get_close_matches(path.name, TEMPLATE_FILES, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else f"; known: {', '.join(TEMPLATE_FILES)}"
            problems.append(f'unknown template "{path.name}" in {folder}{hint}')
    renderer = Renderer(folder)
    digest = dataclasses.replace(SAMPLE, kind="digest", items=(SAMPLE,))
    for alert in (SAMPLE, digest):
        for style in (*STYLES, "html"):
            problems.extend(_try(renderer, alert, style))
    return list(dict.fromkeys(problems))


def _try(renderer: Renderer, alert: Alert, style: str) -> list[str]:
    what = f"{style} ({alert.kind})"
    try:
        if style == "html":
            renderer.render_html(alert)
        else:
            renderer.render(alert, style)  # type: ignore[arg-type]
    except jinja2.TemplateSyntaxError as exc:
        return [f"{exc.name or exc.filename}:{exc.lineno}: {exc.message}"]
    except jinja2.TemplateError as exc:
        return [f"rendering {what}: {exc.message or type(exc).__name__}"]
    return []
