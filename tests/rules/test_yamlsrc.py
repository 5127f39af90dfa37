"""rules.yamlsrc: libyaml composes rule files as the pure-Python composer does, errors read the same
whichever composes, and aliases are refused on either path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from rules.errors import ConfigError
from rules.yamlsrc import _Loader, parse_text

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")


def shape(node: yaml.Node) -> list[Any]:
    """What the loader reads of a node tree: kinds, tags, values and where each node starts and ends."""
    out: list[Any] = [type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column,
                      node.end_mark.line, node.end_mark.column]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out += [shape(key), shape(value)]
    elif isinstance(node, yaml.SequenceNode):
        out += [shape(item) for item in node.value]
    else:
        out.append(node.value)
    return out


def both(text: str) -> tuple[list[Any], list[Any]]:
    fast = yaml.compose(text, Loader=yaml.CSafeLoader)
    slow = yaml.compose(text, Loader=_Loader)
    return shape(fast), shape(slow)


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "rules").glob("*.yaml")), ids=lambda p: p.name)
def test_the_starter_library_composes_alike_with_libyaml_and_in_python(path: Path) -> None:
    fast, slow = both(path.read_text(encoding="utf-8"))
    assert fast == slow


SCALARS = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False), st.sampled_from(["拆迁", "yes", "~", "1e3", "0x1F", "2026-11-20"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4)), max_leaves=20)


@given(VALUES, st.booleans(), st.sampled_from([None, "'", '"', "|"]))
def test_any_document_composes_alike_with_libyaml_and_in_python(value: Any, flow: bool, style: str | None) -> None:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=flow, default_style=style)
    fast, slow = both(text)
    assert fast == slow


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &x [1]\nb: *x\n", "test.yaml:2:4: error: YAML syntax: aliases (*name) are not supported"),
    ("a: [1\nb: 2\n", "test.yaml:2:2: error: YAML syntax: expected ',' or ']', but got ':'"),
    ("a: 1\n---\nb: 2\n", "test.yaml:2:1: error: YAML syntax: but found another document"),
])
def test_errors_and_aliases_are_reported_by_the_python_composer(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_text(text, "test.yaml")
    assert str(caught.value) == expected
