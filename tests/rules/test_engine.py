"""The durable_rules engine: it must agree with rules/evaluate.py, and survive its own limits
(64 matches per ruleset, 254 keys per fact, reload leaks, threads)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import engine as engine_module
from rules import layout as layout_module
from rules.engine import Engine
from rules.evaluate import grade, is_live, matches
from rules.model import (
    COMPARATORS,
    SPREAD_FIELDS,
    ActivePeriod,
    Analysis,
    Author,
    KeywordHit,
    Level,
    Message,
    Near,
    Rule,
    RuleSet,
    Spread,
    Term,
)
from tests.rules.conftest import analysis, rule, term

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 10, 9, 30, tzinfo=SHANGHAI)
两会 = ActivePeriod("全国两会", 1)

拆迁 = term("拆迁", "拆迁", "强拆", "征地")
聚集 = term("聚集", "聚集", "上访", "堵路")
广告 = term("广告", "招聘", "优惠")
REFERENCE = rule("land-mass-gathering", all=[拆迁, 聚集], none=[广告], sources=["weibo", "wechat"],
                 spread=["reposts >= 100"], raise_in_period=True, category="征地拆迁")


def expected(rules: Sequence[Rule], found: Analysis, spread: Spread, periods: Sequence[ActivePeriod],
             at: datetime) -> tuple[Level, list[str], str | None]:
    """What rules/evaluate.py says the whole set gives: level, matching rule ids, raising period."""
    live = [r for r in rules if is_live(r, at) and matches(r, found, spread, periods)]
    graded = [grade(r, periods) for r in live]
    level = max((g[0] for g in graded), default=Level.NONE)
    period = next((g[1] for g in graded if g[1]), None)
    return level, [r.id for r in live], period


def agree(engine: Engine, rules: Sequence[Rule], found: Analysis, spread: Spread,
          periods: Sequence[ActivePeriod] = (), at: datetime = AT) -> None:
    verdict = engine.evaluate(found, spread, periods, at)
    got = (verdict.level, [m.rule_id for m in verdict.matches], verdict.period)
    assert got == expected(rules, found, spread, periods, at), (found.words, found.message.source, spread)


# ---------------------------------------------------------------- the reference rule


def test_the_reference_rule_gives_its_level_and_reasons() -> None:
    with Engine(RuleSet((REFERENCE,))) as engine:
        verdict = engine.evaluate(analysis(["上访", "强拆"]), Spread(reposts=300), [], AT)
        assert verdict.level is Level.YELLOW
        assert verdict.period is None
        assert verdict.top is not None
        assert verdict.top.category == "征地拆迁"
        assert verdict.teams == ("team-land-mass-gathering",)
        assert verdict.reasons == (
            "rule land-mass-gathering: keywords 上访, 强拆",
            "source weibo in weibo, wechat",
            "spread reposts 300 >= 100",
        )
        assert engine.evaluate(analysis(["上访", "强拆", "招聘"]), Spread(reposts=300), [], AT).level is Level.NONE
        assert engine.evaluate(analysis(["上访", "强拆"]), Spread(reposts=99), [], AT).level is Level.NONE


def test_a_sensitive_period_raises_and_is_named() -> None:
    plain = rule("plain", Level.BLUE, all=[拆迁])
    with Engine(RuleSet((plain, REFERENCE))) as engine:
        verdict = engine.evaluate(analysis(["强拆", "上访"]), Spread(reposts=300), [两会], AT)
    assert verdict.level is Level.RED
    assert verdict.period == "全国两会"
    assert [(m.rule_id, m.base_level, m.level) for m in verdict.matches] == [
        ("plain", Level.BLUE, Level.BLUE), ("land-mass-gathering", Level.YELLOW, Level.RED)]
    assert verdict.reasons[-1] == "sensitive period 全国两会: +1 (yellow → red)"


def test_expired_and_disabled_rules_do_not_count() -> None:
    rules = (rule("old", Level.RED, all=[拆迁], expires=date(2026, 3, 9)),
             rule("off", Level.RED, all=[拆迁], enabled=False),
             rule("current", Level.BLUE, all=[拆迁], expires=date(2026, 3, 10)))
    with Engine(RuleSet(rules)) as engine:
        verdict = engine.evaluate(analysis(["拆迁"]), Spread(), [], AT)
    assert verdict.level is Level.BLUE
    assert [m.rule_id for m in verdict.matches] == ["current"]
    assert verdict.reasons[0] == "rule old: expired on 2026-03-09, ignored"


def test_an_empty_rule_set_and_an_unmatched_message_give_none() -> None:
    with Engine(RuleSet(())) as engine:
        assert engine.evaluate(analysis(["拆迁"]), Spread(), [], AT) == engine.evaluate(
            analysis([]), Spread(), [], AT)
        assert engine.evaluate(analysis(["拆迁"]), Spread(), [两会], AT).level is Level.NONE
    with Engine(RuleSet((REFERENCE,))) as engine:
        verdict = engine.evaluate(analysis(["天气"]), Spread(), [两会], AT)
    assert (verdict.level, verdict.matches, verdict.period, verdict.reasons) == (Level.NONE, (), None, ())


# ---------------------------------------------------------------- agreement with the reference

VOCABULARY = ["拆迁", "强拆", "聚集", "上访", "招聘", "爆炸", "起火", "死亡"]
SOURCES = ["weibo", "douyin", "wechat", "board"]
# Thresholds and values from one small pool meet often (== and >= differ only there); the wide
# ones check the fixed-point encoding (1e-07 and 1e20 would reach the engine as exponents).
CLOSE = st.sampled_from([0, 1, 2.5, 100, 0.0004, 0.0005])
NUMBERS = st.one_of(CLOSE, CLOSE, st.sampled_from([1e-07, 1e20, -3, float("inf")]), st.integers(-5, 300),
                    st.floats(-1e6, 1e6, allow_nan=False))
FIELDS = ["reposts", "growth", "platforms"]

terms = st.one_of(
    st.sampled_from(VOCABULARY).map(lambda w: term(w)),
    st.builds(lambda name, words: Term(name, frozenset(words), True),
              st.sampled_from(["甲", "乙", "丙"]), st.sets(st.sampled_from(VOCABULARY), max_size=3)),
)
comparisons = st.builds(lambda f, op, v: f"{f} {op} {v!r}", st.sampled_from(FIELDS) | st.sampled_from(SPREAD_FIELDS),
                        st.sampled_from(COMPARATORS), NUMBERS)


# The conditions computed in Python before the fact is asserted, and the author fields of the fact.
extras = st.fixed_dictionaries({}, optional={
    "near": st.lists(st.builds(Near, terms, terms, st.sampled_from([0, 1, 3, 10])), min_size=1, max_size=2)
    .map(tuple),
    "regex": st.lists(st.sampled_from(["拆迁", "1[3-9]\\d{9}", "爆炸|起火"]), min_size=1, max_size=2).map(tuple),
    "accounts": st.sets(st.sampled_from(["甲", "1", "丙"]), min_size=1).map(frozenset),
    "regions": st.sets(st.sampled_from(["石桥镇", "城关镇", "桃源镇"]), min_size=1).map(frozenset),
    "min_followers": st.sampled_from([0, 1000, 10**6]),
    "verified": st.booleans(),
    "period": st.sets(st.sampled_from(["两会", "国庆", "春节"]), max_size=2).map(frozenset),
})


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[Rule, ...]:
    count = draw(st.integers(1, 6))
    return tuple(replace(r, when=replace(r.when, **draw(extras))) for r in rule_sets_plain(draw, count))


def rule_sets_plain(draw: st.DrawFn, count: int) -> tuple[Rule, ...]:
    return tuple(rule(
        f"r{i}", draw(st.sampled_from([Level.BLUE, Level.YELLOW, Level.RED])),
        all=draw(st.lists(terms, max_size=3)), any=draw(st.lists(terms, max_size=3)),
        none=draw(st.lists(terms, max_size=1)), sources=draw(st.sets(st.sampled_from(SOURCES), max_size=2)),
        spread=draw(st.lists(comparisons, max_size=2)), raise_in_period=draw(st.booleans()),
        enabled=draw(st.booleans() | st.just(True)),
        expires=draw(st.none() | st.sampled_from([date(2026, 3, 9), date(2026, 3, 10)])),
    ) for i in range(count))


authors = st.builds(Author, name=st.sampled_from(["甲", "乙"]), id=st.sampled_from(["1", "2"]),
                    followers=st.none() | st.sampled_from([0, 999, 1000, 10**6]), verified=st.none() | st.booleans())


@st.composite
def placed(draw: st.DrawFn) -> Analysis:
    """A message whose text holds its words at real offsets (for near), with an author and a region."""
    text, positions = "", {}
    for word in draw(st.lists(st.sampled_from(VOCABULARY), max_size=6)):
        text += "、" * draw(st.integers(0, 12))
        positions.setdefault(word, []).append(len(text))
        text += word
    text += draw(st.sampled_from(["", "电话13800000001", "工单号123"]))
    message = Message("m", draw(st.sampled_from([*SOURCES, "news"])), text, author=draw(st.none() | authors),
                      region=draw(st.none() | st.sampled_from(["青岚县石桥镇", "城关镇"])))
    return Analysis(message, tuple(KeywordHit(w, tuple(p)) for w, p in positions.items()))


analyses = st.builds(lambda words, source: analysis(sorted(words), source),
                     st.sets(st.sampled_from(VOCABULARY), max_size=5), st.sampled_from([*SOURCES, "news"])) | placed()
spreads = st.builds(Spread, **dict.fromkeys(SPREAD_FIELDS, CLOSE | NUMBERS))


def witness(rule: Rule) -> tuple[Analysis, Spread]:
    """A message made to nearly match ``rule``: its words, its first source, every compared spread
    value exactly at its threshold (where ``>=`` and ``>`` part ways)."""
    when = rule.when
    words = [w for t in (*when.all, *when.any[:1]) for w in sorted(t.words)[:1]]
    for near in when.near:  # the two words of each pair exactly ``within`` characters apart
        left, right = sorted(near.left.words)[:1], sorted(near.right.words)[:1]
        words += [*left, "、" * near.within, *right] if left and right else []
    text = "".join(words) + {"1[3-9]\\d{9}": "电话13800000001"}.get(when.regex[0], when.regex[0][:2]) \
        if when.regex else "".join(words)
    positions: dict[str, list[int]] = {}
    at = 0
    for word in words:
        if not word.startswith("、"):
            positions.setdefault(word, []).append(at)
        at += len(word)
    author = Author(name="甲", id=min(when.accounts, default="1"), followers=when.min_followers,
                    verified=when.verified)
    region = f"青岚县{min(when.regions)}" if when.regions else None
    message = Message("w", min(when.sources, default="weibo"), text, author=author, region=region)
    spread = Spread(**{c.field: c.value for c in when.spread})  # type: ignore[arg-type]
    return Analysis(message, tuple(KeywordHit(w, tuple(p)) for w, p in positions.items())), spread


@settings(max_examples=150, deadline=None)
@given(rule_sets(), st.lists(st.tuples(analyses, spreads), max_size=6),
       st.lists(st.builds(ActivePeriod, st.sampled_from(["两会", "国庆"]), st.integers(0, 2)), max_size=2))
def test_the_engine_agrees_with_the_reference(rules: tuple[Rule, ...], cases: list[tuple[Analysis, Spread]],
                                              periods: list[ActivePeriod]) -> None:
    with Engine(RuleSet(rules)) as engine:
        for found, spread in [*cases, *map(witness, rules)]:
            agree(engine, rules, found, spread, periods)
        for r in rules:  # in the periods the rule asks for
            agree(engine, rules, *witness(r), [ActivePeriod(name, 1) for name in sorted(r.when.period or ["两会"])])


def random_rules(rng: random.Random, count: int, vocabulary: list[str]) -> tuple[Rule, ...]:
    def some_terms(most: int) -> list[Term]:
        return [term(f"s{rng.random()}", *rng.sample(vocabulary, rng.randint(1, 4))) if rng.random() < 0.5
                else term(rng.choice(vocabulary)) for _ in range(rng.randint(0, most))]

    return tuple(rule(f"r{i}", rng.choice([Level.BLUE, Level.YELLOW, Level.RED]), all=some_terms(2),
                      any=some_terms(3), none=some_terms(1), sources=rng.sample(SOURCES, rng.randint(0, 2)),
                      spread=[f"reposts >= {rng.randint(0, 200)}"] if rng.random() < 0.3 else [],
                      raise_in_period=rng.random() < 0.5) for i in range(count))


def test_a_large_rule_set_agrees_across_shards() -> None:
    rng = random.Random(20260310)
    vocabulary = [f"词{i}" for i in range(30)]
    rules = random_rules(rng, 230, vocabulary)
    with Engine(RuleSet(rules)) as engine:
        assert len(engine._names) == -(-230 // layout_module.SHARD_SIZE)
        for _ in range(400):
            found = analysis(rng.sample(vocabulary, rng.randint(0, 12)), rng.choice(SOURCES))
            agree(engine, rules, found, Spread(reposts=rng.randint(0, 300)), [两会] if rng.random() < 0.5 else [])


# ---------------------------------------------------------------- the engine's limits


def test_a_hundred_rules_matching_one_message_all_fire() -> None:
    # One ruleset would fail with error 303 past 64 simultaneous matches and fire none.
    assert layout_module.SHARD_SIZE <= 64
    rules = tuple(rule(f"r{i:03}", Level.BLUE if i != 70 else Level.RED, all=[term("爆炸")]) for i in range(100))
    with Engine(RuleSet(rules)) as engine:
        verdict = engine.evaluate(analysis(["爆炸"]), Spread(), [], AT)
    assert [m.rule_id for m in verdict.matches] == [r.id for r in rules]
    assert verdict.level is Level.RED


def test_a_message_with_three_hundred_hits() -> None:
    # 254 top-level keys would fail with error 302: the hits must not become keys of the fact.
    words = [f"词{i}" for i in range(300)]
    rules = (
        rule("every-word", all=[term(w) for w in words]),
        rule("any-set", Level.BLUE, any=[term("大集合", *words)]),
        rule("not-the-last", Level.RED, all=[term(words[0])], none=[term(words[-1])]),
        *(rule(f"one-{i}", Level.BLUE, all=[term(w)]) for i, w in enumerate(words)),
    )
    with Engine(RuleSet(rules)) as engine:
        assert [s.listed for s in engine._layout.shards][:3] == [True, False, False]  # every-word: 301 groups
        verdict = engine.evaluate(analysis(words), Spread(), [], AT)
        assert [m.rule_id for m in verdict.matches] == ["every-word", "any-set", *(f"one-{i}" for i in range(300))]
        assert verdict.level is Level.YELLOW
        assert [m.rule_id for m in engine.evaluate(analysis(words[:-1]), Spread(), [], AT).matches][:3] == [
            "any-set", "not-the-last", "one-0"]


def test_shards_are_cut_where_their_groups_would_not_fit_one_fact() -> None:
    # Each rule mentions 61 groups (60 `all` terms and a `none`): four rules would need a fact with
    # 244 group fields plus the fixed ones, past the 254 keys durable_rules accepts (error 302).
    vocabulary = [f"词{i}" for i in range(8 * 61)]
    rules = tuple(rule(f"wide-{i}", Level.BLUE, all=[term(w) for w in vocabulary[i * 61:i * 61 + 60]],
                       none=[term(vocabulary[i * 61 + 60])]) for i in range(8))
    with Engine(RuleSet(rules)) as engine:
        shards = engine._layout.shards
        assert [len(s.members) for s in shards] == [3, 3, 2]
        assert all(len(s.uses) <= layout_module.MAX_GROUPS and not s.listed for s in shards)
        agree(engine, rules, analysis(vocabulary), Spread())  # all groups present: every `none` fails
        for r in rules:
            wanted = [w for t in r.when.all for w in t.words]
            agree(engine, rules, analysis(wanted), Spread())
            assert r.id in [m.rule_id for m in engine.evaluate(analysis(wanted), Spread(), [], AT).matches]


def test_ruleset_names_are_unique_per_compile() -> None:
    with Engine(RuleSet((REFERENCE,), version="abc")) as first, Engine(RuleSet((REFERENCE,), version="abc")) as second:
        assert first._names != second._names
        assert all(name.startswith("yq_abc_") for name in [*first._names, *second._names])
        found = analysis(["强拆", "上访"])
        assert first.evaluate(found, Spread(reposts=100), [], AT) == second.evaluate(found, Spread(reposts=100), [], AT)


def test_a_closed_engine_is_gone_from_the_host() -> None:
    before = set(engine_module._host._ruleset_directory)
    engine = Engine(RuleSet(tuple(rule(f"r{i}", all=[拆迁]) for i in range(70))))
    assert len(set(engine_module._host._ruleset_directory) - before) == -(-70 // layout_module.SHARD_SIZE)
    engine.evaluate(analysis(["强拆"]), Spread(), [], AT)
    engine.close()
    engine.close()
    assert set(engine_module._host._ruleset_directory) == before
    with pytest.raises(RuntimeError, match="closed"):
        engine.evaluate(analysis(["强拆"]), Spread(), [], AT)


def test_closing_after_facts_that_never_matched_does_not_crash() -> None:
    # durable_rules' delete_state on a ruleset that saw facts but never fired kills the process
    # (segmentation fault), so this runs in a child process.
    code = textwrap.dedent("""
        from datetime import datetime
        from rules.engine import Engine
        from rules.model import RuleSet, Spread
        from tests.rules.conftest import analysis, rule, term
        # The second shard (rules 64-69) sees every fact and never fires.
        engine = Engine(RuleSet(tuple(rule(f"r{i}", all=[term("爆炸" if i < 64 else "死亡")])
                                      for i in range(70))))
        for words in (["起火"], ["拆迁"], ["爆炸"]):
            engine.evaluate(analysis(words), Spread(), [], datetime(2026, 3, 10))
        engine.close()
        print("closed")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert (done.returncode, done.stdout.splitlines()[-1:]) == (0, ["closed"]), done.stderr[-2000:]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_two_hundred_reloads_do_not_grow_memory() -> None:
    rules = random_rules(random.Random(7), 100, [f"词{i}" for i in range(30)])
    found = analysis([f"词{i}" for i in range(0, 30, 2)])

    def cycle() -> None:
        with Engine(RuleSet(rules, version="reload")) as engine:
            engine.evaluate(found, Spread(reposts=150), [], AT)

    for _ in range(20):  # warm up allocator pools first
        cycle()
    start = rss_bytes()
    for _ in range(200):
        cycle()
    assert rss_bytes() - start < 30 * 2**20


