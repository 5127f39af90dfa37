"""Clustering messages into stories: the labelled set's precision and recall, and the index's contracts."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.incidents.clustering import (
    FREQUENCIES_CACHE,
    POSTINGS,
    ClusterIndex,
    Fingerprint,
    Fingerprinter,
    Gazetteer,
    _read_cached,
    containment,
    same_story,
    shingles,
    similarity,
)
from rules.loader import load_rules
from rules.model import Message
from rules.text import Analyzer

ROOT = Path(__file__).resolve().parents[3]
LABELLED = Path(__file__).parents[1] / "data" / "clusters.jsonl"
WINDOW = timedelta(hours=72)
Fingerprints = Callable[[str], Fingerprint]


@pytest.fixture(scope="module")
def fingerprint(tmp_path_factory: pytest.TempPathFactory) -> Fingerprints:
    """Real events (the example rules through the analyzer) and places (the example dictionary)."""
    cache = Path(os.environ.get("YUQING_CACHE_DIR") or tmp_path_factory.mktemp("jieba"))
    cache.mkdir(parents=True, exist_ok=True)
    dictionary = ROOT / "examples" / "dict.txt"
    analyzer = Analyzer(dictionary=dictionary, cache_dir=cache)
    ruleset, _warnings = load_rules(ROOT / "examples" / "rules")
    analyzer.use_words(ruleset.words)
    maker = Fingerprinter(Gazetteer.from_dictionary(dictionary), ruleset.keyword_sets)

    def of(text: str) -> Fingerprint:
        return maker.of(text, analyzer.analyze(Message("m", "weibo", text)).words)

    return of


def cluster(rows: list[dict[str, str]], fingerprint: Fingerprints) -> dict[str, str]:
    """Message id → incident id, feeding ``rows`` in time order as the daemon will."""
    index = ClusterIndex()
    assigned: dict[str, str] = {}
    opened = itertools.count(1)
    for row in sorted(rows, key=lambda r: r["published_at"]):
        at = datetime.fromisoformat(row["published_at"])
        index.expire(at - WINDOW)
        found = index.find(fp := fingerprint(row["text"]))
        incident = found[0] if found else f"incident-{next(opened)}"
        assigned[row["id"]] = incident
        index.add(incident, fp, at)
    return assigned


def pairwise(rows: list[dict[str, str]], assigned: dict[str, str]) -> tuple[float, float]:
    true_pos = false_pos = false_neg = 0
    for a, b in itertools.combinations(rows, 2):
        same, joined = a["story"] == b["story"], assigned[a["id"]] == assigned[b["id"]]
        true_pos += same and joined
        false_pos += joined and not same
        false_neg += same and not joined
    return true_pos / (true_pos + false_pos), true_pos / (true_pos + false_neg)


def test_labelled_set_is_what_the_docs_describe() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    stories = {row["story"] for row in rows}
    assert len(rows) >= 150
    assert len({row["id"] for row in rows}) == len(rows)
    assert len([s for s in stories if not s.startswith("single-")]) >= 25
    assert len([s for s in stories if s.startswith("single-")]) >= 20
    assert all(datetime.fromisoformat(row["published_at"]).tzinfo for row in rows)


def test_precision_and_recall_on_the_labelled_set(fingerprint: Fingerprints) -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    precision, recall = pairwise(rows, cluster(rows, fingerprint))
    print(f"clustering: pairwise precision {precision:.3f} recall {recall:.3f} on {len(rows)} messages")
    assert precision >= 0.9
    assert recall >= 0.9


def test_pairwise_scores_count_pairs() -> None:
    rows = [{"id": "a", "story": "s"}, {"id": "b", "story": "s"}, {"id": "c", "story": "t"}]
    assert pairwise(rows, {"a": "1", "b": "1", "c": "2"}) == (1.0, 1.0)
    assert pairwise(rows, {"a": "1", "b": "1", "c": "1"}) == (pytest.approx(1 / 3), 1.0)


ORIGINAL = "凌晨三点一群人开着挖掘机来河湾村夜间强拆，我家八十岁的老人被拖出屋外，房子十分钟就推平了"


def test_repost_with_commentary_joins(fingerprint: Fingerprints) -> None:
    index = ClusterIndex()
    index.add("demolition", fingerprint(ORIGINAL))
    repost = fingerprint(f"说得对！这种事必须严查，不能让老人寒心//@河湾村小周: {ORIGINAL}")
    assert index.find(repost) == ("demolition", "near-duplicate")


def test_same_village_different_event_stays_apart(fingerprint: Fingerprints) -> None:
    index = ClusterIndex()
    index.add("demolition", fingerprint(ORIGINAL))
    canteen = fingerprint("河湾村小学食堂的饭菜连续几天有异味，孩子说米饭是馊的，村民投诉了好几次没人管")
    assert index.find(canteen) is None


def test_same_event_in_two_estates_stays_apart(fingerprint: Fingerprints) -> None:
    template = "城东街道{}小区发生燃气泄漏，燃气公司抢修人员已到场处置，暂无人员受伤，请居民注意通风"
    one, other = fingerprint(template.format("滨江花园")), fingerprint(template.format("锦绣华庭"))
    assert containment(one.shingles, other.shingles) > 0.8  # worded alike ...
    assert same_story(one, other) is None  # ... but two sites


def test_rewrite_shares_place_and_event(fingerprint: Fingerprints) -> None:
    rewrite = fingerprint("网友反映城关镇河湾村凌晨遭强拆，一位八旬老人被拖出屋外，镇政府称正在核实")
    assert same_story(fingerprint(ORIGINAL), rewrite) == "shared place and event terms"


def test_remove_forgets(fingerprint: Fingerprints) -> None:
    index = ClusterIndex()
    index.add("demolition", fingerprint(ORIGINAL))
    index.add("other", fingerprint("凤鸣山的杜鹃花开了，上山的路有点堵，建议早点出发"))
    index.remove("demolition")
    assert index.find(fingerprint(ORIGINAL)) is None
    assert len(index) == 1
    assert not any("demolition" in ids for ids in (*index._bands.values(), *index._terms.values()))


def test_expire_forgets_quiet_incidents(fingerprint: Fingerprints) -> None:
    index = ClusterIndex()
    start = datetime.fromisoformat("2025-03-01T08:00:00+08:00")
    index.add("demolition", fingerprint(ORIGINAL), start)
    assert index.expire(start + timedelta(hours=1)) == ["demolition"]
    assert index.find(fingerprint(ORIGINAL)) is None


def test_gazetteer_longest_match_and_levels(tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.txt"
    lines = ("青岚县 ns", "青岚 ns", "城东街道 ns", "河湾村 3 ns", "青岚县人民医院 nt", "拆迁户 n")
    dictionary.write_text("\n".join(lines), encoding="utf-8")
    gazetteer = Gazetteer.from_dictionary(dictionary)
    found = gazetteer.find("伤者送青岚县人民医院，青岚县城东街道河湾村拆迁户")
    assert found == {"青岚县人民医院", "青岚县", "城东街道", "河湾村"}
    assert gazetteer.levels == {"青岚县": 0, "青岚": 0, "城东街道": 1, "河湾村": 2, "青岚县人民医院": 2}
    assert Gazetteer([]).find("河湾村") == frozenset()


def test_mentions_name_no_place(tmp_path: Path) -> None:
    gazetteer = Gazetteer(["滨江花园", "河湾村"])
    found = Fingerprinter(gazetteer).of("转发一下//@滨江花园业主: 河湾村的路修好了")
    assert found.places == {"河湾村"}


# ---------------------------------------------------------------- properties

SENTENCES = (
    "凌晨三点一群人开着挖掘机来河湾村夜间强拆老人被拖出屋外",
    "滨江花园七栋楼道里一股很重的煤气味燃气公司电话打不通",
    "石桥镇中心小学食堂的饭菜里吃出虫子孩子回家说菜是馊的",
    "凤鸣工业园一家厂房发生爆炸窗户都震碎了有工人受伤",
    "龙潭村低保评定不公平村支书的亲戚开着小车也吃低保",
    "青岚河湿地公园的芦苇开花了周末去拍照的人很多",
)
PLACES = ("河湾村", "滨江花园", "城东街道", "石桥镇")
EVENTS = ("强拆", "燃气", "泄漏", "村民", "投诉", "爆炸")

fingerprints = st.builds(
    lambda text, mention, events, places, sites: Fingerprint.of(
        f"{mention}//@某网友: {text}", events, places, sites, {"燃气": ("gas",), "泄漏": ("gas",)}),
    st.sampled_from(SENTENCES).map(lambda s: s + "河湾村滨江花园城东街道石桥镇"),
    st.sampled_from(("", "转发", "@青岚同城")),
    st.frozensets(st.sampled_from(EVENTS), max_size=4),
    st.frozensets(st.sampled_from(PLACES), max_size=3),
    st.frozensets(st.sampled_from(PLACES[:2]), max_size=2),
)
shingle_sets = st.frozensets(st.integers(0, 40), max_size=30)


@given(shingle_sets, shingle_sets)
def test_containment_bounds(a: frozenset[int], b: frozenset[int]) -> None:
    value = containment(a, b)
    assert value == containment(b, a)
    assert 0.0 <= value <= 1.0
    if a and b:
        assert value >= len(a & b) / len(a | b)  # never below Jaccard
        assert (value == 1.0) == (a <= b or b <= a)
    else:
        assert value == 0.0


@given(fingerprints, fingerprints)
def test_similarity_is_symmetric(a: Fingerprint, b: Fingerprint) -> None:
    assert similarity(a, b) == similarity(b, a)
    assert similarity(a, a) is not None or not a.shingles


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 5), fingerprints), max_size=20), fingerprints)
def test_find_agrees_with_a_scan_of_all_members(members: list[tuple[int, Fingerprint]],
                                                probe: Fingerprint) -> None:
    index = ClusterIndex(per_incident=POSTINGS)
    for incident, member in members:
        index.add(f"i{incident}", member)
    scores = [(s[0], f"i{incident}") for incident, member in members if (s := similarity(probe, member))]
    found = index.find(probe)
    if not scores:
        assert found is None
    else:
        assert found is not None
        best = max(score for score, _id in scores)
        assert (best, found[0]) in scores


def test_shingles_ignore_mentions_and_punctuation() -> None:
    assert shingles("河湾村强拆！！") == shingles("//@某人: 河湾村 强拆")


def test_word_frequencies_are_kept_in_the_cache_and_read_again_when_jieba_changes(tmp_path: Path) -> None:
    source = tmp_path / "dict.txt"
    source.write_text("村民 1200 n\n强拆 3 v\n坏行\n", encoding="utf-8")
    cache_dir = tmp_path / "cache"
    assert _read_cached(source, cache_dir) == ({"村民": 1200, "强拆": 3}, 1203)
    cached = cache_dir / FREQUENCIES_CACHE
    assert cached.is_file()

    with source.open("a", encoding="utf-8") as out:  # a jieba upgrade: the copy is stale
        out.write("上访 40 v\n")
    assert _read_cached(source, cache_dir) == ({"村民": 1200, "强拆": 3, "上访": 40}, 1243)

    cached.write_bytes(b"\x00not marshal")  # damaged: read from the source and written again
    assert _read_cached(source, cache_dir) == ({"村民": 1200, "强拆": 3, "上访": 40}, 1243)
    assert _read_cached(source, cache_dir) == ({"村民": 1200, "强拆": 3, "上访": 40}, 1243)
    assert cached.read_bytes() != b"\x00not marshal"


def test_a_full_disk_while_keeping_the_frequencies_leaves_no_partial_copy_behind(tmp_path: Path) -> None:
    """The copy is written beside its final name and renamed in; a disk that fills up half way must not
    leave the half-written file in the cache folder for every later start to find."""
    source = tmp_path / "dict.txt"
    source.write_text("".join(f"词{i} {i + 1} n\n" for i in range(60_000)), encoding="utf-8")
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    script = (  # a file size limit stands in for the full disk, in a process of its own
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from daemon.incidents.clustering import _read_cached\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
        "counts, total = _read_cached(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "assert len(counts) == 60_000\n")
    run = subprocess.run([sys.executable, "-c", script, str(source), str(cache_dir)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert list(cache_dir.iterdir()) == []
