"""The circuit rules of SPEC section 2, one behaviour per test, against moto's DynamoDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from circuit_breaker.breaker import (
    CALL,
    CALL_AND_RECORD,
    RAMP_SHARES,
    SHORT_CIRCUIT,
    TRIP_SETTLE_SECONDS,
    Breaker,
    EvenDraws,
    ramp_step,
)
from circuit_breaker.exceptions import CircuitNotFound, ConfigurationError, StoreError
from circuit_breaker.model import CLOSED, FORCED_CLOSED, FORCED_OPEN, FORCED_OPEN_OWNER, HALF_OPEN, OPEN, STATES
from circuit_breaker.settings import Settings

CIRCUIT = "orders"
T0 = "2027-01-15T08:00:00.000+0000"


def trip(breaker: Breaker, failures: int | None = None) -> None:
    for _ in range(failures or breaker.settings.failure_threshold):
        decision = breaker.check(CIRCUIT, "caller")
        breaker.record(CIRCUIT, decision.generation, decision.probe, "DependencyUnavailable", decision.failures_seen)


def millis(clock) -> int:
    return int(clock.now * 1000)


# ---------------------------------------------------------------- trip


def test_healthy_circuit_is_called_without_any_write(make_breaker):
    breaker = make_breaker()
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.state, decision.generation) == (CALL, CLOSED, 0)
    assert breaker.store.client.calls.get("update_item", 0) == 0


def test_trips_after_exactly_failure_threshold_consecutive_failures(make_breaker):
    breaker = make_breaker(failure_threshold=3)
    trip(breaker, 2)
    assert breaker.store.read(CIRCUIT).state == CLOSED
    trip(breaker, 1)
    circuit = breaker.store.read(CIRCUIT)
    assert (circuit.state, circuit.generation, circuit.failure_count) == (OPEN, 1, 3)
    assert circuit.reason == "3 consecutive failures (last: DependencyUnavailable)"


def test_the_failure_that_reaches_the_threshold_trips_only_if_the_count_still_stands_after_a_wait(make_breaker):
    """A success that completed before the threshold-th failure takes the pending failures off a moment after its
    read (ResetFailures). The failure waits for such resets, then trips only if the count still stands."""
    breaker = make_breaker(failure_threshold=3)
    trip(breaker, 2)
    waits = []

    def a_reset_lands_meanwhile(seconds: float, then):
        waits.append(seconds)
        # The state machine's ResetFailures of a success that read the two failures pending before this one.
        breaker.store.client.update_item(
            TableName=breaker.store.table_name,
            Key={"id": {"S": CIRCUIT}},
            UpdateExpression="SET #count = #total - :seen, #cleared = :seen",
            ExpressionAttributeNames={
                "#count": "failure_count",
                "#total": "failures_total",
                "#cleared": "failures_cleared",
            },
            ExpressionAttributeValues={":seen": {"N": "2"}},
        )
        return then()

    breaker.defer = a_reset_lands_meanwhile
    assert breaker.record(CIRCUIT, 0, False, "Boom") == "not tripped: reset or tripped meanwhile"
    assert waits == [TRIP_SETTLE_SECONDS]
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.failure_count) == (CLOSED, 1)  # the failure itself stays counted
    breaker.defer = lambda seconds, then: then()  # nothing lands: the count stands and trips
    trip(breaker, 2)
    assert breaker.store.read(CIRCUIT, consistent=True).state == OPEN


def test_failures_pending_still_call_directly_and_a_success_is_left_to_the_state_machine(make_breaker):
    """The state machine reads the circuit after every success and resets pending failures itself
    (ResetFailures, tested against the deployed definition); the state check only says how many it saw."""
    breaker = make_breaker(failure_threshold=3)
    trip(breaker, 2)
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.failures_seen) == (CALL, 2)
    assert breaker.record(CIRCUIT, decision.generation, False, None, decision.failures_seen) == "nothing to reset"
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.failure_count) == (CLOSED, 2)
    item = breaker.store.client.get_item(TableName=breaker.store.table_name, Key={"id": {"S": CIRCUIT}})["Item"]
    # What a success's reset reads and is conditioned on.
    assert (item["failures_total"], item["generation"]) == ({"N": "2"}, {"N": "0"})


def test_an_ignored_error_neither_counts_nor_resets(make_breaker):
    breaker = make_breaker(failure_threshold=2, ignored_errors=frozenset({"ValidationError"}))
    trip(breaker, 1)
    assert breaker.record(CIRCUIT, 0, False, "ValidationError") == "ignored"
    assert breaker.store.read(CIRCUIT).failure_count == 1
    trip(breaker, 1)
    assert breaker.store.read(CIRCUIT).state == OPEN


def test_with_counted_errors_only_the_listed_errors_count(make_breaker):
    breaker = make_breaker(failure_threshold=2, counted_errors=frozenset({"DependencyUnavailable"}))
    trip(breaker, 1)
    # Any other error is as an ignored one: no count, no reset.
    assert breaker.record(CIRCUIT, 0, False, "ValidationError") == "ignored"
    assert breaker.record(CIRCUIT, 0, False, "States.Timeout") == "ignored"
    assert breaker.store.read(CIRCUIT).failure_count == 1
    trip(breaker, 1)
    assert breaker.store.read(CIRCUIT).state == OPEN


def test_counted_and_ignored_errors_together_are_refused():
    with pytest.raises(ConfigurationError, match="counted_errors or ignored_errors, not both"):
        Settings(
            table_name="circuits",
            circuit_name=CIRCUIT,
            ignored_errors=frozenset({"ValidationError"}),
            counted_errors=frozenset({"DependencyUnavailable"}),
        )


def test_concurrent_failures_trip_exactly_once(make_breaker):
    breaker = make_breaker(failure_threshold=5)
    breaker.record(CIRCUIT, 0, False, "Boom", 0)  # the count started: the calls below were admitted at 1
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda _: breaker.record(CIRCUIT, 0, False, "Boom", 1), range(40)))
    assert outcomes.count("tripped") == 1
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.generation) == (OPEN, 1)


def test_a_late_failure_from_an_older_generation_changes_nothing(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)  # generation 1: OPEN
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")  # generation 2: HALF_OPEN
    breaker.record(CIRCUIT, probe.generation, True, None)  # generation 3: CLOSED
    before = breaker.store.read(CIRCUIT, consistent=True)
    assert breaker.record(CIRCUIT, 0, False, "Boom") == "stale"
    after = breaker.store.read(CIRCUIT, consistent=True)
    assert (
        (after.state, after.generation, after.failure_count)
        == (CLOSED, 3, 0)
        == (before.state, before.generation, before.failure_count)
    )


# ---------------------------------------------------------------- open, probe, recover


def test_open_circuit_short_circuits_until_the_open_duration_has_passed(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(29)
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.state) == (SHORT_CIRCUIT, OPEN)
    assert "consecutive failures" in decision.reason


@pytest.mark.parametrize("elapsed, retry_after", [(0, 30), (0.4, 30), (12.5, 18), (29.9, 1)])
def test_a_short_circuit_says_when_a_probe_may_be_admitted_rounded_up(make_breaker, clock, elapsed, retry_after):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    open_until = breaker.store.read(CIRCUIT, consistent=True).open_until
    clock.advance(elapsed)
    decision = breaker.check(CIRCUIT, "caller")
    assert decision.retry_after_seconds == retry_after
    assert 0 <= retry_after - (open_until - clock.now) < 1
    # What the state machine passes on, and the caller is told: five fields, nothing internal (the generation).
    assert decision.to_output() == {
        "circuit": CIRCUIT,
        "action": SHORT_CIRCUIT,
        "state": OPEN,
        "reason": decision.reason,
        "retry_after_seconds": retry_after,
    }


def test_a_call_decision_carries_no_retry_after(make_breaker):
    output = make_breaker().check(CIRCUIT, "caller").to_output()
    assert output["action"] == CALL and "retry_after_seconds" not in output


def test_a_short_circuit_while_a_probe_is_in_flight_says_try_again_in_a_second(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(31)
    assert breaker.check(CIRCUIT, "probe").probe
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.state, decision.reason, decision.retry_after_seconds) == (HALF_OPEN, "a probe is in flight", 1)


def test_a_vetoing_healthcheck_alarm_gives_the_open_duration_left_then_no_time(make_breaker, clock):
    breaker = make_breaker()
    breaker.on_alarm("orders-healthcheck", "ALARM", millis(clock))
    clock.advance(10)
    assert breaker.check(CIRCUIT, "caller").retry_after_seconds == 20
    clock.advance(600)
    assert breaker.check(CIRCUIT, "caller").retry_after_seconds is None  # until the alarm is OK: nobody can tell


def test_exactly_one_probe_is_elected_among_racing_callers(make_breaker, clock):
    breakers = [make_breaker(failure_threshold=1) for _ in range(8)]  # 8 execution environments
    trip(breakers[0])
    clock.advance(31)
    with ThreadPoolExecutor(max_workers=16) as pool:
        decisions = list(pool.map(lambda i: breakers[i % 8].check(CIRCUIT, f"caller-{i}"), range(100)))
    probes = [d for d in decisions if d.probe]
    assert len(probes) == 1
    assert probes[0].action == CALL_AND_RECORD
    assert all(d.action == SHORT_CIRCUIT for d in decisions if not d.probe)
    assert breakers[0].store.read(CIRCUIT, consistent=True).state == HALF_OPEN


def test_half_open_max_probes_admits_that_many_and_no_more(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, half_open_max_probes=3)
    trip(breaker)
    clock.advance(31)
    decisions = [breaker.check(CIRCUIT, f"caller-{i}") for i in range(10)]
    assert sum(d.probe for d in decisions) == 3


def test_probe_success_closes_the_circuit(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.failure_count, circuit.half_open_owner, circuit.opened_at) == (CLOSED, 0, None, None)
    assert breaker.check(CIRCUIT, "next").action == CALL


@pytest.mark.parametrize("success_threshold", [1, 2])
def test_the_probe_success_that_closes_never_frees_a_probe_slot_on_the_way(make_breaker, clock, success_threshold):
    """A caller checking between the writes of the closing success must not be elected a probe."""
    breaker = make_breaker(failure_threshold=1, success_threshold=success_threshold)
    other = make_breaker(failure_threshold=1, success_threshold=success_threshold)
    trip(breaker)
    clock.advance(31)
    for _ in range(success_threshold - 1):
        probe = breaker.check(CIRCUIT, "probe")
        breaker.record(CIRCUIT, probe.generation, True, None)
    probe = breaker.check(CIRCUIT, "last-probe")
    assert probe.probe
    seen = []
    update = breaker.store.update

    def update_then_another_caller_checks(name, change):
        written = update(name, change)
        seen.append(other.check(CIRCUIT, "between-writes"))
        return written

    breaker.store.update = update_then_another_caller_checks  # type: ignore[method-assign]
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    assert seen and not any(decision.probe for decision in seen)
    assert breaker.store.read(CIRCUIT, consistent=True).state == CLOSED


def test_two_probes_succeeding_at_once_close_it_and_never_leave_it_half_open_at_the_threshold(make_breaker, clock):
    """The probe whose early close failed, the other's success counted meanwhile, closes on its next try."""
    settings = dict(failure_threshold=1, success_threshold=2, half_open_max_probes=2)
    first, second = make_breaker(**settings), make_breaker(**settings)
    trip(first)
    clock.advance(31)
    probes = [first.check(CIRCUIT, "probe-1"), second.check(CIRCUIT, "probe-2")]
    assert all(probe.probe for probe in probes)
    seen, outcomes = [], []
    update = first.store.update

    def update_then_the_other_probe_succeeds(name, change):
        written = update(name, change)
        if not outcomes:  # right after the first write of the first probe's recording
            outcomes.append(second.record(CIRCUIT, probes[1].generation, True, None))
        seen.append(second.store.read(CIRCUIT, consistent=True))
        return written

    first.store.update = update_then_the_other_probe_succeeds  # type: ignore[method-assign]
    outcomes.append(first.record(CIRCUIT, probes[0].generation, True, None))
    assert outcomes == ["probe success 1 of 2", "closed"]
    # HALF_OPEN with the threshold reached would be a window a caller can still be elected into.
    assert seen and all(circuit.state != HALF_OPEN or circuit.success_count < 2 for circuit in seen)
    assert seen[-1].state == CLOSED


