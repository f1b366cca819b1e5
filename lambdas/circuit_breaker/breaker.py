"""The circuit rules: when to call, trip, probe, close and reopen.

Every transition is one conditional UpdateItem that requires the generation the caller
observed and writes generation + 1, so an outcome or a notification that raced with a
newer transition can never change the newer state. Losing such a race is normal
("someone else won") and never an error.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from circuit_breaker import clients
from circuit_breaker.exceptions import CircuitNotFound, Contention, StoreError
from circuit_breaker.model import (
    CLOSED,
    FORCED_CLOSED,
    FORCED_OPEN,
    FORCED_OPEN_OWNER,
    HALF_OPEN,
    OPEN,
    OVERRIDES,
    Attr,
    Circuit,
    to_number,
)
from circuit_breaker.settings import NOTIFY_ONLY_ROLES, Settings
from circuit_breaker.store import CircuitStore, Update
from circuit_breaker.telemetry import count, logger, mark

CALL = "call"
CALL_AND_RECORD = "call_and_record"
SHORT_CIRCUIT = "short_circuit"

ALARM = "ALARM"
OK = "OK"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

# Attributes that only mean something while a probe window is open.
_PROBE_ATTRS = {Attr.HALF_OPEN_OWNER, Attr.PROBE_LEASE_EXPIRY, Attr.PROBES_IN_FLIGHT, Attr.SUCCESS_COUNT}
_OPEN_ATTRS = {Attr.OPENED_AT, Attr.OPEN_UNTIL}
_RAMP_ATTRS = {Attr.RAMP_STARTED_AT, Attr.RAMP_UNTIL}
_OVERRIDE_ATTRS = {Attr.OVERRIDE, Attr.OVERRIDE_BY, Attr.OVERRIDE_REASON, Attr.OVERRIDE_AT, Attr.OVERRIDE_EXPIRES_AT}
_CONFLICT_RETRIES = 5
# A short-circuit while a probe is in flight: the probe's success closes the circuit as soon as it returns.
PROBE_RETRY_AFTER_SECONDS = 1
# After a recovery, with ramp_up_seconds: the share of calls admitted in each equal step of the ramp; then every call.
RAMP_SHARES = (0.10, 0.25, 0.50)

# A success takes pending failures off from the state machine a moment after it read them (ResetFailures follows
# ReadAfterCall: one more DynamoDB request, milliseconds), while a failure counts the moment it is written. So a
# failure that reaches the threshold waits this long, then trips only if the count still stands: the resets of
# successes that completed before it have landed. Without the wait, at hundreds of calls a second a count reached
# the threshold on background errors only because resets were still on their way. Shorter than a call, so that the
# calls it lets through in a total outage are still in flight when the circuit opens.
TRIP_SETTLE_SECONDS = 0.025


def _after(seconds: float, then: Callable[[], str]) -> str:
    time.sleep(seconds)
    return then()


def _asked(retry_after: float | None) -> str:
    return "" if retry_after is None else f"; the downstream asked to retry after {retry_after:g} s"


def ramp_step(started_at: float | None, until: float | None, now: float) -> tuple[float, float] | None:
    """The share of calls a ramp admits at `now` and when its next step starts; None when no ramp is running."""
    if started_at is None or until is None or not started_at < until or now >= until:
        return None
    length = (until - started_at) / len(RAMP_SHARES)
    # A clock behind the close's: the first step. The last one never rounds past its end.
    step = min(max(0, int((now - started_at) // length)), len(RAMP_SHARES) - 1)
    return RAMP_SHARES[step], started_at + (step + 1) * length


class EvenDraws:
    """Numbers in [0, 1) that cover the interval evenly: the first is random, and each next one is the last plus the
    golden ratio's fraction, modulo 1. Of any n of them, the share below p strays from p by about log(n)/n, where
    independent random draws stray by 1/sqrt(n) (5 points in 100 calls): an environment admits its ramp step's share
    of the calls it checks, from the first few on."""

    STEP = (math.sqrt(5) - 1) / 2

    def __init__(self, start: float | None = None) -> None:
        self.last = random.random() if start is None else start

    def __call__(self) -> float:
        self.last = (self.last + self.STEP) % 1.0
        return self.last


@dataclass(frozen=True)
class Decision:
    """What the state machine does with one call. `generation` is None when the store could not be read."""

    circuit: str
    action: str
    state: str
    generation: int | None
    probe: bool = False
    reason: str = ""
    failures_seen: int = 0  # the failure count this call was admitted at: what its outcome may do depends on it
    # Short-circuits only: whole seconds until the circuit may admit a probe; None when nobody can tell.
    retry_after_seconds: int | None = None

    def to_output(self) -> dict[str, Any]:
        """The state check's answer. A short-circuit's is what the caller is told (the CircuitOpen error's cause,
        the fallback function's `circuit`): the circuit, the action, its state, why, and when to try again. The
        state machine builds the same five fields where it short-circuits without asking (ForcedOpen, and
        StoreUnavailable with fail_closed). It keeps `action`, so that a definition of an earlier version still
        routes it while an apply updates the functions before the state machine."""
        if self.action == SHORT_CIRCUIT:
            return {
                "circuit": self.circuit,
                "action": self.action,
                "state": self.state,
                "reason": self.reason,
                "retry_after_seconds": self.retry_after_seconds,
            }
        output = asdict(self)
        del output["retry_after_seconds"]
        return output


def seconds_until(moment: float | None, now: float) -> int | None:
    """Whole seconds from `now` to `moment`, rounded up, at least 1; None for no moment."""
    return None if moment is None else max(1, math.ceil(moment - now))


class Breaker:
    def __init__(
        self,
        settings: Settings,
        store: CircuitStore,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        count: Callable[[str, str], None] = count,
        defer: Callable[[float, Callable[[], str]], str] = _after,
        draw: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.jitter = jitter
        self.count = count  # what the breaker counts, per circuit: EMF metrics on Lambda
        self.defer = defer  # runs a step after some seconds: on Lambda it sleeps, a simulator schedules it
        self.draw = draw or EvenDraws()  # during a ramp, a call is admitted when its draw is below the step's share

    @classmethod
    def from_environment(cls) -> Breaker:
        """The breaker a handler builds at init, once per execution environment: its settings from the
        function's environment, its store on the table they name, through a client whose connections serve
        every invocation. Every metric it publishes says whether the breaker enforces or observes."""
        settings = Settings.from_environment()
        mark(mode=settings.mode)
        return cls(settings, CircuitStore(settings.table_name, clients.client("dynamodb"), settings.table_key))

    # ------------------------------------------------------------------ the call path

    def check(self, name: str, caller: str) -> Decision:
        """Decide whether this call goes to the downstream, goes as a probe, or is short-circuited."""
        now = self.clock()
        try:
            # Strongly consistent: an eventually consistent read may miss a trip written a moment ago.
            circuit = self._settle_expired_override(self.store.read(name, consistent=True), now)
            decision = self._decide(circuit, caller, now)
        except StoreError as error:
            self.count("StoreErrors", name)
            policy = self.settings.on_store_error
            logger.warning("circuit store unavailable", extra={"circuit": name, "policy": policy, "error": str(error)})
            action = CALL if policy == "fail_open" else SHORT_CIRCUIT
            decision = Decision(
                name, action, state="UNKNOWN", generation=None, reason=f"circuit store unavailable ({policy})"
            )
        if decision.action == SHORT_CIRCUIT:
            self.count("ShortCircuited", name)
        return decision

    def _decide(self, circuit: Circuit, caller: str, now: float) -> Decision:
        if circuit.override == FORCED_OPEN:
            # Until the override expires; an override without expiry holds until an operator releases it. The caller
            # is told FORCED_OPEN, as the state machine tells it when it reads a forced-open circuit itself.
            forced = self._short(circuit, circuit.reason, seconds_until(circuit.override_expires_at, now))
            return replace(forced, state=FORCED_OPEN)
        if circuit.override == FORCED_CLOSED:
            return Decision(circuit.name, CALL, circuit.state, circuit.generation, reason=circuit.reason)
        if circuit.state == CLOSED:
            held_back = self._ramp(circuit, now) if circuit.ramp_until is not None else None
            # Failures pending or not: the state machine reads the circuit after a success and resets them.
            return held_back or Decision(
                circuit.name, CALL, CLOSED, circuit.generation, failures_seen=circuit.failure_count
            )
        probe_allowed_at = circuit.probe_allowed_at(self.settings.open_duration_seconds)
        if circuit.healthcheck_alarm == ALARM:
            # Probes wait for the healthcheck alarm to go back to OK: not before the open duration ends, and
            # after it nobody can tell when.
            later = probe_allowed_at if circuit.state == OPEN and now < probe_allowed_at else None
            reason = f"{circuit.reason}; healthcheck alarm in ALARM vetoes probes"
            return self._short(circuit, reason, seconds_until(later, now))
        if circuit.state == OPEN and now < probe_allowed_at:
            return self._short(circuit, circuit.reason, seconds_until(probe_allowed_at, now))
        return self._admit_probe(circuit, caller, now)

    def _ramp(self, circuit: Circuit, now: float) -> Decision | None:
        """During the ramp after a recovery: a short-circuit for the calls beyond the step's share, until the next
        step; None for a call admitted. The first call after the ramp removes it, so that the state machine sends
        calls straight to the downstream again."""
        step = ramp_step(circuit.ramp_started_at, circuit.ramp_until, now)
        if step is None:
            self._end_ramp(circuit)
            return None
        share, next_step_at = step
        if self.draw() < share:
            return None
        self.count("RampShortCircuited", circuit.name)
        reason = f"ramping up after recovery: {share:.0%} of calls admitted"
        return self._short(circuit, reason, seconds_until(next_step_at, now))

    def _end_ramp(self, circuit: Circuit) -> None:
        # Not a transition: the generation stays, and only the ramp this call read is removed.
        update = Update(removes=set(_RAMP_ATTRS)).when("#ramp_until = :read", read=to_number(circuit.ramp_until or 0))
        try:
            self.store.update(circuit.name, update)
        except StoreError as error:  # the call goes ahead; the next one removes it
            logger.warning("ramp not removed", extra={"circuit": circuit.name, "error": str(error)})

    def _short(self, circuit: Circuit, reason: str, retry_after_seconds: int | None) -> Decision:
        return Decision(
            circuit.name,
            SHORT_CIRCUIT,
            circuit.state,
            circuit.generation,
            reason=reason,
            retry_after_seconds=retry_after_seconds,
        )

    def _admit_probe(self, circuit: Circuit, caller: str, now: float) -> Decision:
        """Elect this caller as a probe with one conditional write: at most `half_open_max_probes` win."""
        lease = to_number(now + self.settings.probe_lease_seconds)
        update = (
            Update()
            .when("attribute_not_exists(#override)")
            .when("attribute_not_exists(#healthcheck_alarm) OR #healthcheck_alarm <> :alarm", alarm=ALARM)
        )
        new_window = {
            Attr.HALF_OPEN_OWNER: caller,
            Attr.PROBE_LEASE_EXPIRY: lease,
            Attr.PROBES_IN_FLIGHT: 1,
            Attr.SUCCESS_COUNT: 0,
        }
        lease_lapsed = (
            circuit.state == HALF_OPEN
            and circuit.probes_in_flight > 0
            and circuit.probe_lease_expiry is not None
            and circuit.probe_lease_expiry <= now
        )
        if circuit.state == OPEN:
            update.when("#state = :open AND attribute_not_exists(#half_open_owner)", open=OPEN)
            if circuit.opened_at is not None:
                update.when("#opened_at = :opened_at", opened_at=circuit.opened_at)
            update.sets.update(new_window)
            new = self._transition(circuit, update, HALF_OPEN, "open duration elapsed; probing")
        elif lease_lapsed:
            update.when("#state = :half_open AND #probe_lease_expiry <= :now", half_open=HALF_OPEN, now=to_number(now))
            update.sets.update(new_window)
            new = self._transition(circuit, update, HALF_OPEN, "probe lease lapsed; probing again")
        elif circuit.probes_in_flight < self.settings.half_open_max_probes:
            update.when_generation(circuit.generation)
            if circuit.powertools_probe:
                # Powertools' own election, its lease still running: its probe and ours make the count.
                update.when(
                    "#state = :half_open AND attribute_not_exists(#probes_in_flight) AND #probe_lease_expiry > :now",
                    half_open=HALF_OPEN,
                    now=to_number(now),
                )
                update.sets[Attr.PROBES_IN_FLIGHT] = circuit.probes_in_flight + 1
                # Its lease (Powertools' recovery timeout) may outlast ours: keep the later one.
                lease = max(lease, to_number(circuit.probe_lease_expiry or now))
            else:
                # The count must exist: a Powertools election since our read (a PUT) removed it.
                update.when(
                    "#state = :half_open AND #probes_in_flight < :max",
                    half_open=HALF_OPEN,
                    max=self.settings.half_open_max_probes,
                )
                update.adds[Attr.PROBES_IN_FLIGHT] = 1
            update.sets.update({Attr.PROBE_LEASE_EXPIRY: lease, Attr.UPDATED_AT: self._timestamp(now)})
            update.set_if_missing[Attr.HALF_OPEN_OWNER] = caller
            new = self.store.update(circuit.name, update)
        else:
            return self._short(circuit, "a probe is in flight", PROBE_RETRY_AFTER_SECONDS)
        if new is None:
            return self._short(circuit, "another caller won the probe", PROBE_RETRY_AFTER_SECONDS)
        self.count("ProbesAdmitted", new.name)
        return Decision(new.name, CALL_AND_RECORD, new.state, new.generation, probe=True, reason=new.reason)

    # ------------------------------------------------------------------ outcomes

    def record(
        self,
        name: str,
        generation: int | None,
        probe: bool,
        error: str | None,
        failures_seen: int = 0,
        retry_after: float | None = None,
    ) -> str:
        """Record a downstream outcome (`error` None = success). Returns what happened, for logs and tests.

        `retry_after`: the seconds a failure asked to wait (retry_after_path); a circuit it opens stays open that
        long, within [open_duration_seconds, max_open_duration_seconds].

        Outcomes count in the order they complete: every failure of a call admitted while the circuit
        was CLOSED at `generation` adds one, whenever it was admitted, so failures that take the whole
        timeout trip at their own pace. A success that completes while failures are pending takes them
        off in the state machine itself (ResetFailures: one read after every success, a write only when
        something is pending), so successes of non-probe calls come here only from older definitions.
        Every failure that is not ignored (a result marked failed included) is counted as the metric
        `Failures` of its circuit, so that an alarm can divide the breaker's own failures by the calls.
        """
        if error is not None and not self.settings.counts(error):
            self.count("IgnoredErrors", name)
            if probe and generation is not None:
                self._release_probe_slot(name, generation)
            return "ignored"
        if error is not None:
            self.count("Failures", name)
        if generation is None:
            self.count("UnrecordedOutcomes", name)
            logger.warning(
                "outcome not recorded: the call was admitted while the circuit store was unavailable",
                extra={"circuit": name, "error": error},
            )
            return "not recorded: the call was admitted while the store was unavailable"
        if probe:
            return (
                self._probe_succeeded(name, generation)
                if error is None
                else self._probe_failed(name, generation, error, retry_after)
            )
        if error is None:
            return "nothing to reset"  # the state machine resets pending failures after a success (ResetFailures)
        return self._count_failure(name, generation, error, retry_after)

    def _count_failure(self, name: str, generation: int, error: str, retry_after: float | None) -> str:
        update = Update(
            # A success's reset leaves the failures counted after its read: failures_total minus what it read.
            adds={Attr.FAILURE_COUNT: 1, Attr.FAILURES_TOTAL: 1},
            sets={Attr.UPDATED_AT: self._timestamp(self.clock())},
            # The reset is conditioned on the generation it read: a transition since makes it stale.
            set_if_missing={Attr.STATE: CLOSED, Attr.GENERATION: 0},
        )
        update.when("attribute_not_exists(#state) OR #state = :closed", closed=CLOSED)
        update.when("attribute_not_exists(#override)").when_generation(generation)
        counted = self.store.update(name, update)
        if counted is None:
            return self._stale(name, generation)
        if counted.failure_count < self.settings.failure_threshold:
            return f"failure {counted.failure_count} of {self.settings.failure_threshold}"
        return self.defer(TRIP_SETTLE_SECONDS, lambda: self._trip(counted, error, retry_after))

    def _trip(self, counted: Circuit, error: str, retry_after: float | None) -> str:
        """Open a circuit whose count reached the threshold, if it still stands (no reset, no transition since)."""
        trip = self._open_update(open_count=0, retry_after=retry_after).when(
            "#state = :closed AND #failure_count >= :threshold AND attribute_not_exists(#override)",
            closed=CLOSED,
            threshold=self.settings.failure_threshold,
        )
        reason = f"{counted.failure_count} consecutive failures (last: {error}){_asked(retry_after)}"
        return "tripped" if self._transition(counted, trip, OPEN, reason) else "not tripped: reset or tripped meanwhile"

    def _probe_succeeded(self, name: str, generation: int) -> str:
        """Count a probe's success; the success that completes `success_threshold` closes, in one write.

        A count reaching the threshold and a close written after it would free the probe's slot in
        between, and a caller checking then would be elected a second probe of the same window. So a
        count is only written below the threshold, and the success that would reach it closes instead.
        """
        threshold = self.settings.success_threshold
        for _ in range(_CONFLICT_RETRIES):
            circuit = self.store.read(name, consistent=True)
            if circuit.state != HALF_OPEN or circuit.generation != generation:
                return self._stale(name, generation)
            close = self._close_update(ramp=True).when("#state = :half_open", half_open=HALF_OPEN)
            if threshold > 1:
                close.when("#success_count >= :others_needed", others_needed=threshold - 1)
            if self._transition(circuit, close, CLOSED, f"{threshold} probe(s) succeeded"):
                return "closed"
            update = (
                Update(adds={Attr.SUCCESS_COUNT: 1, Attr.PROBES_IN_FLIGHT: -1})
                .when("#state = :half_open", half_open=HALF_OPEN)
                .when(
                    "attribute_not_exists(#success_count) OR #success_count < :others_needed",
                    others_needed=threshold - 1,
                )
                .when_generation(generation)
            )
            counted = self.store.update(name, update)
            if counted is not None:
                return f"probe success {counted.success_count} of {threshold}"
            # Another probe's success was counted between the two writes: read it and try again.
        return self._stale(name, generation)

    def _probe_failed(self, name: str, generation: int, error: str, retry_after: float | None) -> str:
        circuit = self.store.read(name, consistent=True)
        if circuit.state != HALF_OPEN or circuit.generation != generation:
            return self._stale(name, generation)
        reopen = self._open_update(open_count=circuit.open_count + 1, retry_after=retry_after)
        reopen.when("#state = :half_open", half_open=HALF_OPEN)
        reason = f"probe failed ({error}){_asked(retry_after)}"
        return "reopened" if self._transition(circuit, reopen, OPEN, reason) else self._stale(name, generation)

    def _release_probe_slot(self, name: str, generation: int) -> None:
        update = Update(adds={Attr.PROBES_IN_FLIGHT: -1}).when(
            "#state = :half_open AND #probes_in_flight > :zero", half_open=HALF_OPEN, zero=0
        )
        self.store.update(name, update.when_generation(generation))

    def _stale(self, name: str, generation: int) -> str:
        self.count("StaleOutcomes", name)
        logger.info(
            "outcome not applied: the circuit moved on or is overridden",
            extra={"circuit": name, "generation": generation},
        )
        return "stale"

    # ------------------------------------------------------------------ alarms

    def on_alarm(self, alarm_name: str, new_state: str, changed_at_ms: int) -> str:
        """Apply one CloudWatch alarm state change. Older or repeated notifications change nothing."""
        binding = self.settings.alarms.get(alarm_name)
        if binding is None:
            self.count("UnknownAlarms", self.settings.circuit_name)
            logger.error("notification for an alarm this module does not own", extra={"alarm": alarm_name})
            return "unknown alarm"
        if binding.role in NOTIFY_ONLY_ROLES:
            log = logger.error if new_state == ALARM else logger.info
            message = f"{binding.role.replace('_', ' ')} alarm"  # "store errors alarm", "events pipeline alarm"
            log(message, extra={"circuit": binding.circuit, "alarm": alarm_name, "state": new_state})
            return "notified"
        if new_state == INSUFFICIENT_DATA:
            if self.settings.insufficient_data == "ignore":
                self.count("IgnoredNotifications", binding.circuit)
                return "ignored"
            new_state = self.settings.insufficient_data.upper()
        if new_state not in (ALARM, OK):
            self.count("MalformedNotifications", binding.circuit)
            logger.error("unknown alarm state", extra={"alarm": alarm_name, "state": new_state})
            return "unknown state"
        changed_attr = Attr.alarm_changed_at(binding.role)
        for _ in range(_CONFLICT_RETRIES):
            now = self.clock()
            circuit = self.store.read(binding.circuit, consistent=True)
            last = circuit.alarm_changed_at(binding.role)
            if last is not None and last >= changed_at_ms:
                self.count("StaleNotifications", circuit.name)
                logger.info(
                    "older or repeated alarm notification ignored",
                    extra={"circuit": circuit.name, "alarm": alarm_name, "state": new_state},
                )
                return "stale"
            circuit = self._settle_expired_override(circuit, now)
            update = Update(sets={Attr.alarm_state(binding.role): new_state, changed_attr: changed_at_ms})
            update.when(
                f"attribute_not_exists(#{changed_attr}) OR #{changed_attr} < :changed_at", changed_at=changed_at_ms
            )
            target = self._alarm_target(circuit, binding.role, new_state, alarm_name)
            if target is None:
                # The first notification may create the item: Powertools cannot read one without a state.
                update.set_if_missing[Attr.STATE] = CLOSED
                new = self.store.update(circuit.name, update.when_generation(circuit.generation))
                outcome = "recorded"
            else:
                to_state, reason, target_update = target
                target_update.sets.update(update.sets)
                target_update.conditions += update.conditions
                target_update.values.update(update.values)
                new = self._transition(circuit, target_update, to_state, reason)
                outcome = f"{circuit.state} -> {to_state}"
            if new is not None:
                return outcome
        raise Contention(f"circuit {binding.circuit!r} kept changing while applying alarm {alarm_name!r}")

    def _alarm_target(self, circuit: Circuit, role: str, state: str, alarm: str) -> tuple[str, str, Update] | None:
        """The transition an alarm state asks for, or None when it only needs recording."""
        if circuit.override:
            return None
        if state == ALARM and circuit.state != OPEN:
            open_count = circuit.open_count + 1 if circuit.state == HALF_OPEN else 0
            return OPEN, f"{role} alarm {alarm} in ALARM", self._open_update(open_count)
        if state == OK and role == "healthcheck" and circuit.state != CLOSED and circuit.healthcheck_alarm == ALARM:
            if self.settings.healthcheck_recovery == "close":
                return CLOSED, f"healthcheck alarm {alarm} back to OK", self._close_update(ramp=True)
            if circuit.state == OPEN:
                update = Update(
                    sets={Attr.PROBES_IN_FLIGHT: 0, Attr.SUCCESS_COUNT: 0},
                    removes={Attr.HALF_OPEN_OWNER, Attr.PROBE_LEASE_EXPIRY},
                )
                return HALF_OPEN, f"healthcheck alarm {alarm} back to OK; probing", update
        return None

    # ------------------------------------------------------------------ operator overrides

    def force(self, name: str, override: str, who: str, why: str, expires_at: float | None = None) -> Circuit:
        """Hold a circuit FORCED_OPEN or FORCED_CLOSED; automation never changes it until released or expired."""
        if override not in OVERRIDES:
            raise ValueError(f"override must be one of {', '.join(OVERRIDES)}")
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            raise ValueError("the override would already have expired")
        audit: dict[str, Any] = {
            Attr.OVERRIDE: override,
            Attr.OVERRIDE_BY: who,
            Attr.OVERRIDE_REASON: why,
            Attr.OVERRIDE_AT: self._timestamp(now),
        }
        removes = {Attr.OVERRIDE_EXPIRES_AT}
        if expires_at is not None:
            audit[Attr.OVERRIDE_EXPIRES_AT] = to_number(expires_at)
            removes = set()
        reason = f"{override.lower().replace('_', ' ')} by {who}: {why}"
        for _ in range(_CONFLICT_RETRIES):
            circuit = self.store.read(name, consistent=True)
            if override == FORCED_OPEN:
                update = Update(
                    sets={Attr.OPENED_AT: int(now), Attr.HALF_OPEN_OWNER: FORCED_OPEN_OWNER},
                    removes=(_PROBE_ATTRS - {Attr.HALF_OPEN_OWNER}) | {Attr.OPEN_UNTIL} | _RAMP_ATTRS,
                )
                to_state = OPEN
            else:
                update = self._close_update()
                to_state = CLOSED
            update.sets.update(audit)
            update.removes |= removes
            new = self._transition(circuit, update, to_state, reason)
            if new is not None:
                return new
        raise Contention(f"circuit {name!r} kept changing; try again")

    def release(self, name: str, who: str, why: str) -> Circuit:
        """End an override. A released FORCED_OPEN admits a probe next; a released FORCED_CLOSED stays CLOSED."""
        for _ in range(_CONFLICT_RETRIES):
            circuit = self.store.read(name, consistent=True)
            if circuit.override is None:
                raise ValueError(f"circuit {name!r} has no override to release")
            new = self._release(circuit, who, why, self.clock())
            if new is not None:
                return new
        raise Contention(f"circuit {name!r} kept changing; try again")

    def get(self, name: str) -> Circuit:
        circuit = self.store.read(name, consistent=True)
        if not circuit.stored:
            raise CircuitNotFound(f"no circuit named {name!r} in table {self.store.table_name}")
        return circuit

    def _release(self, circuit: Circuit, who: str, why: str, now: float) -> Circuit | None:
        if circuit.override == FORCED_OPEN:
            # Open until the whole second, never after `now`: the call that settles an expiry may be the probe.
            update = Update(
                sets={Attr.OPENED_AT: int(now), Attr.OPEN_UNTIL: int(now), Attr.OPEN_COUNT: 0},
                removes=_PROBE_ATTRS | _OVERRIDE_ATTRS | _RAMP_ATTRS,
            )
            to_state, reason = OPEN, f"override released by {who}: {why}; probing next"
        else:
            update = self._close_update()
            update.removes |= _OVERRIDE_ATTRS
            to_state, reason = CLOSED, f"override released by {who}: {why}"
        return self._transition(
            circuit, update.when("#override = :override", override=circuit.override), to_state, reason
        )

    def _settle_expired_override(self, circuit: Circuit, now: float) -> Circuit:
        if circuit.override is None or circuit.override_expires_at is None or circuit.override_expires_at > now:
            return circuit
        released = self._release(circuit, "expiry", "override expired", now)
        return released or self.store.read(circuit.name, consistent=True)

    # ------------------------------------------------------------------ shared pieces

    def _open_update(self, open_count: int, retry_after: float | None = None) -> Update:
        now = self.clock()
        return Update(
            sets={
                Attr.OPENED_AT: int(now),
                Attr.OPEN_UNTIL: to_number(now + self.open_duration(open_count, retry_after)),
                Attr.OPEN_COUNT: open_count,
            },
            removes=_PROBE_ATTRS | _RAMP_ATTRS,
        )

    def _close_update(self, ramp: bool = False) -> Update:
        """A close; after a recovery (`ramp`), with ramp_up_seconds, the ramp starts. An operator's close has none."""
        # A success's reset read before the close carries an older generation: it can no longer apply.
        update = Update(
            sets={Attr.FAILURE_COUNT: 0, Attr.OPEN_COUNT: 0}, removes=_PROBE_ATTRS | _OPEN_ATTRS | _RAMP_ATTRS
        )
        if ramp and self.settings.ramp_up_seconds > 0:
            now = self.clock()
            update.sets[Attr.RAMP_STARTED_AT] = to_number(now)
            update.sets[Attr.RAMP_UNTIL] = to_number(now + self.settings.ramp_up_seconds)
        return update

    def open_duration(self, open_count: int, retry_after: float | None = None) -> float:
        """Base duration on a trip; after the n-th consecutive reopen, jittered up to base * 2**n, capped. A retry
        hint from the downstream lengthens it, up to the cap (max_open_duration_seconds)."""
        base, cap = self.settings.open_duration_seconds, self.settings.max_open_duration_seconds
        duration = base
        if open_count > 0:
            ceiling = min(cap, base * 2 ** min(open_count, 32))
            duration = float(base + self.jitter() * (ceiling - base))
        if retry_after is not None:
            duration = min(max(duration, retry_after), cap)
        return duration

    def _transition(self, circuit: Circuit, update: Update, to_state: str, reason: str) -> Circuit | None:
        """Write `update` as a transition to `to_state`: generation + 1, conditional on the generation read."""
        now = self.clock()
        generation = circuit.generation + 1
        update.sets.update(
            {
                Attr.STATE: to_state,
                Attr.GENERATION: generation,
                Attr.REASON: reason[:1000],
                Attr.UPDATED_AT: self._timestamp(now),
            }
        )
        # Powertools stamps a TTL on its records; a circuit this module holds must never be reaped.
        update.removes.add(Attr.EXPIRATION)
        new = self.store.update(circuit.name, update.when_generation(circuit.generation))
        if new is None:
            return None
        self.count(f"TransitionTo{to_state.title().replace('_', '')}", circuit.name)
        logger.info(
            "circuit transition",
            extra={
                "circuit": circuit.name,
                "generation": generation,
                "from_state": circuit.state,
                "to_state": to_state,
                "reason": new.reason,
                "mode": self.settings.mode,
            },
        )
        return new

    @staticmethod
    def _timestamp(now: float) -> str:
        return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
