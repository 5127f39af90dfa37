"""config.yaml: paths resolved against the file, every problem at path:line:col."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daemon.config import DEFAULT_PATH, config_path, load_config
from rules.errors import ConfigError

DESIGN_EXAMPLE = """\
state_dir: ./var
inbox: [{path: ./var/inbox, source: grid}]
feeds: [{url: "http://127.0.0.1:8080/rss.xml", source: news, every: 5m}]
rules: ./rules            # folder of *.yaml, hot-reloaded
periods: ./periods.yaml
dictionary: ./dict.txt    # jieba user words: place names, officials, local slang
notify: ./notify.yaml
http: {listen: "127.0.0.1:8765"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etc" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_design_example_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE))
    etc = (tmp_path / "etc").resolve()
    assert config.state_dir == etc / "var"
    assert config.inboxes[0].path == etc / "var" / "inbox"
    assert config.inboxes[0].source == "grid"
    assert config.feeds[0].every == timedelta(minutes=5)
    assert (config.rules_dir, config.notify, config.periods) == (etc / "rules", etc / "notify.yaml",
                                                                 etc / "periods.yaml")
    assert config.http_listen == "127.0.0.1:8765"
    assert config.database == etc / "var" / "yuqing.db"
    assert config.max_file_bytes == 20 * 1024 * 1024


def test_examples_config_loads() -> None:
    config = load_config(Path(__file__).resolve().parents[3] / "examples" / "config.yaml")
    assert config.inboxes
    assert config.rules_dir.is_dir()
    assert config.notify.is_file()


@pytest.mark.parametrize(("text", "expected"), [
    ("rules: ./r\nnotify: ./n.yaml\nrulez: 1\n",
     ['{p}:3:1: error: unknown field "rulez" in config (did you mean "rules"?)']),
    ("notify: ./n.yaml\n", ['{p}:1:1: error: config needs "rules"']),
    ("rules: ./r\nnotify: ./n.yaml\ninbox: [{path: ./in, sorce: grid}]\n",
     ['{p}:3:22: error: unknown field "sorce" in inbox (did you mean "source"?)']),
    ("rules: ./r\nnotify: ./n.yaml\nfeeds: [{url: x, every: soon}]\n",
     ['{p}:3:25: error: invalid duration "soon": use a number with s, m, h or d, such as 30s, 15m, 2h or 1h30m']),
    ("rules: ./r\nnotify: ./n.yaml\nlimits: {max_file_size: huge}\n",
     ['{p}:3:25: error: expected a size like "20MB", got "huge"']),
    ("rules: ./r\nnotify: ./n.yaml\nlimits: {busy_timeout: 1m}\n",
     ["{p}:3:24: error: busy_timeout must be between 1s and 20s (under systemd's WatchdogSec)"]),
    ("rules: [./r\n", ["{p}:2:1: error: YAML syntax: expected ',' or ']', but got '<stream end>'"]),
])
def test_each_problem_names_its_place(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    got = [str(p) for p in caught.value.problems]
    want = [e.format(p=path) for e in expected]
    assert got == want


def test_size_units(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "rules: r\nnotify: n\nlimits: {max_file_size: 512k, rescan_every: 10s}\n"))
    assert config.max_file_bytes == 512 * 1024
    assert config.rescan_every == timedelta(seconds=10)
    assert config.busy_timeout == timedelta(seconds=10)  # the default
    assert load_config(write(tmp_path, "rules: r\nnotify: n\nlimits: {busy_timeout: 2s}\n")).busy_timeout == \
        timedelta(seconds=2)


def test_config_path_precedence() -> None:
    assert config_path("/x.yaml", {"YUQING_CONFIG": "/y.yaml"}) == Path("/x.yaml")
    assert config_path(None, {"YUQING_CONFIG": "/y.yaml"}) == Path("/y.yaml")
    assert config_path(None, {}) == DEFAULT_PATH


def test_places_are_read_in_order_without_repeats(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE + "places:\n  local: [青岚县, 石桥镇, 青岚县]\n"
                                                          "  neighbours: 云溪县\n"))
    assert (config.places.local, config.places.neighbours) == (("青岚县", "石桥镇"), ("云溪县",))
    assert load_config(write(tmp_path, DESIGN_EXAMPLE)).places.configured is False
    assert load_config(Path(__file__).resolve().parents[3] / "examples" / "config.yaml").places.configured


@pytest.mark.parametrize(("text", "expected"), [
    ("places: {local: [石桥镇], nieghbours: [云溪县]}",
     '9:24: error: unknown field "nieghbours" in places (did you mean "neighbours"?)'),
    ("places: {local: [石桥镇, {x: 1}]}", "9:23: error: expected a single value, got a mapping"),
    ('places: {local: [石桥镇, " "]}', "9:23: error: empty place name in places.local"),
    ("places: [石桥镇]", "9:9: error: expected a mapping with local and neighbours, lists of place names, "
                       "got a list"),
])
def test_bad_places_name_their_place(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE + text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{expected}"]
