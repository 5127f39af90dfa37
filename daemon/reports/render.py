"""A ``Report`` as officials read it: an HTML page (the email body) with PNG charts, a plain-text
summary (the email's text part and chat channels) and an XLSX workbook (the attachment).

Charts are referenced as ``cid:`` images: mail clients that block ``data:`` URIs (Gmail, Outlook) show
a ``multipart/related`` part. For a file on disk or a browser, ``inline=True`` embeds them as data URIs.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, select_autoescape

from daemon.clock import local
from daemon.reports import charts
from daemon.reports.figures import DeadlineRow, IncidentLine, Report, level_label

CHART_DAYS = "chart-days@yuqing"
CHART_SPREAD = "chart-spread@yuqing"
REVIEWS_SHOWN = 20  # 待研判 in the page; the workbook has them all


@dataclass(frozen=True)
class RenderedReport:
    title: str
    html: str
    text: str
    images: dict[str, bytes]  # content id → PNG
    xlsx: bytes

    def html_inline(self) -> str:
        """The page with its images as data URIs, for a file opened in a browser."""
        html = self.html
        for cid, png in self.images.items():
            html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode())
        return html


_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body style="font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;color:#202124;
max-width:760px;margin:0 auto;padding:16px;background:#fff">
<h1 style="font-size:22px;border-bottom:3px solid #d93025;padding-bottom:8px">{{ title }}</h1>
<p style="color:#5f6368">统计时段：{{ start }} 至 {{ end }}　生成时间：{{ generated }}</p>
<h2 style="font-size:18px">一、总体情况</h2>
<p>本期共接收舆情信息 <b>{{ r.messages }}</b> 条，涉及舆情事件 <b>{{ r.active|length }}</b> 起（新增
<b>{{ r.new_incidents }}</b> 起）；其中{% for level, n in r.by_level.items() %}{{ label(level) }}预警
<b>{{ n }}</b> 起{{ "，" if not loop.last else "。" }}{% endfor %}{% if r.resurgences %}出现回潮
<b>{{ r.resurgences|length }}</b> 起。{% endif %}</p>
<table style="border-collapse:collapse;width:100%;margin:8px 0" cellpadding="4">
<tr>{% for caption, counts in groups %}<td style="vertical-align:top;width:33%">
<b>{{ caption }}</b><br>{% for key, n in counts.items() %}{{ key }}：{{ n }}<br>{% else %}无<br>{% endfor %}
</td>{% endfor %}</tr></table>
<h2 style="font-size:18px">二、近7日每日新增事件（按等级）</h2>
<img src="cid:{{ cid_days }}" alt="近7日每日新增事件" width="560" style="display:block;border:1px solid #eee">
<p style="font-size:13px"><span style="color:#d93025">■</span> 红色　<span style="color:#f2b600">■</span> 黄色
<span style="color:#1a73e8">■</span> 蓝色</p>
<h2 style="font-size:18px">三、重点舆情事件</h2>
{% if r.top %}
<img src="cid:{{ cid_spread }}" alt="重点事件传播情况" width="560" style="display:block;border:1px solid #eee">
<p style="font-size:13px">条形长度为各事件相关信息条数，序号对应下表。</p>
<table style="border-collapse:collapse;width:100%;font-size:14px" border="1" cellpadding="5">
<tr style="background:#f1f3f4"><th>序号</th><th>编号</th><th>等级</th><th>事件</th><th>首发</th><th>传播情况</th>
<th>处置状态</th></tr>
{% for line in r.top %}<tr><td>{{ loop.index }}</td><td>{{ line.id }}</td>
<td style="color:{{ colors[line.level] }}">{{ line.level_label }}</td><td>{{ line.title }}<br>
<small>{{ line.category }}　{{ line.region }}</small></td><td>{{ line.first_source }}<br><small>{{ when(line) }}
</small>{% if line.first_url %}<br><a href="{{ line.first_url }}">原文链接</a>{% endif %}</td>
<td>{{ line.spread_text }}</td><td>{{ line.status }}</td></tr>
{% endfor %}</table>
{% else %}<p>本期无舆情事件。</p>{% endif %}
<h2 style="font-size:18px">四、处置时限落实情况（按责任单位）</h2>
{% if r.deadlines %}<table style="border-collapse:collapse;font-size:14px" border="1" cellpadding="5">
<tr style="background:#f1f3f4"><th>责任单位</th><th>按时</th><th>超时</th><th>未到期</th></tr>
{% for row in r.deadlines %}<tr><td>{{ row.team }}</td><td>{{ row.met }}</td>
<td style="{{ 'color:#d93025;font-weight:bold' if row.missed else '' }}">{{ row.missed }}</td>
<td>{{ row.pending }}</td></tr>{% endfor %}</table>
{% else %}<p>本期无到期的处置时限。</p>{% endif %}
<h2 style="font-size:18px">五、回潮情况</h2>
{% for line in r.resurgences %}<p>{{ line.id }} {{ line.title }}（{{ line.level_label }}，
第{{ line.resurgences }}次回潮，{{ line.status }}）</p>{% else %}<p>本期无回潮事件。</p>{% endfor %}
<h2 style="font-size:18px">六、待研判信息</h2>
{% if r.reviews %}<p>未命中预警规则、但疑似舆情事件的信息 <b>{{ r.reviews|length }}</b> 条，请值班人员研判（未发预警）。
{% if r.reviews|length > review_shown %}下表列出分值最高的 {{ review_shown }} 条，全部见附件。{% endif %}</p>
<table style="border-collapse:collapse;width:100%;font-size:14px" border="1" cellpadding="5">
<tr style="background:#f1f3f4"><th>时间</th><th>来源</th><th>信息</th><th>研判依据</th><th>分值</th></tr>
{% for item in reviews %}<tr><td>{{ at(item.at) }}</td><td>{{ item.source }}</td><td>{{ item.headline }}
{% if item.url %}<br><a href="{{ item.url }}">原文链接</a>{% endif %}</td><td>{{ item.features|join("、") }}</td>
<td>{{ "%.2f"|format(item.score) }}</td></tr>{% endfor %}</table>
{% else %}<p>本期无待研判信息。</p>{% endif %}
<p style="color:#5f6368;font-size:12px;margin-top:24px">舆情哨兵自动生成。详细台账见附件。</p>
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
COLORS = {"red": "#d93025", "yellow": "#b07d00", "blue": "#1a73e8"}


def render(report: Report) -> RenderedReport:
    period = report.period
    days = [(d.strftime("%m-%d"), counts) for d, counts in report.trend]
    images = {CHART_DAYS: charts.stacked_days(days)}
    if report.top:
        images[CHART_SPREAD] = charts.horizontal(
            [(str(i), int(line.spread.get("messages", 0)), line.level) for i, line in enumerate(report.top, 1)])
    html = _ENV.from_string(_TEMPLATE).render(
        title=period.title, r=report, label=level_label, colors=COLORS, cid_days=CHART_DAYS,
        cid_spread=CHART_SPREAD, start=_at(period.start), end=_at(period.end), generated=_at(report.generated_at),
        when=lambda line: _at(line.first_seen) if line.first_seen else "",
        groups=[("按类别", report.by_category), ("按首发来源", report.by_source), ("按地区", report.by_region)],
        reviews=sorted(report.reviews, key=lambda item: -item.score)[:REVIEWS_SHOWN], review_shown=REVIEWS_SHOWN,
        at=_at)
    return RenderedReport(period.title, html, text(report), images, xlsx(report))


def _at(value: object) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


def text(report: Report) -> str:
    """The same report as plain text, for the email's text part and chat robots."""
    counts = "，".join(f"{level_label(k)}{v}起" for k, v in report.by_level.items())
    lines = [report.period.title,
             f"接收信息{report.messages}条，涉及事件{len(report.active)}起（新增{report.new_incidents}起）：{counts}"]
    if report.top:
        lines.append("重点事件：")
        lines += [f"{i}. [{line.level_label}] {line.title}"
                  f"（{line.first_source}首发，{line.spread_text}，{line.status}）"
                  for i, line in enumerate(report.top, 1)]
    missed = sum(row.missed for row in report.deadlines)
    met = sum(row.met for row in report.deadlines)
    lines.append(f"处置时限：按时{met}起，超时{missed}起。")
    if report.resurgences:
        lines.append("回潮：" + "；".join(f"{line.id} {line.title}" for line in report.resurgences))
    if report.reviews:
        lines.append(f"待研判：{len(report.reviews)}条（未命中规则、疑似舆情，请研判）")
        lines += [f"- {item.headline}（{item.source}，{'、'.join(item.features[:3])}）"
                  for item in sorted(report.reviews, key=lambda item: -item.score)[:REVIEWS_SHOWN]]
    return "\n".join(lines)