def test_success_threshold_needs_that_many_probe_successes(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, success_threshold=2)
    trip(breaker)
    clock.advance(31)
    first = breaker.check(CIRCUIT, "probe-1")
    assert breaker.record(CIRCUIT, first.generation, True, None) == "probe success 1 of 2"
    second = breaker.check(CIRCUIT, "probe-2")
    assert second.probe
    assert breaker.record(CIRCUIT, second.generation, True, None) == "closed"


def test_probe_failure_reopens_with_a_doubled_open_duration(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, jitter=1.0)
    trip(breaker)
    first_open = breaker.store.read(CIRCUIT).open_until - clock.now
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, "Boom") == "reopened"
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert circuit.state == OPEN and circuit.open_count == 1
    assert first_open == pytest.approx(30)
    assert circuit.open_until - clock.now == pytest.approx(60)


def test_open_duration_backoff_is_jittered_and_capped(make_breaker):
    breaker = make_breaker(open_duration_seconds=30, max_open_duration_seconds=300, jitter=0.5)
    assert breaker.open_duration(0) == 30
    assert breaker.open_duration(1) == pytest.approx(45)  # halfway between 30 and 60
    assert breaker.open_duration(10) == pytest.approx(165)  # halfway between 30 and the 300 cap
    assert make_breaker(jitter=1.0).open_duration(50) == 300


