"""The simulator behind the benchmark's discrimination figures.

It must take the same route and leave the same circuit as the real definition and handlers
in moto, call by call; and it must show the two things it exists to show: an outage trips
the circuit, background-free traffic never does.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from circuit_bench import alarm_odds, discrimination, simulation
from circuit_bench.asl import StateMachine, TaskFailed
from circuit_bench.simulation import Deployment, Simulation, quiet_telemetry
from circuit_sandbox.stack import Stack


@pytest.fixture(scope="module")
def applied() -> Iterator[tuple[str, dict[str, Stack], dict[str, Deployment]]]:
    """One apply of circuit_sandbox/instances for the module: the module's defaults, and the replay's instance."""
    with discrimination.applied() as stacks:
        yield os.environ["AWS_ENDPOINT_URL"], stacks, discrimination.described(stacks)


@pytest.fixture
def defaults(applied) -> Deployment:
    """The module's defaults, as Terraform applied them; through a pickle, as the benchmark's workers get them."""
    deployment: Deployment = pickle.loads(pickle.dumps(applied[2][discrimination.CIRCUIT]))
    return deployment


def test_the_deployment_is_what_the_emulator_holds(applied):
    _, stacks, deployments = applied
    for name, stack in stacks.items():
        deployment = deployments[name]
        assert json.loads(deployment.definition)["StartAt"]  # the ASL, not its template
        assert "${" not in deployment.definition
        assert Simulation(deployment).settings == stack.settings()
        assert set(deployment.function_arns.values()) <= set(_task_functions(deployment.definition)) | {
            deployment.function_arns["alarm_handler"]
        }
        assert deployment.downstream_alarm is not None
        assert deployment.alarm_name == stack.alarm_names["downstream"]
    replay = deployments[discrimination.REPLAY].environment
    assert replay != deployments[discrimination.CIRCUIT].environment  # each instance its own settings
    assert Simulation(deployments[discrimination.REPLAY]).settings.open_duration_seconds == (
        discrimination.REPLAY_OPEN_SECONDS
    )


def _task_functions(definition: str) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("FunctionName"), str):
                found.append(value["FunctionName"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(definition))
    return found


def test_the_simulator_takes_the_sandbox_route_and_leaves_the_same_circuit_on_every_call(applied, monkeypatch):
    endpoint, stacks, deployments = applied
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the handlers this process loads talk to the applied moto
    replay = discrimination.replay(stacks[discrimination.REPLAY], deployments[discrimination.REPLAY], seed=11, calls=60)
    assert replay["calls"] == replay["simulated calls"] >= 60
    assert replay["differences"] == []
    routes = " ".join(replay["routes"])  # the scenario went everywhere that matters
    for state in ("RecordFailure", "RecordSuccess", "ShortCircuit", "ForcedOpen", "CallDownstreamAndRecord"):
        assert state in routes
    assert replay["trips"] >= 2


def test_a_total_outage_fails_at_most_the_threshold_and_what_was_in_flight_whatever_reads_lag(defaults):
    """failure_threshold, plus the calls in flight when the first failure came back and when the circuit opened;
    with eventually consistent reads up to 1 s old, nothing admitted after the trip reaches the downstream."""
    threshold = Simulation(defaults).settings.failure_threshold
    for seed in range(3):
        run = discrimination.outage(defaults, rate=100, failure_rate=1.0, seed=seed, background=0.0, lag=1.0)
        assert run["tripped"] and run["tripped by"] == "in-band"
        assert threshold <= run["failed calls"] <= run["bound"]
        assert run["calls after the trip not short-circuited"] == 0


def test_failures_that_take_seconds_open_the_circuit_about_that_long_after_the_outage_starts(defaults):
    """Counting in completion order: a hanging dependency trips about T after the outage starts, not 2T."""
    for seconds in (3.0, 10.0):
        run = discrimination.outage(
            defaults, rate=10, failure_rate=1.0, seed=4, background=0.0, failure_seconds=seconds, lag=1.0
        )
        assert run["tripped by"] == "in-band"
        assert seconds <= run["seconds to OPEN"] <= seconds + 2


def test_the_failure_that_reaches_the_threshold_waits_for_the_reset_of_a_success_that_completed_first(defaults):
    """failure_threshold - 1 failures pending; a success completes, then, a millisecond later, a failure. The failure
    is counted before the success's reset lands (ResetFailures follows the read after the call); the trip waits for
    it, and the count that stands is this one failure. Without the wait the circuit would open on it."""
    with quiet_telemetry():
        sim = Simulation(defaults)
        threshold, circuit = sim.settings.failure_threshold, sim.settings.circuit_name
        sim.arrivals([sim.now + n for n in range(threshold - 1)], fails=True)
        assert int(sim.item()["failure_count"]) == threshold - 1
        start = sim.now + 1
        sim.arrivals([start, start + 0.001], fails=[False, True])
        settled = sim.item()
        assert sim.trips() == []
        assert (settled["state"], int(settled["failure_count"])) == ("CLOSED", 1), circuit


def test_traffic_without_errors_never_trips_and_never_writes_per_call(defaults):
    cell = discrimination.cell(defaults, rate=100, background=0.0, minutes=3, seed=5)
    assert cell["calls"] > 10_000
    assert cell["trips"] == cell["reference trips"] == 0
    assert cell["short-circuited share"] == 0
    assert cell["alarm notifications"] == ["OK"]  # the new alarm's first evaluation, then nothing
    assert all(totals["writes"] == 0 for totals in cell["path totals"].values())


def test_a_choice_on_a_missing_path_fails_the_execution_as_step_functions_does():
    machine = StateMachine(
        {
            "StartAt": "Pick",
            "States": {
                "Pick": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a.b", "StringEquals": "x", "Next": "Done"}],
                    "Default": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    execution = machine.run({"a": {}}, "test")
    with pytest.raises(StopIteration) as stopped:
        next(execution)
    assert (stopped.value.value.status, stopped.value.value.error) == ("FAILED", "States.Runtime")


def test_a_caught_task_error_goes_where_the_catcher_says_with_the_error_at_its_result_path():
    machine = StateMachine(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "End": True,
                },
                "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
            },
        }
    )
    execution = machine.run({"k": 1}, "test")
    next(execution)
    with pytest.raises(StopIteration) as stopped:
        execution.throw(TaskFailed("Boom", "why"))
    finished = stopped.value.value
    assert (finished.states, finished.error, finished.cause) == (["Call", "Failed"], "Boom", "why")


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Map", "ItemProcessor": {}, "End": True},
        {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}], "Default": "X"},
        {"Type": "Pass", "Parameters": {"v.$": "States.Format('{}', $.a)"}, "End": True},
    ],
)
def test_what_the_interpreter_does_not_implement_is_refused_when_the_definition_is_loaded(state):
    with pytest.raises(ValueError):
        StateMachine({"StartAt": "X", "States": {"X": state}})


def test_an_alarm_notification_trips_the_simulated_circuit_as_the_alarm_handler_would(defaults):
    with quiet_telemetry():
        sim = Simulation(defaults)
        sim.call(False)
        outcome = sim.alarm_notification(defaults.alarm_name, "ALARM", int(sim.now * 1000))
        short = sim.call(False)
    assert outcome == "CLOSED -> OPEN"
    assert [(t.from_state, t.to_state, t.origin) for t in sim.trips()] == [(None, "OPEN", "alarm")]
    assert short.short_circuited and not short.reached_downstream
    assert json.dumps(sim.item()["reason"]).count("ALARM") == 1


def test_the_simulated_default_alarm_trips_no_later_than_its_expected_worst_phase(defaults):
    default = alarm_odds.RateAlarm.of(defaults.downstream_alarm)
    delay = simulation.ALARM_EVALUATION_DELAY + simulation.NOTIFICATION_DELAY
    seconds, phase = alarm_odds.worst_phase_seconds(default, 10, 0.5, discrimination.LEAD_IN_BACKGROUND, delay)
    # Past the worst phase, the outage's first (partial) minute stays well below the threshold.
    run = discrimination.outage(defaults, rate=10, failure_rate=0.5, seed=5, phase=min(0.99, phase + 0.1))
    assert run["tripped"]
    # In band may trip first; the alarm trips at the end of a minute (the first whole one), plus the delays.
    assert run["seconds to OPEN"] <= seconds + 1
    if run["tripped by"] == "alarm":
        ends = [60 * (1 - run["phase"]) + delay, 60 * (1 - run["phase"]) + 60 + delay]
        assert min(abs(run["seconds to OPEN"] - end) for end in ends) <= 1, (run["seconds to OPEN"], ends)