def xlsx(report: Report) -> bytes:
    """Sheets 概况 (counts), 事件 (one row per incident of the period), 时限 (deadlines by team)."""
    from openpyxl import Workbook  # imported when a workbook is made: a tenth of the daemon's start-up
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "概况"
    summary.append([report.period.title])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["接收信息", report.messages])
    summary.append(["涉及事件", len(report.active)])
    summary.append(["新增事件", report.new_incidents])
    for caption, counts in (("等级", {level_label(k): v for k, v in report.by_level.items()}),
                            ("类别", report.by_category), ("首发来源", report.by_source), ("地区", report.by_region)):
        summary.append([])
        summary.append([f"按{caption}", "事件数"])
        for key, value in counts.items():
            summary.append([key, value])
    sheet = book.create_sheet("事件")
    sheet.append(INCIDENT_HEADER)
    for line in report.active:
        sheet.append(incident_row(line))
    limits = book.create_sheet("时限")
    limits.append(["责任单位", "按时", "超时", "未到期"])
    for row in report.deadlines:
        limits.append(deadline_row(row))
    pending = book.create_sheet("待研判")
    pending.append(["时间", "来源", "信息编号", "标题", "内容", "链接", "研判依据", "分值"])
    for item in report.reviews:
        pending.append([_at(item.at), item.source, item.message_id, item.title, item.text[:1000], item.url or "",
                        "、".join(item.features), round(item.score, 3)])
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


INCIDENT_HEADER = ["编号", "等级", "事件", "类别", "地区", "首发时间", "首发来源", "链接", "传播情况", "处置状态",
                   "回潮次数"]


def incident_row(line: IncidentLine) -> list[object]:
    return [line.id, line.level_label, line.title, line.category, line.region, _at(line.first_seen),
            line.first_source, line.first_url or "", line.spread_text, line.status, line.resurgences]


def deadline_row(row: DeadlineRow) -> list[object]:
    return [row.team, row.met, row.missed, row.pending]