@pytest.mark.parametrize(
    "open_count, retry_after, duration",
    [
        (0, None, 30),
        (0, 5, 30),  # never shorter than open_duration_seconds
        (0, 120, 120),
        (0, 10_000, 300),  # never longer than max_open_duration_seconds
        (1, 45, 60),  # jitter 1.0 backs the first reopen off to 60 s: the hint is a floor
        (1, 90, 90),
    ],
)
def test_a_retry_hint_sets_the_open_duration_within_its_bounds(make_breaker, open_count, retry_after, duration):
    breaker = make_breaker()
    breaker.jitter = lambda: 1.0
    assert breaker.open_duration(open_count, retry_after) == duration


def test_a_probe_asked_to_wait_reopens_for_that_long(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, "Throttled", retry_after=200) == "reopened"
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert circuit.open_until == pytest.approx(clock.now + 200)
    assert circuit.reason == "probe failed (Throttled); the downstream asked to retry after 200 s"


@pytest.mark.parametrize("path", ["retry_after", "$", "$.a[0]", "$..a", "$.a b"])
def test_retry_after_path_must_be_field_names(path):
    with pytest.raises(ConfigurationError, match="retry_after_path"):
        Settings(table_name="t", circuit_name="c", retry_after_path=path)


def test_a_probe_that_never_reports_back_is_freed_by_its_lease(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, probe_lease_seconds=10)
    trip(breaker)
    clock.advance(31)
    lost = breaker.check(CIRCUIT, "lost-probe")
    assert lost.probe
    assert not breaker.check(CIRCUIT, "early").probe
    clock.advance(11)
    takeover = breaker.check(CIRCUIT, "takeover")
    assert takeover.probe and takeover.generation == lost.generation + 1
    assert breaker.record(CIRCUIT, lost.generation, True, None) == "stale"  # the lost probe reports late
    assert breaker.store.read(CIRCUIT, consistent=True).state == HALF_OPEN


