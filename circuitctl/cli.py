"""circuitctl: list circuits, force them open or closed, release them.

    circuitctl --table payments-circuits list
    circuitctl --table payments-circuits force-open payments --reason "provider maintenance" --expires-in 2h
    circuitctl --table payments-circuits release payments --reason "maintenance over"

Every change goes through the same rules as the Lambda handlers (circuit_breaker.breaker), so an
override is a generation-checked transition with who, why and when recorded on the item.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence

from circuit_breaker.breaker import Breaker
from circuit_breaker.exceptions import CircuitNotFound, StoreError
from circuit_breaker.model import FORCED_CLOSED, FORCED_OPEN, Circuit, TableKey
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuit_breaker.telemetry import logger

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# An override covers an incident or a maintenance window; the bound also keeps absurd input
# (a number no float holds) from reaching DynamoDB.
MAX_EXPIRES_IN_DAYS = 366


ON_BEHALF_HELP = "on whose behalf, recorded after your AWS principal (which is always recorded)"


class UsageError(Exception):
    pass


def duration_seconds(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text[:40]!r} is not a duration like 90s, 30m, 2h or 1d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_EXPIRES_IN_DAYS * _UNITS["d"]:
        raise ValueError(f"{text[:40]!r} is too long: at most {MAX_EXPIRES_IN_DAYS}d")
    return seconds


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="circuitctl", description="Show and override circuits.")
    root.add_argument(
        "--table", default=os.environ.get("CIRCUIT_TABLE"), help="circuit table name (default: $CIRCUIT_TABLE)"
    )
    root.add_argument(
        "--table-key",
        default=os.environ.get("CIRCUIT_TABLE_KEY"),
        help="how the table keys circuits, as the module's table_key output gives it (JSON); default: by id "
        "($CIRCUIT_TABLE_KEY)",
    )
    root.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every circuit with state, reason and generation")
    show = commands.add_parser("show", help="one circuit in full")
    show.add_argument("circuit")
    for command, override in (("force-open", FORCED_OPEN), ("force-closed", FORCED_CLOSED)):
        force = commands.add_parser(command, help=f"hold the circuit {override} until released or expired")
        force.set_defaults(override=override)
        force.add_argument("circuit")
        force.add_argument("--reason", required=True, help="why (recorded on the item)")
        force.add_argument("--by", default=None, help=ON_BEHALF_HELP)
        force.add_argument(
            "--expires-in",
            default=None,
            help=f"release automatically after this long, e.g. 30m or 2h (at most {MAX_EXPIRES_IN_DAYS}d)",
        )
        force.add_argument(
            "--create", action="store_true", help="allow a circuit that has no record yet (guards against typos)"
        )
    release = commands.add_parser("release", help="end an override")
    release.add_argument("circuit")
    release.add_argument("--reason", required=True)
    release.add_argument("--by", default=None, help=ON_BEHALF_HELP)
    return root


def run(argv: Sequence[str], breaker: Breaker | None = None) -> list[Circuit]:
    args = parser().parse_args(argv)
    # Checked here, not by argparse, so that main() reports a bad duration like every other usage error.
    expires_in = getattr(args, "expires_in", None)
    try:
        expires_seconds = None if expires_in is None else duration_seconds(expires_in)
    except ValueError as error:  # named as argparse names the argument it refuses
        raise UsageError(f"argument --expires-in: {error}") from None
    if breaker is None:
        if not args.table:
            raise UsageError("name the circuit table with --table or $CIRCUIT_TABLE")
        try:
            key = TableKey.from_json(args.table_key or "{}")
        except ValueError as error:
            raise UsageError(f"argument --table-key: {error}") from None
        breaker = Breaker(Settings(table_name=args.table, circuit_name="-"), CircuitStore(args.table, key=key))
    if args.command == "list":
        return breaker.store.scan()
    if args.command == "show":
        return [breaker.get(args.circuit)]
    who = principal() if args.by is None else f"{principal()} (for {args.by})"
    if args.command == "release":
        breaker.get(args.circuit)
        return [breaker.release(args.circuit, who, args.reason)]
    if not args.create:
        breaker.get(args.circuit)
    expires_at = None if expires_seconds is None else time.time() + expires_seconds
    return [breaker.force(args.circuit, args.override, who, args.reason, expires_at)]


def principal() -> str:
    """Who acts: the AWS principal of the credentials in use, as AWS knows it (anyone could type any name)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        arn: str = boto3.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        raise UsageError(f"cannot tell which AWS principal you are (sts:GetCallerIdentity): {error}") from None
    return arn


def render(circuits: list[Circuit], as_json: bool, whole: bool = False) -> str:
    """A table of `circuits` (list, and after a change), every field of each when `whole` (show), or JSON."""
    if as_json:
        return json.dumps([c.summary() for c in circuits], indent=2, default=str)
    if whole:
        return "\n\n".join(
            "\n".join(
                f"{field:<29} {'-' if value is None or value == '' else value}" for field, value in c.summary().items()
            )
            for c in circuits
        )
    if not circuits:
        return "no circuits"
    rows = [("CIRCUIT", "STATE", "OVERRIDE", "GEN", "FAILURES", "REASON")]
    rows += [
        (c.name, c.state, c.override or "-", str(c.generation), str(c.failure_count), c.reason or "-") for c in circuits
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[5] for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    logger.setLevel("ERROR")  # transition logs are for Lambda's log group, not the terminal
    try:
        arguments = list(argv if argv is not None else sys.argv[1:])
        parsed = parser().parse_args(arguments)
        print(render(run(arguments), parsed.json, whole=parsed.command == "show"))
    except (UsageError, CircuitNotFound, ValueError) as error:
        print(f"circuitctl: {error}", file=sys.stderr)
        return 2
    except StoreError as error:
        print(f"circuitctl: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
