"""`circuit-sandbox`: AWS on this machine for any root module, and the demo (the README's `make demo`).

circuit-sandbox up [--port N]             the emulator, until Ctrl-C; prints its endpoint
circuit-sandbox apply DIR [-var ...]      terraform init + apply DIR into it; prints the outputs (JSON)
circuit-sandbox destroy DIR [-var ...]    terraform destroy what apply created
circuit-sandbox terraform DIR ARGS...     any other terraform command on DIR against it (plan, output, state list)
circuit-sandbox demo [options]            examples/basic through an outage and back (the default command)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

from rich.console import Console

from .report import LEGEND, LiveTimeline, chart, print_summary
from .scenario import Options, play, running
from .terraform import EXAMPLE, ROOT, var_flags

DEFAULT_CHART = ROOT / "out" / "sandbox.png"
# Where `up` listens unless told otherwise, and so where `apply` looks when AWS_ENDPOINT_URL is not set.
DEFAULT_PORT = 4599
COMMANDS = ("up", "apply", "destroy", "terraform", "demo")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        return demo(argv)  # `circuit-sandbox [demo options]`, as `make demo` has always run it
    if argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n", 1)[1])
        return 0
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return demo(rest)
    if command == "up":
        return up(rest)
    return terraform_command(command, rest)


def demo(argv: list[str]) -> int:
    args = parse_args(argv)
    option_names = set(Options.__dataclass_fields__)
    options = Options(**{k: v for k, v in vars(args).items() if k in option_names})
    options.max_open_duration_seconds = max(options.max_open_duration_seconds, 4 * options.open_duration_seconds)
    return play_demo(args, options)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="circuit-sandbox demo",
        description="Apply examples/basic with the real Terraform into a local AWS emulator, run what it created "
        "through a total outage (in-band trip, healthcheck recovery) and a brown-out (Duration alarm trip, probe "
        "recovery), then destroy it.",
    )
    parser.add_argument("--rate", type=float, default=defaults.rate, help="executions per second (default %(default)s)")
    parser.add_argument(
        "--outage-start",
        type=float,
        default=defaults.warmup_seconds,
        dest="warmup_seconds",
        help="seconds of healthy traffic before each outage (default %(default)s)",
    )
    parser.add_argument(
        "--outage-seconds",
        type=float,
        default=defaults.outage_seconds,
        help="length of the total outage (default %(default)s)",
    )
    parser.add_argument("--failure-threshold", type=int, default=defaults.failure_threshold)
    parser.add_argument(
        "--open-duration",
        type=float,
        default=defaults.open_duration_seconds,
        dest="open_duration_seconds",
        help="seconds OPEN before a probe (default %(default)s)",
    )
    parser.add_argument(
        "--alarm-period",
        type=int,
        default=defaults.alarm_period_seconds,
        dest="alarm_period_seconds",
        help="the downstream alarm's period in seconds, a multiple of 60 as on AWS; the healthcheck alarm's is "
        "twice it (default %(default)s)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=defaults.time_scale,
        help="how much faster alarm periods and the schedule run than on AWS (default %(default)s)",
    )
    parser.add_argument(
        "--max-environments",
        type=int,
        default=defaults.max_environments,
        help="execution environments per function at most (default %(default)s)",
    )
    parser.add_argument("--chart", type=Path, default=DEFAULT_CHART, help="PNG to write (default out/sandbox.png)")
    parser.add_argument("--json", type=Path, dest="json_path", metavar="PATH", help="write the summary as JSON")
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the emulator up afterwards and print how to reach it"
    )
    parser.add_argument("--port", type=int, default=0, help="emulator port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    flags = {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}
    problems = [
        f"{flags[name]} must be positive"
        for name in (
            "rate",
            "outage_seconds",
            "open_duration_seconds",
            "alarm_period_seconds",
            "time_scale",
            "max_environments",
            "failure_threshold",
        )
        if getattr(args, name) <= 0
    ]
    problems += [f"{flags[name]} must not be negative" for name in ("warmup_seconds",) if getattr(args, name) < 0]
    if args.alarm_period_seconds % 60:
        problems.append("--alarm-period must be a multiple of 60 seconds, as on AWS")
    if args.rate > 200:
        problems.append("--rate above 200 per second is more than one machine's emulator can serve")
    if problems:
        parser.error("; ".join(problems))
    return args


def play_demo(args: argparse.Namespace, options: Options) -> int:
    console = Console(highlight=False)
    console.rule("[bold]Circuit breaker sandbox")
    console.print(
        f"The real Terraform applies {EXAMPLE.relative_to(ROOT)} into moto on 127.0.0.1; then the state machine, "
        "functions, alarms and schedule it created run the scenario, and Terraform destroys them."
    )
    console.print("terraform apply with these variables of the example (the rest keep their defaults):")
    for flag in var_flags(options.variables()):
        console.print(f"  {flag}", soft_wrap=True, markup=False)
    console.print(
        f"Alarm periods and the schedule keep AWS's units and run {options.time_scale:g} times faster here: "
        f"a {options.alarm_period_seconds} s period lasts {options.alarm_period_wall_seconds:g} s, rate(1 minute) "
        f"runs every {60 / options.time_scale:g} s. The open duration and call durations are real seconds."
    )
    started = time.monotonic()

    def echo(line: str) -> None:
        console.print(f"  terraform: {line}", markup=False)

    with running(options, echo, port=args.port, destroy=lambda: not args.keep_running) as sandbox:
        console.print(f"Emulator at {sandbox.endpoint}; rate {options.rate:g} executions/s.\n")
        console.print(LEGEND, markup=False)
        with LiveTimeline(sandbox.recorder, console) as timeline:
            summary = play(sandbox, options, on_tick=timeline.tick)
        summary["seconds_total"] = round(time.monotonic() - started, 1)
        print_summary(console, summary)
        path = chart(sandbox.recorder, summary, args.chart)
        console.print(f"Chart: {path}", soft_wrap=True, markup=False)  # a path to copy: never wrapped
        if args.json_path:
            args.json_path.parent.mkdir(parents=True, exist_ok=True)
            args.json_path.write_text(json.dumps(summary, indent=2))
            console.print(f"Summary JSON: {args.json_path}", soft_wrap=True, markup=False)
        if sample := summary.get("circuit_event_sample"):
            console.rule("One circuit event, as a rule's target receives it")
            console.print_json(json.dumps(sample))
        for message in summary.get("notifications") or []:
            console.print(f"[bold]Notification:[/bold] {message}", soft_wrap=True)
        verdict = check(summary)
        console.print(
            f"[bold {'green' if not verdict else 'red'}]"
            f"{'Both acts played as expected.' if not verdict else 'Unexpected: ' + '; '.join(verdict)}"
        )
        if args.keep_running:
            keep_running(console, sandbox)
    return 0 if not verdict else 1


def check(summary: dict) -> list[str]:
    """What a newcomer should have seen; anything else is reported and makes the exit status 1."""
    reasons = [t["reason"] for t in summary["transitions"] if t["to"] == "OPEN"]
    problems = []
    if not any("consecutive failures" in r for r in reasons):
        problems.append("the total outage did not trip the circuit in band")
    if not any("downstream alarm" in r for r in reasons):
        problems.append("the brown-out did not trip the circuit through the downstream alarm")
    if summary["seconds_healthcheck_ok_to_closed"] is None:
        problems.append("the healthcheck alarm's return to OK did not close the circuit")
    if summary.get("circuit_events") is not None:
        made = Counter(f"{t['from']} -> {t['to']}" for t in summary["transitions"])
        if summary["circuit_events"] != dict(sorted(made.items())):
            problems.append(
                f"circuit events {summary['circuit_events']} do not match the transitions {dict(sorted(made.items()))}"
            )
    if summary["final_state"] != "CLOSED":
        problems.append(f"the circuit ended {summary['final_state']}, not CLOSED")
    return problems


def keep_running(console: Console, sandbox) -> None:
    stack, endpoint = sandbox.stack, sandbox.endpoint
    console.rule("[bold]Emulator still running")
    console.print(f"Endpoint: {endpoint}   (Ctrl-C stops it)\n")
    commands = [
        "export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_DEFAULT_REGION=us-east-1",
        f"aws --endpoint-url {endpoint} stepfunctions start-execution "
        f"--state-machine-arn {stack.state_machine_arn} --input '{{\"request\": 1}}'",
        f"aws --endpoint-url {endpoint} ssm put-parameter --overwrite --name {stack.health_parameter} "
        f"--type String --value failing   # or slow, healthy",
        f"AWS_ENDPOINT_URL={endpoint} circuitctl --table {stack.table_name} show {stack.circuit}",
    ]
    for command in commands:
        console.print(command, soft_wrap=True, markup=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping")


# ---------------------------------------------------------------------------- any root module


def up(argv: list[str]) -> int:
    """`circuit-sandbox up`: the emulator with everything the sandbox supplies, until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="circuit-sandbox up",
        description="Start AWS on this machine: moto on 127.0.0.1 with Lambda environments, alarm evaluation, "
        "schedules, stream pollers, EventBridge targets and StartSyncExecution. Runs until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run alarm periods and schedules this many times faster than on AWS (default %(default)s: as on AWS)",
    )
    parser.add_argument(
        "--max-environments", type=int, default=10, help="execution environments per function (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0 or args.max_environments <= 0:
        parser.error("--time-scale and --max-environments must be positive")
    endpoint = f"http://127.0.0.1:{args.port}"
    if _reachable(endpoint):
        parser.error(f"{endpoint} already answers: is a sandbox already up? (another port: --port N)")
    from .aws import REGION, emulator

    with emulator(args.max_environments, port=args.port, time_scale=args.time_scale):
        print(f"AWS on this machine at {endpoint} (region {REGION}). Ctrl-C stops it; its resources go with it.")
        print("In another terminal:")
        print(
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={REGION} AWS_ACCESS_KEY_ID=sandbox "
            "AWS_SECRET_ACCESS_KEY=sandbox"
        )
        print("  circuit-sandbox apply path/to/root-module")
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping")
    return 0


def terraform_command(command: str, argv: list[str]) -> int:
    """`apply DIR`, `destroy DIR` or `terraform DIR ARGS...` against the sandbox that `up` started."""
    from . import terraform
    from .aws import REGION

    parser = argparse.ArgumentParser(
        prog=f"circuit-sandbox {command}",
        description={
            "apply": "terraform init and apply DIR into the sandbox; prints its outputs as JSON.",
            "destroy": "terraform destroy what `circuit-sandbox apply DIR` created.",
            "terraform": "Run terraform ARGS in DIR against the sandbox (e.g. plan, output -json, state list).",
        }[command],
        epilog="Other arguments go to terraform as they are (-var NAME=VALUE, -var-file=FILE, -target=...). "
        "The state of what DIR applied into the sandbox is kept apart from any state of DIR's own.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="a root module (a folder of .tf files)")
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{DEFAULT_PORT}",
        help="the sandbox (default: AWS_ENDPOINT_URL, else %(default)s)",
    )
    args, rest = parser.parse_known_args(argv)
    directory = args.directory.resolve()
    if not directory.is_dir() or not any(directory.glob("*.tf")):
        parser.error(f"{args.directory} is not a folder of .tf files")
    if command == "terraform" and not rest:
        parser.error("say which terraform command to run, e.g. `plan` or `output -json`")
    if not _reachable(args.endpoint):
        parser.error(f"no sandbox answers at {args.endpoint}: start one with `circuit-sandbox up`")
    terraform_args = tuple(_absolute_var_files(rest))
    stand_in = terraform.stand_in_provider()
    try:
        if command == "apply":
            outputs = terraform.apply(
                args.endpoint, {}, _stderr, directory=directory, args=terraform_args, region=REGION
            )
            print(json.dumps(outputs, indent=2))
        elif command == "destroy":
            terraform.destroy(args.endpoint, {}, _stderr, directory=directory, args=terraform_args, region=REGION)
        else:
            if terraform_args[0] != "init":
                stand_in.run(directory, args.endpoint, "init", "-input=false", region=REGION)
            result = stand_in.run(directory, args.endpoint, *terraform_args, region=REGION)
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            return int(result.retcode)
    except stand_in.TerraformError as failed:
        print(str(failed), file=sys.stderr)
        return 1
    return 0


def _stderr(line: str) -> None:
    print(f"terraform: {line}", file=sys.stderr)


def _absolute_var_files(args: list[str]) -> list[str]:
    """Terraform runs in DIR: a -var-file relative to where the user stands is made absolute."""
    fixed = []
    for arg in args:
        if arg.startswith("-var-file="):
            arg = f"-var-file={Path(arg.split('=', 1)[1]).resolve()}"
        fixed.append(arg)
    return fixed


def _reachable(endpoint: str) -> bool:
    """Whether something listens at `endpoint` (host and port)."""
    address = urllib.parse.urlsplit(endpoint)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
