"""The development set's texts, rebuilt from the public repositories they come from.

No text of these repositories is kept here: they publish no licence that allows copying, so the set
is the list of labels by id (``labels.jsonl``) plus the code below, which reads each text from a
local clone at a pinned commit. ``SOURCES.md`` says where each part comes from and how it was
labelled.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class SourceMissing(Exception):
    """A repository of the set is not cloned where we looked, or lacks the pinned commit."""


@dataclass(frozen=True)
class Text:
    """One post or article of the set, as the rules will read it."""

    id: str
    source: str  # message source given to the rules (news, toutiao, complaint, other)
    title: str
    text: str


@dataclass(frozen=True)
class Repository:
    name: str  # owner/name on GitHub
    commit: str

    def find(self, roots: list[Path]) -> Path:
        """A clone (bare or with a work tree) of this repository holding the pinned commit."""
        owner, repo = self.name.split("/")
        for root in roots:
            for candidate in (root / f"{owner}+{repo}" / "repo", root / f"{owner}+{repo}", root / repo,
                              root / self.name):
                if candidate.is_dir() and _has_commit(candidate, self.commit):
                    return candidate
        raise SourceMissing(f"{self.name} at {self.commit[:12]} not found under "
                            f"{', '.join(map(str, roots))}: git clone https://github.com/{self.name} there")


CEC = Repository("daselab/CEC-Corpus", "0c9ff07f74162f7145090f4a16d0985e5d4e4b14")
FEWCLUE = Repository("CLUEbenchmark/FewCLUE", "62a02c6f31cf32814cfe522f78ef088228840f8d")
# FewCLUE's TNEWS headlines (今日头条), deduplicated in this file order.
TNEWS_FILES = ("unlabeled", "test_public", "test", "dev_few_all", "train_few_all")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def _has_commit(repo: Path, commit: str) -> bool:
    found = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
                           capture_output=True, check=False)
    return found.returncode == 0


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("gb18030", errors="replace")


def cec_texts(repo: Path, commit: str = CEC.commit) -> Iterator[Text]:
    """中文突发事件语料库: raw news articles (txt) and the environmental part (annotated XML)."""
    names = _git(repo, "ls-tree", "-r", "--name-only", "-z", commit).decode().split("\0")
    for name in names:
        if name.startswith("raw corpus/") and name.endswith(".txt"):
            body = _decode(_git(repo, "show", f"{commit}:{name}"))
            yield Text(f"cec:{name}", "news", name.rsplit("/", 1)[1].removesuffix(".txt"), body)
        elif name.startswith("CEC/环境污染/") and name.endswith(".xml"):
            xml = _git(repo, "show", f"{commit}:{name}").decode("utf-8", errors="replace")
            title = re.search(r"<Title>(.*?)</Title>", xml, re.S)
            content = re.search(r"<Content>(.*)</Content>", xml, re.S)
            body = re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", content.group(1) if content else xml))
            yield Text(f"cec:{name}", "news", title.group(1).strip() if title else "", html.unescape(body))


def tnews_texts(repo: Path) -> Iterator[Text]:
    """FewCLUE TNEWS: news headlines of 15 channels (2018), each headline once."""
    seen: set[str] = set()
    for part in TNEWS_FILES:
        raw = _git(repo, "show", f"{FEWCLUE.commit}:datasets/tnews/{part}.json").decode("utf-8")
        for line in raw.splitlines():
            if line.strip():
                row = json.loads(line)
                if row["sentence"] not in seen:
                    seen.add(row["sentence"])
                    yield Text(f"tnews:{part}:{row['id']}", "toutiao", "", row["sentence"])


def eprstmt_texts(repo: Path) -> Iterator[Text]:
    """FewCLUE EPRSTMT: e-commerce product reviews, ordinary text that shares complaint words."""
    raw = _git(repo, "show", f"{FEWCLUE.commit}:datasets/eprstmt/unlabeled.json").decode("utf-8")
    for line in raw.splitlines():
        if line.strip():
            row = json.loads(line)
            yield Text(f"eprstmt:{row['id']}", "other", "", row["sentence"])


def corpus_texts(path: Path) -> Iterator[Text]:
    """The shared benchmark corpus (reviews and short posts): ordinary text, read where it lies."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                yield Text(f"corpus:{row['id']}", "other", "", row["text"])
