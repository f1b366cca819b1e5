"""The benchmark report says plainly which targets are met and which are missed, and why."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from circuit_bench import costs, designs, discrimination, experiments, measurements, promises, targets
from circuit_bench.report import markdown
from circuit_bench.simulation import Deployment
from circuit_sandbox.aws.cloudwatch import Scheduler
from circuit_sandbox.stack import Stack


@pytest.fixture(scope="module")
def applied() -> Iterator[tuple[Stack, Deployment]]:
    """The module's defaults, applied once for the module by Terraform into moto, and read back."""
    instances = {discrimination.CIRCUIT: discrimination.INSTANCES[discrimination.CIRCUIT]}
    with discrimination.applied(instances) as stacks:
        stack = stacks[discrimination.CIRCUIT]
        yield stack, Deployment.described(stack)


@pytest.fixture
def assumptions(applied) -> dict:
    return experiments.assumptions(applied[1])


HEALTHY = ["ReadCircuit", "Route", "CallDownstream", "ReadAfterCall", "Settle"]
CHECKED = ["ReadCircuit", "Route", "CheckCircuit", "Decide", "ShortCircuit"]


def path(states, invocations, module, reads=2, writes=0) -> dict:
    return {
        "states": states,
        "eventual reads": 0,
        "strong reads": reads,
        "writes": writes,
        "module invocations": module,
        "invocations": invocations,
        "seconds": 0.055,
    }


def simulation(assumptions: dict) -> dict:
    paths = {
        "healthy": path(HEALTHY, 1, 0),
        "short-circuited (timed OPEN)": path(CHECKED, 1, 1, reads=2),
        "short-circuited (forced open)": path(["ReadCircuit", "Route", "ForcedOpen", "ShortCircuit"], 0, 0),
    }
    totals = {
        " → ".join(HEALTHY): {
            "calls": 10,
            "eventual reads": 0,
            "strong reads": 20,
            "writes": 0,
            "invocations": {"downstream": 10},
            "billed 100 ms": 10,
        }
    }
    cells = [
        {
            "rate": rate,
            "background": background,
            "minutes": 10,
            "calls": 6000,
            "trips": 0,
            "in-band trips": 0,
            "alarm trips": 0,
            "trips per hour": 0,
            "reference trips": 2,
            "reference trips per hour": 12,
            "short-circuited share": 0,
            "downstream concurrency": 0.5,
            "module invocations per call": 0.1,
            "alarm notifications": ["OK"],
            "routes": {},
            "path totals": totals,
            "alarm handler": {},
            "cost per million calls": {"EXPRESS": 1.2, "STANDARD": 75},
            "count reached": {1: 600, 2: 30, 3: 2},
            "expected per hour": {"in band": 1e-9, "alarm": 1e-5, "reference": 1e-3},
        }
        for rate in (10, 1000)
        for background in (0.05, 0.10)
    ]
    outage = {
        "tripped": True,
        "seconds to OPEN": 1.5,
        "tripped by": "in-band",
        "failed calls": 6,
        "calls in flight when the first failure came back": 1,
        "calls in flight at the trip": 2,
        "bound": 13,
        "calls after the trip not short-circuited": 0,
    }
    outages = [
        {"variant": variant, "rate": rate, "failure rate": 1.0, **outage}
        for variant in experiments.TOTAL_OUTAGES
        for rate in (10, 1000)
    ]
    outages += [
        {"variant": "partial", "rate": rate, "failure rate": share, **outage, "tripped by": "alarm", "phase": 0.5}
        for rate in (10, 1000)
        for share in experiments.PARTIAL_OUTAGES.values()
    ]
    outages += [
        {"variant": experiments.slow_variant(t), "rate": rate, "failure rate": 1.0, **outage, "seconds to OPEN": t + 1}
        for t in experiments.SLOW_FAILURES
        for rate in experiments.SLOW_RATES
    ]
    return {
        "assumptions": assumptions,
        "paths": paths,
        "cells": cells,
        "outages": outages,
        "replay": {
            "calls": 3,
            "simulated calls": 3,
            "failing calls": 1,
            "trips": 1,
            "differences": [],
            "routes": {" → ".join(HEALTHY): 3},
        },
        "costs": experiments.cost_rows(paths, assumptions["latency"], 256),
        "circuit ceiling": experiments.circuit_ceiling(paths, cells),
        "alarm trade-off": [],
        "reference per hour": {},
        "partial expected": {"0.5 at 10/s": 110.0, "0.5 at 100/s": 100.0, "0.5 at 1000/s": 90.0, "0.25 at 10/s": 140.0},
        "prices": costs.prices(),
    }


