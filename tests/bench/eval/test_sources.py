"""The development set's texts are read from a real git clone at a pinned commit, in the encodings the
source uses (GB18030 articles, annotated XML), and a clone without that commit is refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench.eval.sources import Repository, SourceMissing, cec_texts


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.cn", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.cn", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, text=True,
                          env=env).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, str]:
    """A CEC-shaped repository: one GB18030 article, one UTF-8 article, one XML file, one README."""
    repo = tmp_path / "daselab+CEC-Corpus"
    (repo / "raw corpus" / "交通事故").mkdir(parents=True)
    (repo / "raw corpus" / "交通事故" / "两车相撞致3死2伤.txt").write_bytes("国道上两车相撞，3人死亡".encode("gb18030"))
    (repo / "raw corpus" / "火灾").mkdir()
    (repo / "raw corpus" / "火灾" / "仓库起火.txt").write_text("\ufeff仓库起火，无人员伤亡", encoding="utf-8")
    (repo / "CEC" / "环境污染" / "水污染").mkdir(parents=True)
    (repo / "CEC" / "环境污染" / "水污染" / "死鱼.xml").write_text(
        "<Body><Title>河里漂满死鱼</Title><Content><Paragraph>\n  <Event>上游工厂<Denoter>偷排</Denoter>"
        "&amp;废水</Event>\n</Paragraph></Content></Body>", encoding="utf-8")
    (repo / "README.md").write_text("语料库说明", encoding="utf-8")
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "corpus")
    return repo, git(repo, "rev-parse", "HEAD")


def test_texts_are_read_at_the_commit_in_their_encodings(clone: tuple[Path, str]) -> None:
    repo, commit = clone
    (repo / "raw corpus" / "火灾" / "仓库起火.txt").write_text("changed after the commit", encoding="utf-8")
    texts = {t.id: t for t in cec_texts(repo, commit)}
    assert sorted(texts) == ["cec:CEC/环境污染/水污染/死鱼.xml", "cec:raw corpus/交通事故/两车相撞致3死2伤.txt",
                             "cec:raw corpus/火灾/仓库起火.txt"]
    crash = texts["cec:raw corpus/交通事故/两车相撞致3死2伤.txt"]
    assert (crash.title, crash.text, crash.source) == ("两车相撞致3死2伤", "国道上两车相撞，3人死亡", "news")
    assert texts["cec:raw corpus/火灾/仓库起火.txt"].text == "仓库起火，无人员伤亡"  # BOM dropped, committed text
    fish = texts["cec:CEC/环境污染/水污染/死鱼.xml"]
    assert (fish.title, fish.text) == ("河里漂满死鱼", "上游工厂偷排&废水")


def test_a_clone_is_found_by_name_only_with_the_pinned_commit(clone: tuple[Path, str]) -> None:
    repo, commit = clone
    assert Repository("daselab/CEC-Corpus", commit).find([repo.parent]) == repo
    with pytest.raises(SourceMissing, match=re.escape("git clone https://github.com/daselab/CEC-Corpus")):
        Repository("daselab/CEC-Corpus", "0" * 40).find([repo.parent])