# ---------------------------------------------------------------- alarms


def test_downstream_alarm_trips_a_closed_circuit(make_breaker, clock):
    breaker = make_breaker()
    assert breaker.on_alarm("orders-downstream", "ALARM", millis(clock)) == "CLOSED -> OPEN"
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert circuit.state == OPEN and circuit.reason == "downstream alarm orders-downstream in ALARM"


def test_healthcheck_alarm_vetoes_probes_until_it_is_ok_and_then_closes(make_breaker, clock):
    breaker = make_breaker()
    breaker.on_alarm("orders-healthcheck", "ALARM", millis(clock))
    clock.advance(600)
    decision = breaker.check(CIRCUIT, "caller")
    assert decision.action == SHORT_CIRCUIT and "vetoes" in decision.reason
    assert breaker.on_alarm("orders-healthcheck", "OK", millis(clock)) == "OPEN -> CLOSED"
    assert breaker.check(CIRCUIT, "caller").action == CALL


def test_healthcheck_ok_can_go_half_open_instead(make_breaker, clock):
    breaker = make_breaker(healthcheck_recovery="half_open")
    breaker.on_alarm("orders-healthcheck", "ALARM", millis(clock))
    clock.advance(1)
    assert breaker.on_alarm("orders-healthcheck", "OK", millis(clock)) == "OPEN -> HALF_OPEN"
    assert breaker.check(CIRCUIT, "probe").probe


