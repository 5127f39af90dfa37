"""Texts that are clearly not about something happening now: a book or film review, fiction, a game,
history. A review of a novel about a riot (骚乱) is not a riot.

Conservative on purpose: a real incident post must never be taken for one of these. Cues are of two
kinds. A *strong* cue is a word that in practice only such texts use (读后感, 影评, 第三章, 手游,
公元前); a *weak* one is a word that incident posts use too (小说 in 比小说还离谱, 游戏 in 游戏厅打架,
历史上 in 历史上最大的洪水, a dynasty in 清朝古建筑被强拆). A text is of a genre when it has at least
two different cues of that genre of which one is strong, or four weak ones. A text that also speaks
like a report (报警, 求助, 派出所, 现场 …) needs two strong cues.

Only run for a message some rule's condition held for: ordinary messages never pay for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.text import clean

GENRES: tuple[str, ...] = ("review", "fiction", "game", "history")

_NUMBER = "[0-9一二三四五六七八九十百千零两]+"
_DYNASTIES = ("夏朝", "商朝", "周朝", "秦朝", "汉朝", "西汉", "东汉", "三国", "晋朝", "西晋", "东晋", "南北朝",
              "隋朝", "唐朝", "五代十国", "宋朝", "北宋", "南宋", "元朝", "明朝", "清朝", "晚清", "大清", "大明")
_REIGNS = ("贞观", "开元", "洪武", "永乐", "嘉靖", "万历", "崇祯", "康熙", "雍正", "乾隆", "嘉庆", "道光",
           "咸丰", "同治", "光绪", "宣统")


@dataclass(frozen=True)
class _Cues:
    strong: re.Pattern[str]
    weak: re.Pattern[str]


def _any(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(words))


_GENRE_CUES: dict[str, _Cues] = {
    "review": _Cues(
        _any("书评", "影评", "剧评", "乐评", "读后感", "观后感", "读书笔记", "观影感受", "观影体验", "豆瓣评分",
             "值得一读", "值得一看", "值得二刷", "推荐指数", "测评", "评测", "开箱", "这部电影", "这部片子",
             "看哭了", "描写", "医疗剧", "刑侦剧", "偶像剧", "电视剧里", "剧里的", "狗血"),
        _any("这本书", "本书", "书中", "作者", "电影", "影片", "这部剧", "电视剧", "纪录片", "主角", "主人公",
             "男主", "女主", "剧中", "片中", "导演", "演技", "情节", "剧情", "结局", "豆瓣", "评分", "读完",
             "看完", "好书", "文笔", "原著", "翻拍", "上映", "票房", "镜头", "动漫", "漫画", "番剧", "角色",
             "性价比", "做工", "星推荐", "《", "场面"),
    ),
    "fiction": _Cues(
        _any(f"第{_NUMBER}章", f"第{_NUMBER}回", "未完待续", "本章", "上一章", "下一章", "章节", "番外",
             "网文", "同人文", "起点中文网", "晋江文学城", "笔趣阁", "连载中"),
        _any("小说", "主角", "主人公", "男主", "女主", "穿越", "重生", "修仙", "玄幻", "作者", "故事", "连载",
             "更新", "读者", "大结局"),
    ),
    "game": _Cues(
        _any("手游", "网游", "端游", "氪金", "开黑", "副本", "王者荣耀", "英雄联盟", "原神", "和平精英", "吃鸡",
             "魔兽世界", "我的世界", "npc", "通关", "刷本", "抽卡", "段位", "打野"),
        _any("游戏", "玩家", "攻略", "排位", "上分", "boss", "装备", "技能", "公会", "大招", "版本", "队友",
             "皮肤", "服务器", "关卡", "血量"),
    ),
    "history": _Cues(
        _any("公元前", f"公元{_NUMBER}年", "史书", "史记", "资治通鉴", "史料记载", "据史料", "朝廷", "王朝",
             *(f"{reign}年间" for reign in _REIGNS)),
        _any("历史上", "古代", "皇帝", "起义", "年间", "史上", "兵变", "战争", "将军", "清末", "民国时期", "衙门",
             *_DYNASTIES, *_REIGNS),
    ),
}
# Words of a report: someone is telling what happens now, here.
_REPORT = _any("报警", "110", "120", "119", "救护车", "消防", "派出所", "民警", "警方", "求助", "曝光",
               "维权", "投诉", "举报", "记者", "现场", "目击", "伤者", "伤亡", "受伤", "被困", "失联", "遇难",
               "网友爆料", "刚刚", "今天上午", "今天下午", "今晚", "昨晚", "昨天")


def genre_of(body: str) -> str | None:
    """``review``, ``fiction``, ``game`` or ``history`` when the text is clearly one, else None."""
    return genre_in(clean(body))


def genre_in(text: str) -> str | None:
    """``genre_of`` for a text already cleaned (``rules.text.clean``)."""
    needed_strong = 2 if _REPORT.search(text) else 1
    best: tuple[int, str] | None = None
    for genre, cues in _GENRE_CUES.items():
        strong = {m.group() for m in cues.strong.finditer(text)}
        weak = {m.group() for m in cues.weak.finditer(text)} - strong
        clear = len(strong) >= needed_strong and len(strong) + len(weak) >= 2
        if clear or (needed_strong == 1 and len(weak) >= 4):
            score = 2 * len(strong) + len(weak)
            if best is None or score > best[0]:
                best = (score, genre)
    return best[1] if best else None
