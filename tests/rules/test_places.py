"""rules.places: local, neighbour, elsewhere or unknown, from the county's names and the gazetteer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.model import Message, Place
from rules.places import Places, gazetteer

COUNTY = Places(local=("青岚县", "石桥镇", "柳河村", "城东街道"), neighbours=("云溪县",))


def where(text: str, places: Places = COUNTY, region: str | None = None) -> str:
    return places.find(Message("m", "weibo", text, region=region)).describe()


@pytest.mark.parametrize(("text", "found"), [
    ("河南省郑州市某小区燃气爆炸", "elsewhere (河南省, 郑州市)"),
    ("郑州一小区燃气爆炸", "elsewhere (郑州)"),
    ("石桥镇化工厂爆炸", "local (石桥镇)"),
    ("河南籍男子在石桥镇打人", "local (石桥镇)"),
    ("云溪县发生山体滑坡", "neighbour (云溪县)"),
    ("云溪县和青岚县交界处起火", "local (青岚县)"),
    ("北京路上发生车祸", "unknown"),  # a street
    ("我是河南人，在这打工被拖欠工资", "unknown"),  # an origin
    ("吉林市场监管局通报", "unknown"),
    ("北京时间今天上午河南发生地震", "elsewhere (河南)"),
    ("今天天气不错", "unknown"),
    ("大同小异，开封后尽快食用", "unknown"),  # short forms that are ordinary words are not listed
    ("河\u200b南省某地爆炸", "elsewhere (河南省)"),
])
def test_where(text: str, found: str) -> None:
    assert where(text) == found


def test_the_region_counts() -> None:
    assert where("化工厂爆炸", region="青岚县石桥镇") == "local (青岚县, 石桥镇)"


def test_the_countys_own_province_and_city_are_not_elsewhere() -> None:
    places = Places(local=("青岚县",), neighbours=("河南省", "郑州市"))
    assert places.find(Message("m", "weibo", "郑州一小区燃气爆炸")).place is Place.NEIGHBOUR
    assert places.find(Message("m", "weibo", "河南一小区燃气爆炸")).place is Place.NEIGHBOUR
    assert places.find(Message("m", "weibo", "湖北一小区燃气爆炸")).place is Place.ELSEWHERE


def test_the_gazetteer_has_every_province_and_no_name_twice() -> None:
    names = [name for place in gazetteer() for name in place]
    assert len(names) == len(set(names))
    provinces = [p[0] for p in gazetteer() if p[0].endswith(("省", "自治区", "特别行政区"))]
    assert len(provinces) == 23 + 5 + 2
    assert len([p for p in gazetteer() if p[0].endswith(("市", "州", "地区", "盟", "林区"))]) > 330


FULL_NAMES = [place[0] for place in gazetteer()]
FILLER = st.text(alphabet="今天发生了爆炸有人受伤，。小区工厂", max_size=15)


@given(FILLER, st.lists(st.sampled_from(FULL_NAMES), min_size=1, max_size=3), FILLER)
def test_a_message_naming_only_gazetteer_places_is_elsewhere(before: str, names: list[str], after: str) -> None:
    assert COUNTY.find(Message("m", "weibo", f"{before}{'，'.join(names)}{after}")).place is Place.ELSEWHERE


@given(FILLER, st.lists(st.sampled_from(FULL_NAMES), max_size=3), st.sampled_from(COUNTY.local), FILLER)
def test_a_local_name_anywhere_makes_it_local(before: str, names: list[str], local: str, after: str) -> None:
    text = f"{before}{'，'.join(names)}{after}{local}"
    assert COUNTY.find(Message("m", "weibo", text)).place is Place.LOCAL


def test_the_writers_own_place_is_local() -> None:
    assert where("河南来的老板在我们村拖欠工钱") == "local (我们村)"
    assert Places().find(Message("m", "weibo", "本县一小区停水三天")).place is Place.LOCAL
