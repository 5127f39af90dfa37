"""rules.genre: reviews, fiction, games and history are recognised, incident posts never are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.genre import genre_of


@pytest.mark.parametrize(("text", "genre"), [
    ("《黑暗时刻》读后感：书中描写的那场骚乱让人久久不能平静", "review"),
    ("这本书讲述了一场城市骚乱，作者文笔细腻，值得一读", "review"),
    ("影评｜这部电影的结局里那场爆炸拍得太假，演技也一般", "review"),
    ("第三章 骚乱\n城里的骚乱持续了三天，主角躲在地下室", "fiction"),
    ("这个副本的boss会放火，玩家要小心", "game"),
    ("公元前209年，陈胜吴广起义，天下骚乱", "history"),
    ("康熙年间，朝廷派兵镇压叛乱", "history"),
    ("这本书写的是清末的一场骚乱，民众打砸衙门，作者的描写很细腻", "review"),
    ("唐山大地震这部电影看哭了，二十多万人遇难的场面太震撼", "review"),
    ("医疗剧里医生误诊导致病人死亡，剧情太狗血", "review"),
    ("书评：《食品安全的历史》讲地沟油、瘦肉精的来龙去脉", "review"),
])
def test_clear_texts_have_a_genre(text: str, genre: str) -> None:
    assert genre_of(text) == genre


INCIDENTS = [
    "某小区发生骚乱，多人受伤",
    "剧情反转！某小区发生骚乱",  # 剧情 alone is a figure of speech
    "这事比小说还离谱：工地老板拖欠工资跑路了",
    "游戏厅里两名玩家打架，有人报警",
    "历史上罕见暴雨，清朝古桥被冲毁，有人员伤亡",
    "乾隆年间的古建筑被强拆，村民报警",
    "网吧老板拖欠工资，说是游戏版本更新没赚钱",
    "作者本人被打了，现场好多人，已经报警",
    "官方辟谣：网传某地爆炸系谣言",
    "饭店被查出使用地沟油",
    "据《人民日报》报道，某化工厂发生爆炸，现场浓烟滚滚",  # a newspaper's name is not a book
    "网友描写现场：楼塌了一半，有人被困",
]


@pytest.mark.parametrize("text", INCIDENTS)
def test_incident_posts_have_none(text: str) -> None:
    assert genre_of(text) is None


@given(st.sampled_from(INCIDENTS), st.sampled_from(["小说", "游戏", "历史上", "剧情", "玩家", "明朝", "作者", "电影"]))
def test_one_ambiguous_word_more_never_makes_an_incident_a_genre(text: str, word: str) -> None:
    assert genre_of(f"{text}，{word}") is None