def test_healthcheck_ok_without_a_previous_alarm_does_not_close_an_in_band_trip(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    assert breaker.on_alarm("orders-healthcheck", "OK", millis(clock)) == "recorded"
    assert breaker.store.read(CIRCUIT, consistent=True).state == OPEN


def test_in_band_trip_recovers_by_probe_when_the_healthcheck_never_alarmed(make_breaker, clock):
    """The seed design stays OPEN forever here; this one probes after the open duration."""
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert probe.probe
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"


def test_older_and_duplicate_notifications_change_nothing(make_breaker, clock):
    breaker = make_breaker()
    newer, older = millis(clock), millis(clock) - 60_000
    assert breaker.on_alarm("orders-healthcheck", "ALARM", newer) == "CLOSED -> OPEN"
    assert breaker.on_alarm("orders-healthcheck", "ALARM", newer) == "stale"  # SNS delivered it twice
    assert breaker.on_alarm("orders-healthcheck", "OK", older) == "stale"  # out of order
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.generation, circuit.healthcheck_alarm) == (OPEN, 1, "ALARM")


def test_insufficient_data_changes_nothing_by_default(make_breaker, clock):
    breaker = make_breaker()
    assert breaker.on_alarm("orders-downstream", "INSUFFICIENT_DATA", millis(clock)) == "ignored"
    assert not breaker.store.read(CIRCUIT, consistent=True).stored


def test_insufficient_data_can_be_treated_as_alarm(make_breaker, clock):
    breaker = make_breaker(insufficient_data="alarm")
    assert breaker.on_alarm("orders-downstream", "INSUFFICIENT_DATA", millis(clock)) == "CLOSED -> OPEN"


def test_unknown_alarms_and_states_change_nothing(make_breaker, clock):
    breaker = make_breaker()
    assert breaker.on_alarm("someone-elses-alarm", "ALARM", millis(clock)) == "unknown alarm"
    assert breaker.on_alarm("orders-downstream", "SIDEWAYS", millis(clock)) == "unknown state"
    assert not breaker.store.read(CIRCUIT, consistent=True).stored


# ---------------------------------------------------------------- overrides


def test_forced_open_never_probes_and_alarms_do_not_undo_it(make_breaker, clock):
    breaker = make_breaker()
    forced = breaker.force(CIRCUIT, FORCED_OPEN, "ana", "provider maintenance")
    assert (forced.state, forced.override, forced.half_open_owner) == (OPEN, FORCED_OPEN, FORCED_OPEN_OWNER)
    clock.advance(10_000)
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.retry_after_seconds) == (SHORT_CIRCUIT, None)  # until released: no time
    breaker.on_alarm("orders-healthcheck", "ALARM", millis(clock))
    clock.advance(1)
    breaker.on_alarm("orders-healthcheck", "OK", millis(clock))
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.override, circuit.override_by) == (OPEN, FORCED_OPEN, "ana")


def test_releasing_forced_open_admits_a_probe_next(make_breaker, clock):
    breaker = make_breaker()
    breaker.force(CIRCUIT, FORCED_OPEN, "ana", "maintenance")
    released = breaker.release(CIRCUIT, "ana", "done")
    assert (released.state, released.override) == (OPEN, None)
    assert breaker.check(CIRCUIT, "caller").probe


def test_forced_closed_is_never_tripped(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    breaker.force(CIRCUIT, FORCED_CLOSED, "ana", "known noisy errors")
    trip(breaker, 3)
    breaker.on_alarm("orders-downstream", "ALARM", millis(clock))
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.override, circuit.downstream_alarm) == (CLOSED, FORCED_CLOSED, "ALARM")
    assert breaker.check(CIRCUIT, "caller").action == CALL


def test_an_expired_override_is_released_by_the_next_check(make_breaker, clock):
    breaker = make_breaker()
    breaker.force(CIRCUIT, FORCED_OPEN, "ana", "maintenance", expires_at=clock.now + 60)
    clock.advance(0.5)
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.retry_after_seconds) == (SHORT_CIRCUIT, 60)  # 59.5 s to the expiry
    clock.advance(61)
    assert breaker.check(CIRCUIT, "caller").probe
    assert breaker.store.read(CIRCUIT, consistent=True).override is None


