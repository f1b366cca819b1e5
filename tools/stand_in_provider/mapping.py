"""The generic mapper between a resource's Terraform values and the botocore calls that manage it.

A resource type is a `Row` (the table is in aws.py). The request of an operation is built by
walking its botocore input shape, so member names come from the real API, never from a guess: a
member takes the argument of the same name (`kms_key_arn` for `KMSKeyArn`: names are compared
without case and underscores), a single nested block becomes a structure, a list of blocks a
list of structures, a string map a map or a list of name/value pairs (as the member's shape holds
it), and `tags` the provider's default tags merged with the resource's. A member the values leave
unset is taken from what an earlier call of the same change answered (the ARN a create returned).
Computed attributes are read from the answers by name in the same way.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tools.stand_in_provider.schemas import load_schemas

# Error codes that mean "no such object" in the services used here.
NOT_FOUND = {"ResourceNotFoundException", "ResourceNotFound", "NoSuchEntity", "NotFound", "NotFoundException"}
NOT_FOUND |= {"ParameterNotFound", "StateMachineDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"}
NOT_FOUND |= {"QueueDoesNotExist"}
# Optional and computed attributes of every resource that are no API's: the SDK's `id`, the provider's own.
OWN = ("id", "region", "tags_all")

Values = dict[str, Any]


class Aws(Protocol):
    """What a resource needs of the provider (aws.Aws): its clients, its region and its default tags."""

    @property
    def region(self) -> str: ...

    def client(self, service: str, region: str | None = None) -> Any: ...

    def tags(self, values: Values) -> dict[str, str]: ...


@dataclass(frozen=True)
class Op:
    """A call: the operation, the members it always sends (values, or functions of the values; None leaves a
    member out) whatever the mapping gives, and when it runs (a function of the values and the prior state)."""

    name: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    when: Callable[[Values, Values], Any] | None = None


def op(name: str, when: Callable[[Values, Values], Any] | None = None, **fixed: Any) -> Op:
    return Op(name, fixed, when)


Ops = str | Op | tuple[str | Op, ...]


@dataclass(frozen=True)
class Row:
    """One resource type.

    `create` runs its calls in order (the first creates, the others configure and read what
    exists). `computed` names the computed attributes read from their answers, each by its own
    name, or at the path after `=` (`arn=Role.Arn`), else from the values;
    `derived` computes the others, and `defaults` are AWS's values of what the emulator does not
    report. A change to an argument of `replaced` (or the region) replaces the object, as the
    real provider's schema marks them (ForceNew, hashicorp/terraform-provider-aws at 1a5174b; a
    nested block is named whole when any of its forcing attributes is); any other change runs
    `update`, or creates again a `put` (a call that creates or overwrites). `read` fails, or
    answers nothing at `found`, when the object is gone.
    """

    type_name: str
    service: str
    create: Ops
    read: Ops
    delete: Ops
    replaced: str
    update: Ops = ()
    put: bool = False
    members: Mapping[str, str | Callable[[Values], Any] | None] = field(default_factory=dict)
    computed: str = ""
    derived: Mapping[str, Callable[[Values], Any]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    named: str = ""  # made from `<named>_prefix` (else `prefix`) when unset, as the provider makes names
    prefix: str = "terraform-"
    fifo: str = ""  # the argument that makes the object FIFO: a name made for it ends in `.fifo`
    found: Callable[[Values, Values], Any] | str = ""
    recomputes: Mapping[str, str] = field(default_factory=dict)  # argument -> computed attributes it changes
    kind: type[Resource] | None = None  # hand-written code, where AWS is irregular


@functools.cache
def model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def schema(type_name: str) -> dict[str, Any]:
    return _schemas()[type_name]["block"]


def _schemas() -> dict[str, Any]:
    return load_schemas("aws")["resource_schemas"]


def key(name: str) -> str:
    return name.replace("_", "").lower()


def arguments(block: dict[str, Any]) -> dict[str, str]:
    """The block's arguments by their compared name: no computed-only attribute, nor one of OWN."""
    attributes = block.get("attributes", {}).items()
    names = [n for n, spec in attributes if spec.get("required") or (spec.get("optional") and n not in OWN)]
    return {key(n): n for n in [*names, *block.get("block_types", {})]}