def figures(assumptions: dict, **changes) -> dict:
    base = {
        "date": "2026-11-26",
        "machine": "test",
        "time_scale": 20,
        "seconds": 1,
        "simulation seconds": 0.5,
        "simulation": simulation(assumptions),
        "paths": {"this module": {"healthy": {"reads": 2, "writes": 0, "invocations": 1, "states": 5}}},
        "outage": {
            f"this module @ {rate}/s": {
                "downstream calls after outage began": 6,
                "calls before OPEN": 5,
                "seconds to OPEN": 0.5,
                "achieved rate": rate,
            }
            for rate in (1, 10)
        },
        "recovery": {"x": 1},
        "probes_with_100_callers": 1,
        "cold_start_ratio_to_boto3": {"import boto3 (ms)": 100, "check_circuit": 0.5},
        "package_bytes": {"check_circuit": 100},
    }
    return base | changes


def test_the_assumptions_are_what_terraform_applied(applied, assumptions):
    stack, _ = applied
    settings = stack.settings()
    assert assumptions["failure_threshold"] == settings.failure_threshold
    assert assumptions["open_duration_seconds"] == settings.open_duration_seconds
    alarm = stack.alarm("downstream")
    assert assumptions["downstream alarm"] == experiments.describe_alarm(alarm)
    assert (
        f"{alarm['Threshold']:g} in {alarm['DatapointsToAlarm']} of {alarm['EvaluationPeriods']}"
        in (assumptions["downstream alarm"])
    )
    configuration = stack.lambda_client.get_function_configuration(FunctionName=stack.function_names["check_circuit"])
    assert assumptions["lambda_memory_size"] == configuration["MemorySize"]
    described = stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)
    assert assumptions["type"] == described["type"]


def test_met_targets_read_met(assumptions):
    found = targets.evaluate(figures(assumptions))
    assert found and all(target.met for target in found), [t for t in found if not t.met]
    rendered = markdown(figures(assumptions))
    assert all(f"| {t.name} | {t.bound} | {t.figure} | **met** |" in rendered for t in found)
    assert "Why the missed targets" not in rendered


def test_missed_targets_read_missed_with_the_mechanism(assumptions):
    bad = figures(assumptions, probes_with_100_callers=2)
    simulated = bad["simulation"] = copy.deepcopy(bad["simulation"])
    simulated["cells"][0]["trips"] = 1  # 10/s at 5 %
    simulated["cells"][1]["expected per hour"]["alarm"] = 0.5  # 10/s at 10 %: above the reference
    half = next(o for o in simulated["outages"] if o["variant"] == "partial" and o["failure rate"] == 0.5)
    half["seconds to OPEN"] = 150.5
    total = [o for o in simulated["outages"] if o["variant"] in experiments.TOTAL_OUTAGES and o["rate"] == 1000]
    total[0].update({"failed calls": 140, "bound": 98})
    slow = next(o for o in simulated["outages"] if o["variant"] == "failures in 30 s")
    slow["seconds to OPEN"] = 61.0  # twice the failures' duration: counted too late
    simulated["paths"]["healthy, after the alarm's first OK notification"] = path([*CHECKED, "X"], 2, 1)
    missed = {t.name: t for t in targets.evaluate(bad) if not t.met}
    assert list(missed) == [
        "no false trips",
        "noise at 10 % and 20 %",
        "total outage",
        "slow failures",
        "partial outages",
        "healthy call",
        "one probe",
    ]
    assert "10/s 5 %: 1 in 0.2 h" in missed["no false trips"].figure
    assert "10/s 10 %: 0.5 vs 1.0e-03" in missed["noise at 10 % and 20 %"].figure
    assert "1000/s: 140 vs 98" in missed["total outage"].figure  # the worst total-outage run
    assert "T = 30 s at 10/s: slowest 61 s" in missed["slow failures"].figure
    assert "50 %: slowest 150.5 s" in missed["partial outages"].figure
    assert "120 s for 50 %" in missed["partial outages"].bound
    healthy = missed["healthy call"].figure
    assert "after the alarm's first OK notification: 2 read(s), 0 writes, 1 module invocations, 6 states" in healthy
    assert "The downstream alarm at 10/s 10 % (0.5 per hour)" in missed["noise at 10 % and 20 %"].why
    assert "a failure was lost or counted late" in missed["total outage"].why
    assert "counted" in missed["slow failures"].why and "ReturnDownstreamResult" in missed["healthy call"].why
    rendered = markdown(bad)
    assert (
        "| one probe | 1 probe admitted with 100 concurrent callers past the open duration | 2 | **MISSED** |"
        in rendered
    )
    assert "### Why the missed targets are missed" in rendered
    assert all(f"- {name}: {target.why}" in rendered for name, target in missed.items())


