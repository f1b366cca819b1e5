"""A small interpreter for the rendered state machine definition, for the simulator.

The simulator must route each call as the state machine does, so it runs the definition
itself rather than a restatement of it: states are followed by their `Next`, `Default` and
`Catch`; Choice rules, `Parameters`, `ResultSelector`, `ResultPath` and `OutputPath` are
evaluated on the state data. Task states are handed to the caller, which performs them
(reads its table, runs the circuit code, plays the downstream) and sends back the result,
or throws `TaskFailed`.

It implements what the module's definition uses and refuses the rest at load time:
Choice rules with Variable and IsPresent / StringEquals / IsString / IsNumeric /
NumericGreaterThanEquals, And / Or / Not, Default;
reference paths (`$`, `$.a.b`, `$$.Execution.Input`, `$$.Execution.Id`); Pass, Task,
Choice, Fail and Succeed states. Like Step Functions, a Choice comparison of a path that
is not present fails the execution (States.Runtime); the definition guards with IsPresent.
Retries are not modelled: a task error that a Retry would catch is an error here.

It is a deliberate replica of moto's interpreter, for speed: tests/circuit_bench/test_simulation.py
replays the same calls through both and requires the same route for every call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

_MISSING = object()
Template = Callable[[Any, dict], Any]  # (state data, context object) -> value
Rule = Callable[[Any], bool]


class TaskFailed(Exception):
    """What a task's performer throws into the execution: an error name and cause, as Step Functions reports them."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(error)
        self.error, self.cause = error, cause


class PathMissing(Exception):
    """A reference path selected nothing: Step Functions fails the execution with States.Runtime."""


class Task(NamedTuple):
    """A Task state to perform: its resource and its effective parameters."""

    state: str
    resource: str
    parameters: Any


@dataclass
class Finished:
    status: str  # SUCCEEDED or FAILED
    states: list[str]
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class _State:
    name: str
    type: str
    next: str | None
    end: bool
    rules: list[tuple[Rule, str]] = field(default_factory=list)
    default: str | None = None
    # Every Choice variable lies under this path; when the value there is the very object the last
    # execution had (state data is never changed in place), the choice is the same.
    choice_prefix: tuple[str, ...] = ()
    last_choice: tuple[Any, str | None] = (_MISSING, None)
    input_path: Callable[[Any, dict], Any] | None = None
    parameters: Template | None = None
    result: Any = _MISSING
    result_selector: Template | None = None
    result_path: Callable[[Any, Any], Any] | None = None
    output_path: Callable[[Any, dict], Any] | None = None
    resource: str | None = None
    catchers: list[tuple[tuple[str, ...], Callable[[Any, Any], Any], str]] = field(default_factory=list)
    retried: tuple[str, ...] = ()
    error: str | None = None
    error_path: Callable[[Any, dict], Any] | None = None
    cause: str | None = None
    cause_path: Callable[[Any, dict], Any] | None = None


class StateMachine:
    """A parsed definition; `run` is one execution."""

    def __init__(self, definition: str | dict) -> None:
        parsed = json.loads(definition) if isinstance(definition, str) else definition
        self.start: str = parsed["StartAt"]
        self.states = {name: _compile(name, state) for name, state in parsed["States"].items()}
        for state in self.states.values():
            for target in (state.next, state.default, *(n for _, n in state.rules), *(n for *_, n in state.catchers)):
                if target is not None and target not in self.states:
                    raise ValueError(f"state {state.name} goes to {target!r}, which is not defined")

    def run(self, execution_input: Any, execution_id: str) -> Generator[Task, Any, Finished]:
        """Run one execution: yields each Task to perform; send its result or throw TaskFailed."""
        context = {"Execution": {"Id": execution_id, "Input": execution_input}}
        data, name, entered = execution_input, self.start, []
        while True:
            state = self.states[name]
            entered.append(name)
            try:
                if state.type == "Choice":
                    chosen = _choose(state, data)
                    if chosen is None:
                        return Finished("FAILED", entered, error="States.NoChoiceMatched")
                    name = chosen
                    continue
                if state.type == "Fail":
                    error = state.error_path(data, context) if state.error_path else state.error
                    cause = state.cause_path(data, context) if state.cause_path else state.cause
                    return Finished("FAILED", entered, error=error, cause=cause)
                effective = state.input_path(data, context) if state.input_path else data
                if state.type == "Succeed":
                    return Finished("SUCCEEDED", entered, output=effective)
                if state.type == "Pass":
                    result = (
                        state.result
                        if state.result is not _MISSING
                        else state.parameters(effective, context)
                        if state.parameters
                        else effective
                    )
                else:
                    parameters = state.parameters(effective, context) if state.parameters else effective
                    try:
                        result = yield Task(name, state.resource or "", parameters)
                    except TaskFailed as failure:
                        if failure.error in state.retried or "States.ALL" in state.retried:
                            raise NotImplementedError(
                                f"{name}: the simulator does not model retries of {failure.error}"
                            ) from None
                        caught = next(
                            (
                                (path, target)
                                for errors, path, target in state.catchers
                                if failure.error in errors or "States.ALL" in errors
                            ),
                            None,
                        )
                        if caught is None:
                            return Finished("FAILED", entered, error=failure.error, cause=failure.cause)
                        data = caught[0](data, {"Error": failure.error, "Cause": failure.cause})
                        name = caught[1]
                        continue
                    if state.result_selector:
                        result = state.result_selector(result, context)
                data = state.result_path(data, result) if state.result_path else result
                if state.output_path:
                    data = state.output_path(data, context)
            except PathMissing as missing:
                return Finished("FAILED", entered, error="States.Runtime", cause=f"{name}: {missing}")
            if state.end or state.next is None:
                return Finished("SUCCEEDED", entered, output=data)
            name = state.next