def test_two_threads_get_every_result_right() -> None:
    rng = random.Random(5)
    vocabulary = [f"词{i}" for i in range(12)]
    rules = random_rules(rng, 40, vocabulary)
    cases = [(analysis(rng.sample(vocabulary, rng.randint(0, 6)), rng.choice(SOURCES)),
              Spread(reposts=rng.randint(0, 300))) for _ in range(200)]
    wanted = [expected(rules, found, spread, [], AT)[:2] for found, spread in cases]
    wrong: list[int] = []
    start = threading.Barrier(2)
    with Engine(RuleSet(rules)) as engine:
        def work() -> None:
            start.wait()
            for n in range(2000):
                found, spread = cases[n % len(cases)]
                verdict = engine.evaluate(found, spread, [], AT)
                if (verdict.level, [m.rule_id for m in verdict.matches]) != wanted[n % len(cases)]:
                    wrong.append(n)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert sum(1 for level, _ in wanted if level is not Level.NONE) > 50  # the test means something
    assert wrong == []


def test_regex_conditions_hold_with_or_without_keywords_in_the_message() -> None:
    """Regexes are searched in one pass, and skipped for messages without keywords only when every
    rule with a regex also needs a keyword: a regex-only rule still sees every message."""
    def with_regex(rule_id: str, level: Level, pattern: str, **terms: list[Term]) -> Rule:
        plain = rule(rule_id, level, **terms)  # type: ignore[arg-type]
        return replace(plain, when=replace(plain.when, regex=(pattern,)))

    informant = with_regex("informant", Level.BLUE, r"1[3-9]\d{9}")
    deaths = with_regex("deaths", Level.RED, r"[0-9一二三四五六七八九十两]+人死", all=[term("爆炸")])
    with Engine(RuleSet((deaths,))) as engine:
        assert engine.evaluate(analysis(["爆炸"]), Spread(), [], AT).level is Level.NONE  # no count
        hit = Analysis(Message(id="m", source="weibo", text="爆炸致3人死亡"), (KeywordHit("爆炸", (0,)),))
        assert engine.evaluate(hit, Spread(), [], AT).level is Level.RED
        bare = Analysis(Message(id="m", source="weibo", text="3人死亡"))
        assert engine.evaluate(bare, Spread(), [], AT).level is Level.NONE
    with Engine(RuleSet((deaths, informant))) as engine:
        phone = Analysis(Message(id="m", source="weibo", text="举报电话13812345678"))
        assert engine.evaluate(phone, Spread(), [], AT).level is Level.BLUE
