"""YAML with line and column kept for every value, so errors can name ``path:line:col``.

PyYAML's ``safe_load`` forgets where values came from; we compose the node graph instead and walk it
through ``Node``. Aliases, merges and custom tags are not needed by our files and are refused.

Files are composed by libyaml (PyYAML's C binding) where it is built in: three to four times faster than
the pure-Python composer, which made up most of a rule reload. Its nodes carry the same tags, values,
lines and columns. A file it refuses, or one it composed with an alias, is composed again in Python, so
that the error and its location read the same whichever composer is present.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import yaml.composer

from rules.errors import ConfigError, Problem, did_you_mean
from rules.model import Location


def _location(path: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class Node:
    """A YAML value with its location. Accessors raise ``ConfigError`` naming the location."""

    raw: yaml.Node
    path: str

    @property
    def location(self) -> Location:
        return _location(self.path, self.raw.start_mark)

    def problem(self, message: str) -> Problem:
        return Problem(message, self.location)

    def fail(self, message: str) -> ConfigError:
        return ConfigError([self.problem(message)])

    # -- kinds

    @property
    def is_null(self) -> bool:
        return isinstance(self.raw, yaml.ScalarNode) and self.raw.tag == "tag:yaml.org,2002:null"

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.raw, yaml.MappingNode)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.raw, yaml.SequenceNode)

    def mapping(self, what: str = "a mapping") -> dict[str, Node]:
        if not isinstance(self.raw, yaml.MappingNode):
            raise self.fail(f"expected {what}, got {self.kind}")
        out: dict[str, Node] = {}
        for key, value in self.raw.value:
            key_node = Node(key, self.path)
            name = key_node.str("a key")
            if name in out:
                raise key_node.fail(f'duplicate key "{name}"')
            out[name] = Node(value, self.path)
        return out

    def keys_at(self) -> dict[str, Location]:
        """Where each key of a mapping is written (for errors about the key itself)."""
        if not isinstance(self.raw, yaml.MappingNode):
            return {}
        return {str(k.value): _location(self.path, k.start_mark) for k, _ in self.raw.value}

    def sequence(self, what: str = "a list") -> list[Node]:
        if not isinstance(self.raw, yaml.SequenceNode):
            raise self.fail(f"expected {what}, got {self.kind}")
        return [Node(item, self.path) for item in self.raw.value]

    def items(self, what: str = "a list") -> list[Node]:
        """A list, or a single scalar taken as a one-item list (``notify: 值班`` = ``[值班]``)."""
        if isinstance(self.raw, yaml.ScalarNode) and not self.is_null:
            return [self]
        return self.sequence(what)

    @property
    def kind(self) -> str:
        if isinstance(self.raw, yaml.MappingNode):
            return "a mapping"
        if isinstance(self.raw, yaml.SequenceNode):
            return "a list"
        return "nothing" if self.is_null else f'"{self.raw.value}"'

    # -- scalars

    def scalar(self) -> Any:
        if not isinstance(self.raw, yaml.ScalarNode):
            raise self.fail(f"expected a single value, got {self.kind}")
        return _scalar(self.raw)

    def str(self, what: str = "text") -> str:
        value = self.scalar()
        if value is None or isinstance(value, (dict, list)):
            raise self.fail(f"expected {what}, got {self.kind}")
        if isinstance(value, bool):
            raise self.fail(f"expected {what}, got {str(value).lower()}")
        return str(value)

    def int(self, what: builtins.str = "a whole number") -> builtins.int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"expected {what}, got {self.kind}")
        return value

    def bool(self) -> builtins.bool:
        value = self.scalar()
        if not isinstance(value, bool):
            raise self.fail(f"expected true or false, got {self.kind}")
        return value

    def plain(self) -> Any:
        """The value as plain Python (dicts, lists, scalars)."""
        return _construct(self.raw)


def _construct(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {_construct(k): _construct(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v) for v in node.value]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # A constructor of its own per value: cheap (a SafeLoader would also build a reader and a parser),
    # and nothing is shared between threads.
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def check_keys(node: Node, allowed: tuple[str, ...], what: str,
               required: tuple[str, ...] = ()) -> list[Problem]:
    """Unknown keys (with did-you-mean) and missing required keys of a mapping."""
    problems: list[Problem] = []
    positions = node.keys_at()
    for key, where in positions.items():
        if key not in allowed:
            problems.append(Problem(f'unknown field "{key}" in {what}{did_you_mean(key, allowed)}', where))
    for key in required:
        if key not in positions:
            problems.append(node.problem(f'{what} needs "{key}"'))
    return problems


def parse_text(text: str, path: str) -> Node | None:
    """Parse one YAML document; ``None`` for an empty file. Syntax errors carry their location."""
    raw = _compose_fast(text)
    if raw is _REDO:
        try:
            raw = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = exc.problem or exc.context or "invalid YAML"
            raise ConfigError([Problem(f"YAML syntax: {reason}", _location(path, mark))]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Problem(f"YAML syntax: {exc}", path=path)]) from None
    return None if raw is None else Node(raw, path)


_REDO = yaml.Node("", "", None, None)  # "compose it again in Python"
_CLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)


def _compose_fast(text: str) -> yaml.Node | None:
    """The document composed by libyaml; ``_REDO`` without libyaml, on any error, or when the document
    uses an alias (libyaml resolves aliases silently: the same node turns up twice)."""
    if _CLoader is None:
        return _REDO
    try:
        raw: yaml.Node | None = yaml.compose(text, Loader=_CLoader)
    except yaml.YAMLError:
        return _REDO
    if raw is not None and _has_alias(raw):
        return _REDO
    return raw


def _has_alias(root: yaml.Node) -> bool:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


def load_file(path: Path) -> Node | None:
    """Read and parse ``path``; unreadable or non-UTF-8 files are problems at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([Problem("file not found", path=str(path))]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(f"not UTF-8 text (byte {exc.start})", path=str(path))]) from None
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read: {exc.strerror}", path=str(path))]) from None
    return parse_text(text, str(path))


class _Loader(yaml.SafeLoader):
    """Refuses anchors and aliases: rule files should read the same to a person as to the daemon."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported",
                                              event.start_mark)
        return super().compose_node(parent, index)


def walk(node: Node) -> Iterator[Node]:
    """Every node below ``node`` (used by checks that look at all values)."""
    yield node
    if isinstance(node.raw, yaml.MappingNode):
        for key, value in node.raw.value:
            yield from walk(Node(key, node.path))
            yield from walk(Node(value, node.path))
    elif isinstance(node.raw, yaml.SequenceNode):
        for item in node.raw.value:
            yield from walk(Node(item, node.path))
