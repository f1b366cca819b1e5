"""`circuit-bench`: cost per call, discrimination, time to trip and to recover, cold start.

One pipeline, one module a step, in the order `run` takes them:
- `experiments`: the simulator (circuit_bench.simulation, circuit_bench.discrimination), the real circuit code
  and the definition Terraform deployed on a virtual clock, for hours of traffic at up to 1000 calls/s. It
  applies its own instances and is first checked against the real definition in moto, call by call;
- `designs`: the module instances the sandbox measures (this module's defaults, the seed article's design),
  applied by the real Terraform in one go (circuit_sandbox/instances);
- `measurements`: what only the sandbox can show (moto on loopback, handlers in worker processes): alarm
  recovery, probes under 100 callers, the seed and Powertools peers, the emulator's ceiling, cold start and
  package sizes. Alarm periods keep values AWS accepts and run TIME_SCALE times faster; figures that depend
  on them are scaled back to AWS time and say so;
- the figures, as JSON (`--json`), with the digest of the code that produced them (`provenance`) and the
  targets' verdicts;
- `targets`: every promise as data (name, bound, figure, met, why), read from the figures;
- `report`: docs/benchmarks.md, rendered from the figures and the targets (`--from-json` renders an earlier run).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from circuit_sandbox.aws import emulator
from circuit_sandbox.stack import instances_warmed
from circuit_sandbox.terraform import ROOT

from . import promises, provenance
from .designs import PERIOD_SECONDS, RATES, TIME_SCALE, designs
from .experiments import simulate
from .measurements import (
    THROUGHPUT_RATES,
    cold_start,
    deployed_functions,
    outage_module,
    outage_powertools,
    package_sizes,
    paths,
    probes,
    recovery,
    throughput,
)
from .report import markdown
from .targets import evaluate

DEFAULT_MARKDOWN = ROOT / "docs" / "benchmarks.md"


def run() -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "time_scale": TIME_SCALE,
        "sources": provenance.digest(ROOT),  # before measuring: the figures are this code's
    }
    report["simulation"] = simulate()  # before the emulator: its check against moto runs moto in this process
    report["simulation seconds"] = round(time.monotonic() - started, 1)
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as folder:
        with emulator(max_environments=10, alarm_interval=0.25, time_scale=TIME_SCALE) as emu:
            stacks = instances_warmed(emu, designs(), echo=print)
            report["paths"] = {"this module": paths(emu, stacks)}
            report["outage"] = {}
            for rate in RATES:
                report["outage"][f"this module @ {rate}/s"] = outage_module(emu, stacks["outage"], rate, window=8)
                seed = outage_module(emu, stacks[f"seed-outage-{rate}"], rate, window=8 * PERIOD_SECONDS)
                if seed["seconds to OPEN"] is not None:
                    seed["seconds to OPEN (AWS-equivalent)"] = round(seed["seconds to OPEN"] * TIME_SCALE)
                report["outage"][f"seed design @ {rate}/s"] = seed
                for environments in (1, 10):
                    report["outage"][f"Powertools, {environments} env @ {rate}/s"] = outage_powertools(
                        emu, stacks["outage"], environments, rate, window=8
                    )
            report["throughput"] = {f"{rate}/s": throughput(emu, stacks["healthy"], rate) for rate in THROUGHPUT_RATES}
            report["recovery"] = recovery(stacks)
            report["probes_with_100_callers"] = probes(emu, stacks["probing"])
            report["package_bytes"] = package_sizes(stacks["outage"])
            functions = deployed_functions(emu, stacks["outage"], Path(folder))
        # Once the emulator has stopped: nothing else competes for the CPU while the interpreters start.
        report["cold_start_ratio_to_boto3"] = cold_start(functions)
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="circuit-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, metavar="PATH", help="render an earlier run's figures instead")
    parser.add_argument("--json", type=Path, dest="json_path", metavar="PATH", help="write the figures as JSON")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=DEFAULT_MARKDOWN,
        help="where to write the report (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        help="whose promises to write between its markers (default README.md, when the report goes to its default)",
    )
    args = parser.parse_args(argv)
    report = json.loads(args.from_json.read_text()) if args.from_json else run()
    text = markdown(report)
    print(text)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    print(f"Written: {args.markdown}")
    readme_path = args.readme or (ROOT / "README.md" if args.markdown == DEFAULT_MARKDOWN else None)
    if readme_path and (updated := promises.into_readme(readme := readme_path.read_text(), report)) != readme:
        readme_path.write_text(updated)
        print(f"Promises written: {readme_path}")
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        verdicts = [dataclasses.asdict(target) | {"verdict": target.verdict} for target in evaluate(report)]
        args.json_path.write_text(json.dumps(report | {"targets": verdicts}, indent=2))
        print(f"Figures: {args.json_path}")
    return 0
