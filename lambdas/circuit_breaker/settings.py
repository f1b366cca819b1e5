"""Circuit settings, read once per execution environment from the variables Terraform sets.

`ENVIRONMENT` is the single list of variable names: the HCL contract test compares it
with what `lambda.tf` sets, so a renamed variable fails a test instead of a deployment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from circuit_breaker.exceptions import ConfigurationError
from circuit_breaker.model import DEFAULT_TABLE_KEY, TableKey

_N = TypeVar("_N", int, float)

ON_STORE_ERROR = ("fail_open", "fail_closed")
HEALTHCHECK_RECOVERY = ("close", "half_open")
INSUFFICIENT_DATA = ("ignore", "alarm", "ok")
ENFORCE, OBSERVE = "enforce", "observe"  # observe: trips and recovers as enforce, and short-circuits nothing
ALARM_ROLES = ("downstream", "healthcheck", "store_errors", "events_pipeline")
# Alarms that only notify: they change no circuit (the store they would write to may be what is failing, and the
# events pipeline is not the dependency).
NOTIFY_ONLY_ROLES = ("store_errors", "events_pipeline")
# Far beyond any sensible circuit and well within what DynamoDB numbers hold: a setting past
# them fails the cold start instead of the first trip (decimal.Overflow) or probe (decimal.Rounded).
MAX_COUNT = 1_000_000
MAX_SECONDS = 366 * 86400
# The JSONPaths into a result or an error the module reads: $ followed by field names (variables.tf, the same rule).
_FIELD_PATH = re.compile(r"\$(\.[A-Za-z_][A-Za-z0-9_]*)+")

# name -> (required, default). Defaults mirror variables.tf.
ENVIRONMENT: dict[str, tuple[bool, str]] = {
    "TABLE_NAME": (True, ""),
    "TABLE_KEY": (False, "{}"),
    "CIRCUIT_NAME": (True, ""),
    "ALLOWED_CIRCUITS": (False, "[]"),
    "FAILURE_THRESHOLD": (False, "10"),
    "SUCCESS_THRESHOLD": (False, "1"),
    "HALF_OPEN_MAX_PROBES": (False, "1"),
    "OPEN_DURATION_SECONDS": (False, "30"),
    "MAX_OPEN_DURATION_SECONDS": (False, "300"),
    "PROBE_LEASE_SECONDS": (False, "30"),
    "ON_STORE_ERROR": (False, "fail_open"),
    "IGNORED_ERRORS": (False, "[]"),
    "COUNTED_ERRORS": (False, "[]"),
    "HEALTHCHECK_RECOVERY": (False, "close"),
    "INSUFFICIENT_DATA": (False, "ignore"),
    "ALARMS": (False, "{}"),
    "FALLBACK_MODE": (False, "fail"),
    "RETRY_AFTER_PATH": (False, ""),
    "MODE": (False, "enforce"),
    "RAMP_UP_SECONDS": (False, "0"),
}


@dataclass(frozen=True)
class AlarmBinding:
    """Which circuit an alarm belongs to, and whether it watches the downstream or the healthcheck."""

    circuit: str
    role: str


@dataclass(frozen=True)
class Settings:
    table_name: str
    circuit_name: str
    table_key: TableKey = DEFAULT_TABLE_KEY
    allowed_circuits: frozenset[str] = frozenset()
    failure_threshold: int = 10
    success_threshold: int = 1
    half_open_max_probes: int = 1
    open_duration_seconds: float = 30.0
    max_open_duration_seconds: float = 300.0
    probe_lease_seconds: float = 30.0
    on_store_error: str = "fail_open"
    ignored_errors: frozenset[str] = frozenset()
    counted_errors: frozenset[str] = frozenset()  # empty: every error counts but the ignored ones
    healthcheck_recovery: str = "close"
    insufficient_data: str = "ignore"
    alarms: Mapping[str, AlarmBinding] = field(default_factory=dict)
    fallback_mode: str = "fail"
    # Where the downstream gives its retry hint in seconds ("$.a.b", field names only), or None: not read.
    retry_after_path: str | None = None
    mode: str = ENFORCE
    # After a recovery, how long calls take to be all admitted again (in RAMP_SHARES steps); 0: all at once.
    ramp_up_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "success_threshold", "half_open_max_probes"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1, got {getattr(self, name)}")
            _at_most(name, getattr(self, name), MAX_COUNT)
        for name in ("open_duration_seconds", "probe_lease_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be greater than 0, got {getattr(self, name)}")
        if not self.ramp_up_seconds >= 0:
            raise ConfigurationError(f"ramp_up_seconds must be 0 (no ramp) or more, got {self.ramp_up_seconds}")
        for name in ("open_duration_seconds", "max_open_duration_seconds", "probe_lease_seconds", "ramp_up_seconds"):
            _at_most(name, getattr(self, name), MAX_SECONDS)
        if self.max_open_duration_seconds < self.open_duration_seconds:
            raise ConfigurationError("max_open_duration_seconds must be >= open_duration_seconds")
        _one_of("on_store_error", self.on_store_error, ON_STORE_ERROR)
        _one_of("healthcheck_recovery", self.healthcheck_recovery, HEALTHCHECK_RECOVERY)
        _one_of("insufficient_data", self.insufficient_data, INSUFFICIENT_DATA)
        _one_of("fallback_mode", self.fallback_mode, ("fail", "payload", "function"))
        _one_of("mode", self.mode, (ENFORCE, OBSERVE))
        if self.retry_after_path is not None and not _FIELD_PATH.fullmatch(self.retry_after_path):
            path = self.retry_after_path
            raise ConfigurationError(f"retry_after_path must be a JSONPath of field names, got {path!r}")
        if self.ignored_errors and self.counted_errors:
            raise ConfigurationError("set counted_errors or ignored_errors, not both")
        for alarm, binding in self.alarms.items():
            _one_of(f"role of alarm {alarm!r}", binding.role, ALARM_ROLES)

    def counts(self, error: str) -> bool:
        """Whether a downstream error counts as a failure: listed in counted_errors if any, else not ignored."""
        if self.counted_errors:
            return error in self.counted_errors
        return error not in self.ignored_errors

    def circuit_of(self, alarm: str) -> str:
        """The circuit an alarm belongs to; this instance's own for an alarm bound to none."""
        binding = self.alarms.get(alarm)
        return self.circuit_name if binding is None else binding.circuit

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        get = reader(ENVIRONMENT, environ)
        return cls(
            table_name=get("TABLE_NAME"),
            circuit_name=get("CIRCUIT_NAME"),
            table_key=_table_key(get("TABLE_KEY")),
            allowed_circuits=frozenset(_json(get, "ALLOWED_CIRCUITS", list)),
            failure_threshold=_number(get, "FAILURE_THRESHOLD", int),
            success_threshold=_number(get, "SUCCESS_THRESHOLD", int),
            half_open_max_probes=_number(get, "HALF_OPEN_MAX_PROBES", int),
            open_duration_seconds=_number(get, "OPEN_DURATION_SECONDS", float),
            max_open_duration_seconds=_number(get, "MAX_OPEN_DURATION_SECONDS", float),
            probe_lease_seconds=_number(get, "PROBE_LEASE_SECONDS", float),
            on_store_error=get("ON_STORE_ERROR"),
            ignored_errors=frozenset(_json(get, "IGNORED_ERRORS", list)),
            counted_errors=frozenset(_json(get, "COUNTED_ERRORS", list)),
            healthcheck_recovery=get("HEALTHCHECK_RECOVERY"),
            insufficient_data=get("INSUFFICIENT_DATA"),
            alarms=_alarm_bindings(_json(get, "ALARMS", dict)),
            fallback_mode=get("FALLBACK_MODE"),
            retry_after_path=get("RETRY_AFTER_PATH") or None,
            mode=get("MODE"),
            ramp_up_seconds=_number(get, "RAMP_UP_SECONDS", float),
        )

    def retry_hint(self, document: Any) -> float | None:
        """The seconds `document` (a result, an error document) asks to wait at retry_after_path: a positive
        number, or a string of one (as an HTTP Retry-After header gives it); None when there is no such number."""
        if self.retry_after_path is None:
            return None
        value = document
        for key in self.retry_after_path.split(".")[1:]:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        try:
            seconds = float(value)
        except ValueError:
            return None
        return seconds if 0 < seconds <= MAX_SECONDS else None  # NaN and infinity fail both bounds