def test_override_arguments_are_validated(make_breaker, clock):
    breaker = make_breaker()
    with pytest.raises(ValueError, match="override must be one of"):
        breaker.force(CIRCUIT, "FORCED_SIDEWAYS", "ana", "why")
    with pytest.raises(ValueError, match="already have expired"):
        breaker.force(CIRCUIT, FORCED_OPEN, "ana", "why", expires_at=clock.now - 1)
    with pytest.raises(ValueError, match="no override"):
        breaker.release(CIRCUIT, "ana", "why")
    with pytest.raises(CircuitNotFound):
        breaker.get("no-such-circuit")


# ---------------------------------------------------------------- cost and store failures


def test_a_state_check_reads_the_circuit_once_and_writes_nothing_on_a_closed_circuit(make_breaker, clock):
    breaker = make_breaker()
    for _ in range(3):
        assert breaker.check(CIRCUIT, "caller").action == CALL
    assert breaker.store.client.calls == {"get_item": 3}


def test_failures_count_in_completion_order_whenever_their_calls_were_admitted(make_breaker):
    """Ten calls in flight together, all admitted at 0, all failing (a hanging dependency): each
    failure counts when it completes, so the circuit trips at the threshold-th, not a call later."""
    breaker = make_breaker(failure_threshold=3)
    admitted = [breaker.check(CIRCUIT, f"call-{n}") for n in range(10)]
    assert {(d.action, d.failures_seen) for d in admitted} == {(CALL, 0)}
    outcomes = [breaker.record(CIRCUIT, d.generation, d.probe, "Timeout", d.failures_seen) for d in admitted]
    assert outcomes == ["failure 1 of 3", "failure 2 of 3", "tripped"] + ["stale"] * 7
    assert breaker.store.read(CIRCUIT, consistent=True).state == OPEN


def test_a_close_makes_a_reset_read_before_it_stale(make_breaker, clock):
    """A success's reset read before a close must not take off failures counted after it: it carries the older
    generation, which the reset is conditioned on."""
    breaker = make_breaker(failure_threshold=1)
    trip(breaker)
    clock.advance(breaker.settings.open_duration_seconds + 1)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    item = breaker.store.client.get_item(TableName=breaker.store.table_name, Key={"id": {"S": CIRCUIT}})["Item"]
    assert (item["failure_count"], item["failures_total"], item["generation"]) == ({"N": "0"}, {"N": "1"}, {"N": "3"})


def test_an_outcome_admitted_while_the_store_was_unavailable_is_counted_as_unrecorded(make_breaker):
    from circuit_breaker import telemetry

    telemetry.metrics.clear_metrics()
    breaker = make_breaker()
    assert breaker.record(CIRCUIT, None, False, "Boom").startswith("not recorded")
    counted = telemetry.metrics.metric_set
    assert counted["UnrecordedOutcomes"]["Value"] == [1.0] and counted["Failures"]["Value"] == [1.0]
    telemetry.metrics.clear_metrics()


def test_half_open_is_read_on_every_check_so_a_closed_probe_is_seen_at_once(make_breaker, clock):
    breaker = make_breaker(open_duration_seconds=1, failure_threshold=1)
    other = make_breaker(open_duration_seconds=1, failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    clock.advance(2)
    probe = breaker.check(CIRCUIT, "prober")
    assert probe.probe
    assert other.check(CIRCUIT, "waiter").reason == "a probe is in flight"
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    assert other.check(CIRCUIT, "waiter").action == CALL  # not a cached "probe in flight"


@pytest.mark.parametrize("policy, action", [("fail_open", CALL), ("fail_closed", SHORT_CIRCUIT)])
def test_store_errors_follow_the_configured_policy(make_breaker, policy, action):
    breaker = make_breaker(on_store_error=policy)
    boto3.client("dynamodb").delete_table(TableName=breaker.store.table_name)
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.generation, decision.retry_after_seconds) == (action, None, None)
    assert "store unavailable" in decision.reason
    assert breaker.record(CIRCUIT, None, False, "Boom").startswith("not recorded")