class Resource:
    """A resource type managed as its row says; subclasses hand-code what AWS does irregularly."""

    def __init__(self, aws: Aws, row: Row) -> None:
        self.aws, self.row = aws, row
        self.type_name, self.replaced_by = row.type_name, frozenset({"region", *row.replaced.split()})

    def client(self, values: Values) -> Any:
        return self.aws.client(self.row.service, values.get("region"))

    def request(self, call: Op, values: Values, answered: Values | None = None) -> Values:
        """The arguments of `call` for the object `values` describes; unset members from `answered`."""
        shape = model(self.row.service).operation_model(call.name).input_shape
        request = {m: v for m in shape.members if (v := _find(answered or {}, m)) is not None}
        request |= self._structure(shape, {**values, "tags": self.aws.tags(values)}, schema(self.type_name))
        request |= {m: value(values) if callable(value) else value for m, value in call.fixed.items()}
        return {member: value for member, value in request.items() if value is not None}

    def _structure(self, shape: Any, values: Values, block: dict[str, Any]) -> Values:
        names, request = arguments(block), {}
        for member, member_shape in shape.members.items():
            source = self.row.members.get(member, names.get(member.lower()))
            if source is None:
                continue
            if callable(source):
                value = source(values)
                value = None if value == [] else value
            elif source == ".":  # the block's own values: an API structure the schema flattens into it
                value = self._shaped(member_shape, [values] if member_shape.type_name == "list" else values, block)
            else:
                nested = block.get("block_types", {}).get(source, {}).get("block", {})
                value = self._shaped(member_shape, values.get(source), nested)
            if value is not None:
                request[member] = value
        return request

    def _shaped(self, shape: Any, value: Any, block: dict[str, Any]) -> Any:
        """A Terraform value as `shape` holds it; None when empty."""
        if isinstance(value, list) and shape.type_name == "structure":
            value = value[0] if value else None  # a block of max_items = 1
        if shape.type_name == "structure" and value is not None:
            value = self._structure(shape, value, block)
        elif shape.type_name == "list" and shape.member.type_name == "structure" and isinstance(value, dict):
            key_member, value_member = list(shape.member.members)[:2]  # a string map, as name/value pairs
            value = [{key_member: k, value_member: v} for k, v in value.items()]
        elif shape.type_name == "list" and shape.member.type_name == "structure" and value:
            value = [self._structure(shape.member, element, block) for element in value]
        return value if value not in ([], {}) else None

    def run(self, calls: Ops, values: Values, prior: Values | None = None) -> Values:
        """Make the calls that apply (`when`), in order; what they answered, merged."""
        answered: Values = {}
        for call in (calls,) if isinstance(calls, str | Op) else calls:
            call = op(call) if isinstance(call, str) else call
            if call.when is None or call.when(values, prior or {}):
                method = getattr(self.client(values), _snake(call.name))
                answered |= method(**self.request(call, values, answered))
        return answered

    def computed(self, values: Values, answered: Values) -> Values:
        found = {**values, "region": values.get("region") or self.aws.region}
        computed: Values = {}
        for token in self.row.computed.split():
            name, _, path = token.partition("=")
            computed[name] = _dig({**found, **answered}, path) if path else _find(answered, key(name), found.get(name))
        computed |= {name: derive({**found, **answered}) for name, derive in self.row.derived.items()}
        computed = {k: _timestamp(v) if isinstance(v, datetime) else v for k, v in computed.items() if v is not None}
        return {**self.row.defaults, **computed}

    def name(self, values: Values) -> Values:
        """`values` with the name the provider makes when only a prefix (or nothing) is given."""
        named = self.row.named
        if not named or values.get(named):
            return values
        name = unique(values.get(f"{named}_prefix") or self.row.prefix)
        return {**values, named: name + (".fifo" if values.get(self.row.fifo) else "")}

    def create(self, values: Values) -> Values:
        values = self.name(values)
        return self.computed(values, self.run(self.row.create, values))

    def update(self, prior: Values, values: Values) -> Values:
        """Change the object `prior` describes to `values` (unknowns as None); the computed attributes
        `recomputed` made unknown."""
        if self.row.put:
            return self.create(values)
        if not self.row.update:
            raise NotImplementedError(f"the stand-in cannot update {self.type_name} in place: {sorted(values)}")
        return self.computed(values, self.run(self.row.update, values, prior))

    def recomputed(self, prior: Values, changed: set[str]) -> set[str]:
        """Computed attributes an in-place change of `changed` makes unknown until applied."""
        unknown = {"tags_all"} if "tags" in changed else set()
        return unknown.union(*(self.row.recomputes.get(name, "").split() for name in changed))

    def exists(self, state: Values) -> bool:
        def read() -> Any:
            answered, found = self.run(self.row.read, state), self.row.found
            return found(answered, state) if callable(found) else _dig(answered, found) if found else True

        return bool(_unless_missing(read, False))

    def delete(self, state: Values) -> None:
        if not state.get("skip_destroy"):
            _unless_missing(lambda: self.run(self.row.delete, state), None)


def _snake(name: str) -> str:
    """botocore's method name of an operation: PutMetricAlarm -> put_metric_alarm."""
    from botocore import xform_name

    return xform_name(name)


def _find(answered: Values, name: str, otherwise: Any = None) -> Any:
    """The value named `name` (compared without case and underscores) in an answer or one of its structures."""
    for item in [answered, *(v for v in answered.values() if isinstance(v, dict))]:
        match = next((v for k, v in item.items() if key(k) == key(name) and k != "ResponseMetadata"), None)
        if match is not None:
            return match
    return otherwise


def _dig(found: Any, path: str) -> Any:
    """The value at a dotted path (list items by index), or None."""
    for step in path.split("."):
        if isinstance(found, list):
            found = found[int(step)] if int(step) < len(found) else None
        else:
            found = found.get(step) if isinstance(found, dict) else None
    return found


def _unless_missing(call: Callable[[], Any], otherwise: Any) -> Any:
    """What `call()` returns, or `otherwise` when the object it reads or removes is gone; other errors propagate."""
    try:
        return call()
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") in NOT_FOUND:
            return otherwise
        raise


def first(blocks: list[Values] | None) -> Values:
    """The one element of a `max_items = 1` block, or {} when it is absent."""
    return (blocks or [{}])[0]


def unique(prefix: str) -> str:
    """A name as the provider makes one from a prefix: the prefix and 26 digits."""
    return f"{prefix}{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{time.time_ns() % 10**12:012d}"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(arn: str) -> str:
    return arn.split(":")[4]


def invoke_arn(found: Values, arn: str, path: str = "2015-03-31/functions/{}/invocations") -> str:
    """The API Gateway ARN that invokes a Lambda function or alias."""
    return f"arn:{arn.split(':')[1]}:apigateway:{found['region']}:lambda:path/{path.format(arn)}"