def reader(variables: Mapping[str, tuple[bool, str]], environ: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """How a function reads its `variables` (name -> (required, default)) from `environ` (default: os.environ):
    each by name, its default when unset or empty. Raises ConfigurationError naming every required one missing."""
    env = os.environ if environ is None else environ
    missing = [name for name, (required, _) in variables.items() if required and not env.get(name)]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    return lambda name: env.get(name) or variables[name][1]


def _at_most(name: str, value: float, limit: float) -> None:
    if not value <= limit:  # written so that NaN fails too
        raise ConfigurationError(f"{name} must be at most {limit}, got {value}")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _number(get: Callable[[str], str], name: str, kind: Callable[[str], _N]) -> _N:
    raw = get(name)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a {getattr(kind, '__name__', kind)}, got {raw!r}") from None


def _json(get: Callable[[str], str], name: str, kind: type) -> Any:
    try:
        value = json.loads(get(name))
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, kind):
        raise ConfigurationError(f"{name} must be a JSON {kind.__name__}")
    return value


def _table_key(text: str) -> TableKey:
    try:
        return TableKey.from_json(text)
    except ValueError as error:  # json.JSONDecodeError included
        raise ConfigurationError(f"TABLE_KEY: {error}") from None


def _alarm_bindings(raw: dict[str, Any]) -> dict[str, AlarmBinding]:
    bindings = {}
    for alarm, binding in raw.items():
        if not isinstance(binding, dict) or not {"circuit", "role"} <= binding.keys():
            raise ConfigurationError(f"ALARMS[{alarm!r}] must be an object with circuit and role")
        bindings[alarm] = AlarmBinding(circuit=str(binding["circuit"]), role=str(binding["role"]))
    return bindings
