"""``oppbus webhooks dead|redrive``: the operator's dead webhook deliveries, through the HTTP API.

* ``oppbus webhooks dead [--partner ID] [--json]`` lists every dead delivery (and those being
  redriven), oldest first, from ``GET /v1/admin/webhook-deliveries``, every page;
* ``oppbus webhooks redrive WEBHOOK_ID`` asks for one to be delivered again
  (``POST /v1/admin/webhook-deliveries/{id}/redrive``): the worker's dispatcher delivers it once,
  with the same ``webhook-id``. Exit 0 when asked, 1 when the API refused (it says why: not dead,
  unknown id), 2 for a usage or connection problem.

Both talk to a running API (``--api``, default ``http://127.0.0.1:$OPPBUS_HTTP_PORT``) with the
admin token (``--admin-token``, else ``OPPBUS_ADMIN_TOKEN``).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from typing import Any

import orjson

from ops.demo_client import Api, DemoError

__all__ = ["add_arguments", "run"]

LIST = "/v1/admin/webhook-deliveries"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--api", metavar="URL", help="the bus's API (default http://127.0.0.1:$OPPBUS_HTTP_PORT)"
    )
    p.add_argument("--admin-token", metavar="TOKEN", help="admin token (else OPPBUS_ADMIN_TOKEN)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    dead = actions.add_parser(
        "dead",
        help="list the dead webhook deliveries (and those being redriven), oldest first",
        description="List the dead webhook deliveries (and those being redriven), oldest first.",
    )
    dead.add_argument("--partner", metavar="ID", help="only this partner's deliveries")
    dead.add_argument("--json", action="store_true", help="one JSON object per delivery")
    redrive = actions.add_parser(
        "redrive",
        help="deliver a dead webhook delivery again (once, with the same webhook-id)",
        description="Deliver a dead webhook delivery again: the worker's dispatcher delivers it "
        "once, with the same webhook-id and body. Refused (exit 1) when it is not dead.",
    )
    redrive.add_argument("webhook_id", metavar="WEBHOOK_ID", help="as listed by `webhooks dead`")


def _api(args: argparse.Namespace) -> tuple[Api, str]:
    token = args.admin_token or os.environ.get("OPPBUS_ADMIN_TOKEN", "")
    if not token:
        raise DemoError("no admin token: pass --admin-token or set OPPBUS_ADMIN_TOKEN")
    base = args.api or f"http://127.0.0.1:{os.environ.get('OPPBUS_HTTP_PORT', '8080')}"
    return Api(base), token


def _line(d: dict[str, Any]) -> str:
    last = d["attempts"][-1]
    why = last.get("error") or f"HTTP {last.get('status')}"
    return (
        f"{d['webhook_id']}  {d['status']:<9} {d['partner_id']}  {d['event']}  "
        f"{len(d['attempts'])} attempt(s), last: {why}  settled {d['settled_at']}"
    )


def _dead(args: argparse.Namespace) -> int:
    api, token = _api(args)
    query: list[tuple[str, str]] = [("status", "dead"), ("status", "redriving"), ("limit", "1000")]
    if args.partner:
        query.append(("partner_id", args.partner))
    cursor: str | None = None
    count = 0
    while True:
        page = query + ([("next", cursor)] if cursor else [])
        status, body = api.call("GET", f"{LIST}?{urllib.parse.urlencode(page)}", token)
        if status != 200:
            print(f"oppbus: error: {status} {body.get('message', body)}", file=sys.stderr)
            return 1
        for d in body["deliveries"]:
            print(orjson.dumps(d).decode() if args.json else _line(d))
            count += 1
        cursor = body.get("next")
        if not cursor:
            break
    if not args.json:
        print(f"{count} dead or redriving deliver{'y' if count == 1 else 'ies'}", file=sys.stderr)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    api, token = _api(args)
    wid = urllib.parse.quote(args.webhook_id, safe="")
    status, body = api.call("POST", f"{LIST}/{wid}/redrive", token)
    if status != 202:
        print(f"oppbus: refused ({status}): {body.get('message', body)}", file=sys.stderr)
        return 1
    print(f"redrive #{body['redrive']} of {body['webhook_id']} asked ({body['partner_id']})")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return _dead(args) if args.action == "dead" else _redrive(args)
    except DemoError as exc:
        print(f"oppbus: error: {exc}", file=sys.stderr)
        return 2
