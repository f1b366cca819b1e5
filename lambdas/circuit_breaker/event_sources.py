"""Paused event sources: the event source mappings of a queue consumer follow its circuit.

A consumer that an event source mapping feeds (SQS, Kinesis, a DynamoDB stream) and that calls
the downstream through the circuit breaker turns every short-circuited call into a failed
message: back to its queue with one more receive, and, after a few, into the dead-letter queue.
Its mappings are paused instead: disabled while the circuit is OPEN, HALF_OPEN or FORCED_OPEN, so
messages wait where they are, and enabled again when it is CLOSED or FORCED_CLOSED.

The events function applies this from the table's stream, which holds every writer's changes
(this module, `circuitctl`, Powertools), in each circuit's order. A change is followed by setting
each mapping to what the circuit's new status wants; a mapping already there (or on its way
there: Enabling, Disabling) is left alone, so a retried record changes nothing twice.

In observe mode no call is short-circuited, so nothing is paused: the mappings are kept enabled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from circuit_breaker.exceptions import EventSourceError
from circuit_breaker.model import CLOSED, FORCED_CLOSED, Circuit

# What a mapping's State is when it is, or is becoming, enabled or disabled (Lambda's API).
ENABLED_STATES = ("Enabled", "Enabling")
DISABLED_STATES = ("Disabled", "Disabling")


def admits_calls(circuit: Circuit, mode: str = "enforce") -> bool:
    """Whether the circuit lets a consumer's calls through: its mappings are enabled exactly then."""
    return mode == "observe" or (circuit.override or circuit.state) in (CLOSED, FORCED_CLOSED)


def mappings_from_json(text: str) -> dict[str, tuple[str, ...]]:
    """The EVENT_SOURCE_MAPPINGS variable: {circuit: [event source mapping UUID, ...]}."""
    try:
        value = json.loads(text or "{}")
    except ValueError as error:
        raise ValueError(f"EVENT_SOURCE_MAPPINGS is not JSON: {error}") from None
    if not isinstance(value, dict) or not all(
        isinstance(circuit, str) and isinstance(uuids, list) and all(isinstance(uuid, str) and uuid for uuid in uuids)
        for circuit, uuids in value.items()
    ):
        raise ValueError("EVENT_SOURCE_MAPPINGS must map circuit names to lists of event source mapping UUIDs")
    return {circuit: tuple(uuids) for circuit, uuids in value.items()}


@dataclass
class EventSources:
    """The mappings each circuit pauses, and the Lambda client that sets them."""

    mappings: Mapping[str, tuple[str, ...]]
    client: Any = None  # a boto3 Lambda client
    # Called with (circuit, mapping UUID, enabled) after each mapping it changed.
    on_changed: Callable[[str, str, bool], None] = field(default=lambda circuit, uuid, enabled: None)

    def follow(self, circuit: Circuit, mode: str = "enforce") -> list[str]:
        """Set the circuit's mappings to what its status wants; the UUIDs of those it changed."""
        enabled = admits_calls(circuit, mode)
        changed = []
        for uuid in self.mappings.get(circuit.name, ()):
            try:
                state = self.client.get_event_source_mapping(UUID=uuid).get("State")
                if state in (ENABLED_STATES if enabled else DISABLED_STATES):
                    continue
                # A mapping in another transition (Creating, Updating) refuses the update with
                # ResourceInUseException: the record is retried, and the update with it.
                self.client.update_event_source_mapping(UUID=uuid, Enabled=enabled)
            except (ClientError, BotoCoreError) as error:
                raise EventSourceError(
                    circuit.name,
                    f"{'enabling' if enabled else 'disabling'} event source mapping {uuid} "
                    f"of circuit {circuit.name!r} failed: {error}",
                ) from error
            changed.append(uuid)
            self.on_changed(circuit.name, uuid, enabled)
        return changed