def test_an_outage_that_began_with_the_circuit_open_is_within_its_bound_and_one_that_never_opened_is_not(assumptions):
    threshold = assumptions["failure_threshold"]
    checked_by = {next(iter(experiments.TOTAL_OUTAGES)): "total outage", experiments.slow_variant(30): "slow failures"}
    for variant, target in checked_by.items():
        # Fewer failed calls than failure_threshold: the circuit was open from the start (a closed one fails them all).
        for failed, met in ((threshold - 1, True), (threshold, False)):
            run = figures(assumptions)
            simulated = run["simulation"] = copy.deepcopy(run["simulation"])
            outage = next(o for o in simulated["outages"] if o["variant"] == variant)
            outage.update({"tripped": False, "failed calls": failed})
            del outage["seconds to OPEN"]  # as the simulator leaves a run that did not trip
            found = {t.name: t.met for t in targets.evaluate(run)}
            assert found[target] is met, (variant, failed)
            said = " ".join(promises.promises(run)[:2])
            assert ("began with the circuit already open" in said) is met and ("never opened" in said) is not met
            assert ("not always within T + 2 s" in said) is (target == "slow failures" and not met)
            rendered = markdown(run)
            assert (" (1 already open) |" in rendered) is met


def test_a_missed_sandbox_target_says_which_way_it_missed(assumptions):
    none, two = (targets.one_probe(figures(assumptions, probes_with_100_callers=n)) for n in (0, 2))
    assert not none.met and "No caller was admitted" in none.why
    assert not two.met and "more than one caller" in two.why
    slow = figures(assumptions)
    slow["paths"] = {"this module": {"healthy": {"invocations": 1, "reads": 3, "writes": 0, "states": 6}}}
    healthy = targets.sandbox_healthy_call(slow)
    assert not healthy.met and healthy.why.startswith("Past the bound: reads, states.")


def test_the_cost_of_a_path_is_its_counted_operations_times_the_prices():
    healthy = {
        "states": 3,
        "eventual reads": 1,
        "strong reads": 0,
        "writes": 0,
        "module invocations": 0,
        "billed 100 ms": 1,
    }
    express = costs.per_million(healthy, "EXPRESS", 256, 0.02)
    standard = costs.per_million(healthy, "STANDARD", 256, 0.02)
    read = 0.5 * costs.DYNAMODB_PER_READ_UNIT * 1e6
    assert standard == pytest.approx(3 * costs.STANDARD_PER_TRANSITION * 1e6 + read)
    express_request = costs.EXPRESS_PER_REQUEST + 0.1 * 64 / 1024 * costs.EXPRESS_PER_GB_SECOND
    assert express == pytest.approx(express_request * 1e6 + read)
    checked = costs.per_million({**healthy, "module invocations": 1}, "EXPRESS", 256, 0.02)
    invocation = costs.LAMBDA_ARM64_PER_REQUEST + 256 / 1024 * 0.02 * costs.LAMBDA_ARM64_PER_GB_SECOND
    assert checked - express == pytest.approx(invocation * 1e6)


def test_one_circuit_carries_its_items_units_over_the_units_each_call_uses(assumptions):
    healthy = costs.item_ceiling({"eventual reads": 0, "strong reads": 2, "writes": 0})
    assert healthy["calls/s by reads"] == costs.PARTITION_READ_UNITS_PER_SECOND / 2
    assert healthy["calls/s by writes"] is None and healthy["calls/s"] == healthy["calls/s by reads"]
    # Eventually consistent reads take half a unit; here the writes bind first.
    busy = costs.item_ceiling({"eventual reads": 1, "strong reads": 2, "writes": 0.9})
    assert busy["read units per call"] == 2.5 and busy["write units per call"] == 0.9
    assert busy["calls/s"] == busy["calls/s by writes"] == pytest.approx(costs.PARTITION_WRITE_UNITS_PER_SECOND / 0.9)
    assert busy["calls/s by reads"] == costs.PARTITION_READ_UNITS_PER_SECOND / 2.5
    # The healthy path, then the fastest rate's cells, one per background error share.
    simulated = simulation(assumptions)
    rows = experiments.circuit_ceiling(simulated["paths"], simulated["cells"])
    assert [(row["rate"], row["background"]) for row in rows] == [(None, None), (1000, 0.05), (1000, 0.10)]
    rendered = markdown(figures(assumptions))
    assert "| healthy | 2.00 | 0.000 | 1,500 | — | **1,500** |" in rendered
    assert "| 5 % failing, at 1,000/s | 2.00 | 0.000 | 1,500 | — | **1,500** |" in rendered