def test_store_failures_on_writes_raise_store_error(make_breaker):
    breaker = make_breaker()
    boto3.client("dynamodb").delete_table(TableName=breaker.store.table_name)
    with pytest.raises(StoreError):
        breaker.record(CIRCUIT, 0, False, "Boom")
    with pytest.raises(StoreError):
        breaker.store.scan()


def test_a_record_with_an_unknown_state_is_an_error_not_a_guess(make_breaker):
    breaker = make_breaker()
    boto3.client("dynamodb").put_item(
        TableName=breaker.store.table_name, Item={"id": {"S": CIRCUIT}, "state": {"S": "SIDEWAYS"}}
    )
    with pytest.raises(ValueError, match="unknown state"):
        breaker.store.read(CIRCUIT)
    assert "SIDEWAYS" not in STATES


def test_only_client_errors_other_than_condition_failures_are_store_errors(make_breaker):
    breaker = make_breaker()
    error = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    class Throttled:
        def get_item(self, **_):
            raise error

    breaker.store._client = Throttled()
    with pytest.raises(StoreError, match="ProvisionedThroughputExceeded"):
        breaker.store.read(CIRCUIT)


def test_an_alarm_that_raced_with_an_override_never_undoes_it(make_breaker, clock):
    """The operator forces the circuit between the alarm handler's read and its write."""
    breaker, operator = make_breaker(), make_breaker()
    real_read = breaker.store.read
    raced: list = []

    def read_then_race(name, consistent=False):
        circuit = real_read(name, consistent)
        if not raced:
            raced.append(operator.force(CIRCUIT, FORCED_CLOSED, "ana", "noisy alarm"))
        return circuit

    breaker.store.read = read_then_race
    assert breaker.on_alarm("orders-downstream", "ALARM", millis(clock)) == "recorded"
    circuit = operator.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.override, circuit.generation) == (CLOSED, FORCED_CLOSED, 1)
    assert circuit.downstream_alarm == "ALARM"


# ---------------------------------------------------------------- ramp after recovery


def recover(breaker: Breaker, clock) -> None:
    """Trip, wait out the open duration, and close through a probe's success."""
    trip(breaker)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"


def test_without_ramp_up_a_recovery_admits_every_call_at_once(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1)
    recover(breaker, clock)
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.ramp_started_at, circuit.ramp_until) == (None, None)
    assert {breaker.check(CIRCUIT, f"caller-{i}").action for i in range(50)} == {CALL}


@pytest.mark.parametrize("step, share", enumerate(RAMP_SHARES))
def test_a_recovery_admits_each_step_its_share_and_tells_the_rest_when_the_next_step_starts(
    make_breaker, clock, step, share
):
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=300)  # three steps of 100 s
    recover(breaker, clock)
    closed_at = clock.now
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.ramp_started_at, circuit.ramp_until) == (CLOSED, closed_at, closed_at + 300)
    clock.advance(step * 100 + 40)  # 60 s before the next step
    decisions = [breaker.check(CIRCUIT, f"caller-{i}") for i in range(400)]
    admitted = [d for d in decisions if d.action == CALL]
    assert abs(len(admitted) - share * 400) <= 4  # EvenDraws: a few calls off, never more
    held_back = {(d.action, d.state, d.reason, d.retry_after_seconds) for d in decisions if d not in admitted}
    assert held_back == {(SHORT_CIRCUIT, CLOSED, f"ramping up after recovery: {share:.0%} of calls admitted", 60)}
    # Every call of the ramp runs the state check, and none of them writes.
    assert breaker.store.read(CIRCUIT, consistent=True).generation == circuit.generation


def test_the_first_call_after_the_ramp_removes_it_and_the_healthy_path_is_back(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=300)
    recover(breaker, clock)
    generation = breaker.store.read(CIRCUIT, consistent=True).generation
    writes = breaker.store.client.calls["update_item"]
    clock.advance(300)
    assert [breaker.check(CIRCUIT, f"caller-{i}").action for i in range(20)] == [CALL] * 20
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    # Not a transition: the generation stays, and the item is what a close without a ramp leaves.
    assert (circuit.state, circuit.generation, circuit.ramp_started_at, circuit.ramp_until) == (
        CLOSED,
        generation,
        None,
        None,
    )
    assert breaker.store.client.calls["update_item"] == writes + 1  # the removal; then the healthy path writes nothing