def _choose(state: _State, data: Any) -> str | None:
    basis = _lookup(data, state.choice_prefix)
    if basis is state.last_choice[0] and basis is not _MISSING:
        return state.last_choice[1]
    chosen = next((target for rule, target in state.rules if rule(data)), state.default)
    state.last_choice = (basis, chosen)
    return chosen


# ---------------------------------------------------------------------------- compiling


_SUPPORTED = {
    "Choice": {"Type", "Comment", "Choices", "Default"},
    "Pass": {"Type", "Comment", "Parameters", "Result", "ResultPath", "InputPath", "OutputPath", "Next", "End"},
    "Task": {
        "Type",
        "Comment",
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "InputPath",
        "OutputPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "Next",
        "End",
    },
    "Fail": {"Type", "Comment", "Error", "ErrorPath", "Cause", "CausePath"},
    "Succeed": {"Type", "Comment", "InputPath", "OutputPath"},
}


def _compile(name: str, spec: dict) -> _State:
    kind = spec["Type"]
    if kind not in _SUPPORTED:
        raise ValueError(f"state {name}: the simulator does not run {kind} states")
    unknown = set(spec) - _SUPPORTED[kind]
    if unknown:
        raise ValueError(f"state {name}: the simulator does not implement {', '.join(sorted(unknown))}")
    state = _State(name, kind, spec.get("Next"), bool(spec.get("End")))
    if kind == "Choice":
        state.rules = [(_rule(rule), rule["Next"]) for rule in spec["Choices"]]
        state.default = spec.get("Default")
        state.choice_prefix = _common_prefix([_steps(v)[1] for rule in spec["Choices"] for v in _variables(rule)])
        return state
    if kind == "Fail":
        state.error, state.cause = spec.get("Error"), spec.get("Cause")
        state.error_path = _reference(spec["ErrorPath"]) if "ErrorPath" in spec else None
        # A CausePath may be an intrinsic function (States.Format); the simulator reports no cause then.
        cause_path = spec.get("CausePath")
        state.cause_path = _reference(cause_path) if cause_path and cause_path.startswith("$") else None
        return state
    if "InputPath" in spec:
        state.input_path = _reference(spec["InputPath"])
    if "OutputPath" in spec:
        state.output_path = _reference(spec["OutputPath"])
    if "Parameters" in spec:
        state.parameters = _template(spec["Parameters"])
    if "Result" in spec:
        state.result = spec["Result"]
    if "ResultSelector" in spec:
        state.result_selector = _template(spec["ResultSelector"])
    state.result_path = _result_path(spec["ResultPath"]) if "ResultPath" in spec else None
    if kind == "Task":
        state.resource = spec["Resource"]
        state.retried = tuple(error for retrier in spec.get("Retry", []) for error in retrier["ErrorEquals"])
        state.catchers = [
            (tuple(catcher["ErrorEquals"]), _result_path(catcher.get("ResultPath", "$")), catcher["Next"])
            for catcher in spec.get("Catch", [])
        ]
    return state


def _steps(path: str) -> tuple[bool, tuple[str, ...]]:
    """(context object?, keys) of a reference path like `$.a.b` or `$$.Execution.Input`."""
    context = path.startswith("$$")
    body = path[2:] if context else path[1:]
    if not path.startswith("$") or (body and not body.startswith(".")):
        raise ValueError(f"the simulator supports reference paths like $.a.b only, not {path!r}")
    keys = tuple(body[1:].split(".")) if body else ()
    if any(not key or not key.replace("_", "").isalnum() for key in keys):
        raise ValueError(f"the simulator supports reference paths like $.a.b only, not {path!r}")
    return context, keys