def test_the_promises_say_what_the_run_measured_and_where_it_fell_short(assumptions):
    met = figures(assumptions)
    said = promises.promises(met)
    total = len([o for o in met["simulation"]["outages"] if o["variant"] in experiments.TOTAL_OUTAGES])
    assert f"and no call admitted after the circuit opened reaches the downstream: so in all {total}" in said[0]
    assert "The circuit opened within 1.5 s at 10 calls/s and 1.5 s at 1,000 calls/s." in said[0]
    assert "within T + 2 s at 10 calls/s and more (slowest of 4 simulated: 4.0 s for T = 3 s and 31.0 s" in said[1]
    assert "a 50 % outage opened the circuit within 1.5 s and a 25 % one within 1.5 s, wherever" in said[2]
    assert "the alarm's worst is 110 s for 50 %." in said[2]  # 25 % at 100 and 1000/s: none given
    assert "no trips in" in said[3] and "pays for the alarm's speed" not in said[3]
    # Missed: one run over the bound and one letting a call through after OPEN (the same run counts once); a slow
    # outage late and one never open; a partial outage never open; an alarm too noisy.
    bad = figures(assumptions)
    simulated = bad["simulation"] = copy.deepcopy(bad["simulation"])
    outages = simulated["outages"]
    total_runs = [o for o in outages if o["variant"] in experiments.TOTAL_OUTAGES]
    total_runs[0].update({"failed calls": 40, "calls after the trip not short-circuited": 1})
    total_runs[1]["calls after the trip not short-circuited"] = 2
    total_runs[2].update({"tripped": False, "seconds to OPEN": None, "failed calls": 1})  # open from a false trip
    slow = [o for o in outages if o["variant"] == experiments.slow_variant(30)]
    slow[0]["seconds to OPEN"] = 61.0
    slow[1].update({"tripped": False, "seconds to OPEN": None, "failed calls": 50})
    next(o for o in outages if o["variant"] == "partial" and o["failure rate"] == 0.25)["tripped"] = False
    simulated["cells"][1]["expected per hour"]["alarm"] = 0.5  # 10/s at 10 %
    simulated["cells"][3]["expected per hour"]["alarm"] = 1.0  # 1000/s at 10 %
    said = promises.promises(bad)
    assert "should reach the downstream (2 runs let one through): so in" in said[0]
    assert f"so in {total - 2} of {total}" in said[0]  # a run that began open is within the bound
    assert f"; 1 of {total} began with the circuit already open, from a false trip before the outage." in said[0]
    assert "never opened" not in said[0]
    assert "though not always within T + 2 s at 10 calls/s and more: 1 of 4 simulated opened later" in said[1]
    assert "61.0 s for T = 30 s; 1 of 4 never opened)" in said[1]
    assert "a 25 % one in 1 of 2 of the runs starting at 12 points" in said[2] and "wherever" not in said[2]
    assert "0.5 trips an hour at 10 calls/s with 10 % failing (a strictly consecutive counter: 1.0e-03)" in said[3]
    assert "1 trip an hour at 1,000 calls/s with 10 % failing" in said[3]


def test_the_promises_go_between_the_readmes_markers_only(assumptions):
    readme = "# A\n\n<!-- promises: written by make bench -->\n- old\n<!-- end of promises -->\n\n## B\n"
    written = promises.into_readme(readme, figures(assumptions))
    before, block = written.split("<!-- promises: written by make bench -->\n")
    assert before == "# A\n\n" and block.endswith("<!-- end of promises -->\n\n## B\n")
    assert "- old" not in block and block.count("\n- ") + block.startswith("- ") == 4
    assert promises.into_readme("# no markers\n", figures(assumptions)) == "# no markers\n"
    assert promises.markdown(figures(assumptions))[0] == "## In short"


def test_package_sizes_are_the_zips_terraform_deployed(applied):
    stack, _ = applied
    sizes = measurements.package_sizes(stack)
    assert set(sizes) == {"check_circuit", "record_outcome", "alarm_handler"}
    assert all(1_000 < size < 100_000 for size in sizes.values())
    deployed = stack.lambda_client.get_function(FunctionName=stack.function_names["record_outcome"])
    assert sizes["record_outcome"] == deployed["Configuration"]["CodeSize"]


def test_the_designs_keep_alarm_periods_and_schedules_aws_accepts():
    for name, design in designs.designs().items():
        healthcheck = design.get("healthcheck") or {}  # False: none
        periods = {
            "downstream_alarm": design.get("downstream_alarm", {}).get("period"),
            "healthcheck.alarm": healthcheck.get("alarm", {}).get("period"),
        }
        for alarm, period in periods.items():
            assert period is None or period % 60 == 0, (name, alarm, period)
        schedule = healthcheck.get("schedule_expression")
        assert schedule is None or Scheduler.interval(schedule) >= 60, (name, schedule)