def test_a_ramp_that_cannot_be_removed_still_admits_the_call(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=300)
    recover(breaker, clock)
    clock.advance(300)
    real_update = breaker.store.update

    def failing_update(name, update):
        raise StoreError("throttled")

    breaker.store.update = failing_update
    assert breaker.check(CIRCUIT, "caller").action == CALL
    breaker.store.update = real_update
    assert breaker.check(CIRCUIT, "caller").action == CALL
    assert breaker.store.read(CIRCUIT, consistent=True).ramp_until is None


def test_a_failure_during_the_ramp_counts_as_usual_and_a_trip_ends_the_ramp(make_breaker, clock):
    breaker = make_breaker(failure_threshold=2, ramp_up_seconds=300, jitter=0.0)
    trip(breaker)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    breaker.draw = lambda: 0.0  # every call admitted
    admitted = [breaker.check(CIRCUIT, f"caller-{i}") for i in range(2)]
    assert [d.action for d in admitted] == [CALL, CALL]
    for decision in admitted:
        breaker.record(CIRCUIT, decision.generation, False, "DependencyUnavailable", decision.failures_seen)
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.ramp_started_at, circuit.ramp_until) == (OPEN, None, None)
    assert circuit.reason == "2 consecutive failures (last: DependencyUnavailable)"


def test_the_healthcheck_alarm_back_to_ok_ramps_too(make_breaker, clock):
    breaker = make_breaker(ramp_up_seconds=60)
    breaker.on_alarm("orders-healthcheck", "ALARM", millis(clock))
    clock.advance(600)
    assert breaker.on_alarm("orders-healthcheck", "OK", millis(clock)) == "OPEN -> CLOSED"
    assert breaker.store.read(CIRCUIT, consistent=True).ramp_until == clock.now + 60


def test_a_late_removal_of_an_ended_ramp_never_removes_the_next_one(make_breaker, clock):
    """A check reads an ended ramp; before it removes it, the circuit trips and recovers again, with a new ramp."""
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=300)
    recover(breaker, clock)
    clock.advance(300)
    ended = breaker.store.read(CIRCUIT, consistent=True)
    recover(breaker, clock)
    new_ramp = breaker.store.read(CIRCUIT, consistent=True).ramp_until
    breaker._end_ramp(ended)
    assert breaker.store.read(CIRCUIT, consistent=True).ramp_until == new_ramp == clock.now + 300


def test_an_operator_close_has_no_ramp_and_ends_one(make_breaker, clock):
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=300)
    recover(breaker, clock)
    forced = breaker.force(CIRCUIT, FORCED_CLOSED, "ana", "enough")
    assert (forced.ramp_started_at, forced.ramp_until) == (None, None)
    released = breaker.release(CIRCUIT, "ana", "done")
    assert (released.state, released.ramp_until) == (CLOSED, None)


@pytest.mark.parametrize(
    "elapsed, expected",
    [(-5, (0.10, 1100)), (0, (0.10, 1100)), (99.9, (0.10, 1100)), (100, (0.25, 1200)), (299.9, (0.50, 1300))],
)
def test_ramp_steps_are_equal_thirds(elapsed, expected):
    assert ramp_step(1000, 1300, 1000 + elapsed) == expected


@pytest.mark.parametrize(
    "started_at, until, now", [(1000, 1300, 1300), (None, 1300, 1000), (1000, None, 1000), (1300, 1000, 1100)]
)
def test_no_ramp_runs_after_its_end_or_without_both_ends(started_at, until, now):
    assert ramp_step(started_at, until, now) is None


@given(start=st.floats(0, 1, exclude_max=True), share=st.sampled_from(RAMP_SHARES))
def test_even_draws_admit_a_share_within_a_few_calls_of_it_from_the_first_calls_on(start, share):
    draws, admitted = EvenDraws(start), 0
    for n in range(1, 1001):
        admitted += draws() < share
        assert abs(admitted - share * n) <= 4


@pytest.mark.parametrize("seconds", [-1, float("nan"), 400 * 86400])
def test_ramp_up_seconds_is_validated(seconds):
    with pytest.raises(ConfigurationError, match="ramp_up_seconds"):
        Settings(table_name="t", circuit_name="c", ramp_up_seconds=seconds)