def _lookup(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if type(value) is not dict:
            return _MISSING
        value = value.get(key, _MISSING)
        if value is _MISSING:
            break
    return value


def _variables(rule: dict) -> list[str]:
    if "Variable" in rule:
        return [rule["Variable"]]
    nested = [rule["Not"]] if "Not" in rule else rule.get("And", []) + rule.get("Or", [])
    return [variable for part in nested for variable in _variables(part)]


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    prefix = paths[0] if paths else ()
    for path in paths[1:]:
        length = 0
        while length < min(len(prefix), len(path)) and prefix[length] == path[length]:
            length += 1
        prefix = prefix[:length]
    return prefix


def _reference(path: str) -> Callable[[Any, dict], Any]:
    context, keys = _steps(path)
    if not keys:
        return (lambda data, context_object: context_object) if context else (lambda data, context_object: data)

    def select(data: Any, context_object: dict) -> Any:
        value = _lookup(context_object if context else data, keys)
        if value is _MISSING:
            raise PathMissing(f"{path} is not present")
        return value

    return select


def _has_paths(template: Any) -> bool:
    if isinstance(template, dict):
        return any(key.endswith(".$") or _has_paths(value) for key, value in template.items())
    return isinstance(template, list) and any(_has_paths(item) for item in template)


def _template(template: Any) -> Template:
    """Parameters / ResultSelector: keys ending in `.$` take the value at a path, the rest are literal.

    A part without paths is one shared object (nothing changes state data in place)."""
    if not _has_paths(template):
        return lambda data, context: template
    if isinstance(template, list):
        parts = [_template(item) for item in template]
        return lambda data, context: [part(data, context) for part in parts]
    if not isinstance(template, dict):
        return lambda data, context: template
    constants, fields = {}, []
    for key, value in template.items():
        if key.endswith(".$"):
            if not isinstance(value, str) or not value.startswith("$"):
                raise ValueError(f"the simulator supports paths, not intrinsic functions: {key}: {value!r}")
            fields.append((key[:-2], _reference(value)))
        elif _has_paths(value):
            fields.append((key, _template(value)))
        else:
            constants[key] = value

    def build(data: Any, context: dict) -> dict:
        built = dict(constants)
        for key, part in fields:
            built[key] = part(data, context)
        return built

    return build


def _result_path(path: str | None) -> Callable[[Any, Any], Any]:
    """Where a state's result goes in its input: replace it (`$`), discard it (null), or set it at `$.a.b`."""
    if path is None:
        return lambda data, result: data
    context, keys = _steps(path)
    if context:
        raise ValueError(f"a ResultPath cannot point into the context object: {path!r}")
    if not keys:
        return lambda data, result: result

    def place(data: Any, result: Any) -> Any:
        placed = dict(data) if isinstance(data, dict) else {}
        target = placed
        for key in keys[:-1]:
            target[key] = dict(target[key]) if isinstance(target.get(key), dict) else {}
            target = target[key]
        target[keys[-1]] = result
        return placed

    return place


def _rule(rule: dict) -> Rule:
    """A Choice rule (without its Next) as a predicate of the state data."""
    body = {key: value for key, value in rule.items() if key != "Next"}
    if set(body) == {"And"}:
        parts = [_rule(part) for part in body["And"]]

        def every(data: Any) -> bool:
            return all(part(data) for part in parts)

        return every
    if set(body) == {"Or"}:
        parts = [_rule(part) for part in body["Or"]]

        def some(data: Any) -> bool:
            return any(part(data) for part in parts)

        return some
    if set(body) == {"Not"}:
        inner = _rule(body["Not"])
        return lambda data: not inner(data)
    operators = set(body) - {"Variable"}
    if "Variable" not in body or len(operators) != 1:
        raise ValueError(f"unsupported Choice rule {rule!r}")
    operator = operators.pop()
    variable, expected = body["Variable"], body[operator]
    context, keys = _steps(variable)
    if context:
        raise ValueError(f"the simulator reads Choice variables from the state data, not {variable!r}")
    if operator == "IsPresent":
        return lambda data: (_lookup(data, keys) is not _MISSING) is bool(expected)
    if operator == "StringEquals":

        def equals(data: Any) -> bool:
            value = _lookup(data, keys)
            if value is _MISSING:
                raise PathMissing(f"Choice variable {variable} is not present")
            return isinstance(value, str) and value == expected

        return equals
    if operator in ("IsString", "IsNumeric"):
        kinds: tuple[type, ...] = (str,) if operator == "IsString" else (int, float)

        def is_kind(data: Any) -> bool:
            value = _lookup(data, keys)
            if value is _MISSING:
                raise PathMissing(f"Choice variable {variable} is not present")
            return (isinstance(value, kinds) and not isinstance(value, bool)) is bool(expected)

        return is_kind
    if operator == "NumericGreaterThanEquals":

        def at_least(data: Any) -> bool:
            value = _lookup(data, keys)
            if value is _MISSING:
                raise PathMissing(f"Choice variable {variable} is not present")
            return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= expected

        return at_least
    raise ValueError(f"the simulator does not evaluate Choice operator {operator}")
