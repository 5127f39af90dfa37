"""The incident register on the command line: list, show, acknowledge, resolve, merge, split."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from daemon import incidents
from daemon.clock import SystemClock, from_epoch, local
from daemon.config import config_path, load_config
from daemon.incidents import Incident, IncidentError, Status, corrections
from daemon.notify import outbox
from daemon.store import Store, messages
from daemon.triage import review
from rules.county import LEVEL_NAMES
from rules.model import Level

LIST_FIELDS = ("id", "level", "status", "title", "category", "messages", "platforms", "authors", "first_seen",
               "first_source")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace], int]]:
    listing = sub.add_parser("incidents", parents=[common], help="the incident register (舆情事件)")
    listing.add_argument("--open", action="store_true", help="only incidents not yet resolved or closed")
    listing.add_argument("--level", choices=LEVEL_NAMES, help="only this level")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.add_argument("--review", action="store_true",
                         help="the review list (待研判): messages no rule matched that look like an incident")
    listing.add_argument("--limit", type=int, default=200, help="with --review: at most this many, newest first")
    show = sub.add_parser("show", parents=[common], help="an incident's timeline")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    for name, helptext, note_required in (("ack", "acknowledge (确认) an incident", False),
                                          ("resolve", "resolve (处置) an incident", True)):
        cmd = sub.add_parser(name, parents=[common], help=helptext)
        cmd.add_argument("id")
        cmd.add_argument("--by", required=True, help="who (a person key of notify.yaml or a name)")
        cmd.add_argument("--note", required=note_required, default="", help="处置情况 / remark")
    merge = sub.add_parser("merge", parents=[common], help="merge incident B into A (same story)")
    merge.add_argument("into")
    merge.add_argument("other")
    merge.add_argument("--by", required=True)
    merge.add_argument("--note", default="")
    split = sub.add_parser("split", parents=[common], help="move messages of an incident into a new one")
    split.add_argument("id")
    split.add_argument("--messages", required=True, nargs="+", metavar="MESSAGE_ID")
    split.add_argument("--by", required=True)
    split.add_argument("--note", default="")
    export = sub.add_parser("review-export", parents=[common],
                            help="labelled posts from this county's traffic, to train the review net on")
    export.add_argument("-o", "--output", type=Path, required=True, help="JSONL file to write")
    export.add_argument("--days", type=int, default=365, help="messages received in the last DAYS days")
    export.add_argument("--ordinary", type=int, default=20000, help="at most this many label-0 posts")
    return {"incidents": cmd_incidents, "show": cmd_show, "ack": cmd_ack, "resolve": cmd_resolve,
            "merge": cmd_merge, "split": cmd_split, "review-export": cmd_review_export}


def _store(args: argparse.Namespace) -> Store:
    return Store(load_config(config_path(args.config)).database)


def summary(incident: Incident) -> dict[str, Any]:
    spread = incident.spread
    return {
        "id": incident.id, "level": str(incident.level), "status": incident.status, "title": incident.title,
        "category": incident.category, "messages": int(spread.get("messages", 0)),
        "platforms": int(spread.get("platforms", 0)), "authors": int(spread.get("authors", 0)),
        "first_seen": local(incident.first_seen).isoformat() if incident.first_seen else None,
        "first_source": incident.first_source,
    }


def cmd_incidents(args: argparse.Namespace) -> int:
    if args.review:
        return list_reviews(_store(args), args.limit, args.json)
    rows = incidents.listing(_store(args), open_only=args.open)
    rows = [i for i in rows if i.status not in ((Status.CLOSED, Status.MERGED) if args.open else ())]
    if args.level:
        rows = [i for i in rows if i.level == Level.parse(args.level)]
    for incident in rows:
        item = summary(incident)
        if args.json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            first = (item["first_seen"] or "")[:16].replace("T", " ")
            print(f"{incident.id}  {incident.level.label}  {incident.status:<12}  {first:<16}  "
                  f"{item['messages']:>4}条 {item['platforms']}平台  {incident.title}")
    return 0


def list_reviews(store: Store, limit: int, as_json: bool) -> int:
    """待研判: newest first; never incidents, never alerted, for someone to read and decide."""
    found = review.items(store, limit=limit)
    if as_json:
        for item in found:
            print(json.dumps({"message": item.message_id, "at": local(item.at).isoformat(), "source": item.source,
                              "score": round(item.score, 4), "features": list(item.features),
                              "title": item.title, "text": item.text, "url": item.url}, ensure_ascii=False))
        return 0
    if not found:
        print("待研判：无")
        return 0
    print(f"待研判 {len(found)} 条（未命中规则、疑似舆情事件，请人工研判；不发预警）")
    print(f"{'时间':<14}  {'来源':<6}  分值  信息编号 / 内容（研判依据）")
    for item in found:
        basis = "、".join(item.features[:3]) or "—"
        print(f"{local(item.at).strftime('%Y-%m-%d %H:%M')}  {item.source:<8}  {item.score:.2f}  "
              f"{item.message_id}  {item.headline}（{basis}）")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    since = SystemClock().now() - timedelta(days=args.days)
    rows = review.labelled(_store(args), since, args.ordinary)
    with args.output.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    incidents_n = sum(1 for row in rows if row["label"] == 1)
    print(f"{args.output}: {incidents_n} incident posts (label 1), {len(rows) - incidents_n} ordinary posts (label 0)")
    print(f"train with: python -m rules.reviewnet.train {args.output} -o review-model.json --holdout 0.2")
    return 0


def timeline(store: Store, incident_id: str) -> list[dict[str, Any]]:
    """Messages, level changes, acks and notifications, in time order."""
    entries: list[dict[str, Any]] = []
    for m in messages.members(store, incident_id):
        data = m.data
        entries.append({"at": m.received_at, "kind": "message", "detail":
                        f"{m.source} {m.id} [{m.level}] {data.get('title') or data['text'][:40]}"})
    for e in incidents.events(store, incident_id):
        who = f" by {e.actor}" if e.actor else ""
        entries.append({"at": e.at, "kind": e.kind, "detail": f"{e.level or ''}{who} {e.detail}".strip()})
    for n in outbox.of_incident(store, incident_id):
        names = "、".join(p["name"] for p in n.recipients)
        entries.append({"at": n.created_at, "kind": "notification",
                        "detail": f"{n.channel} → {names or '(group)'} [{n.status}] {n.title}"})
    return sorted(entries, key=lambda e: (e["at"], e["kind"] != "message"))


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        incident = incidents.get(store.db, args.id)
    except IncidentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    entries = timeline(store, incident.id)
    if args.json:
        print(json.dumps({**summary(incident), "spread": incident.spread, "timeline": [
            {**e, "at": local(from_epoch(e["at"])).isoformat()} for e in entries]}, ensure_ascii=False))
        return 0
    print(f"{incident.id}  {incident.level.label}预警  {incident.status}  {incident.title}")
    print(f"类别 {incident.category or '—'}   首发 {incident.first_source or '—'} "
          f"{local(incident.first_seen).strftime('%Y-%m-%d %H:%M') if incident.first_seen else ''}")
    for line in incident.alert.spread:
        print(f"传播 {line}")
    if incident.first_url:
        print(f"链接 {incident.first_url}")
    for e in entries:
        print(f"  {local(from_epoch(e['at'])).strftime('%m-%d %H:%M:%S')}  {e['kind']:<13} {e['detail']}")
    return 0


def _act(args: argparse.Namespace, action: Callable[[Store], Incident], verb: str) -> int:
    try:
        incident = action(_store(args))
    except IncidentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{incident.id}: {verb} by {args.by} ({incident.status}, {incident.level})")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    return _act(args, lambda s: incidents.acknowledge(s, args.id, args.by, now, args.note), "acknowledged")


def cmd_resolve(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    return _act(args, lambda s: incidents.resolve(s, args.id, args.by, now, args.note), "resolved")


def cmd_merge(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    return _act(args, lambda s: corrections.merge(s, args.into, args.other, args.by, now, args.note),
                f"{args.other} merged into")


def cmd_split(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    return _act(args, lambda s: corrections.split(s, args.id, args.messages, args.by, now, args.note),
                f"split from {args.id}")
