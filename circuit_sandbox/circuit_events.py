"""The circuit events as a user's rule on the bus receives them: what the demo shows and the tests count.

Bus, source and instance are read from the deployed events function's configuration, by the function's
own settings reader (circuit_breaker.events), so nothing here restates them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from .aws.eventbridge import RuleObserver


class CircuitEventObserver(RuleObserver):
    """A rule sending every circuit event of `source` (of one instance, or one circuit, if given) to a queue."""

    def __init__(
        self,
        source: str,
        bus: str = "default",
        circuit_breaker: str | None = None,
        interval: float = 0.1,
        circuit: str | None = None,
    ) -> None:
        detail = {"circuitBreakerName": [circuit_breaker]} if circuit_breaker is not None else {}
        if circuit is not None:
            detail["circuitName"] = [circuit]
        pattern: dict[str, Any] = {"source": [source], "detail": detail} if detail else {"source": [source]}
        super().__init__(pattern, bus, interval)

    @classmethod
    def of_function(cls, function_name: str, interval: float = 0.1, circuit: str | None = None) -> CircuitEventObserver:
        """Observe the events the events function `function_name` puts on its bus (of `circuit` only, if given)."""
        from circuit_breaker.events import EventSettings

        variables = boto3.client("lambda").get_function_configuration(FunctionName=function_name)["Environment"][
            "Variables"
        ]
        settings = EventSettings.from_environment(variables)
        return cls(settings.source, settings.bus, settings.circuit_breaker, interval, circuit)

    def transitions(self) -> Counter[tuple[str, str]]:
        """Events per (previousStatus, status)."""
        return Counter((e["detail"]["previousStatus"], e["detail"]["status"]) for e in self.events)

    def to_json(self) -> dict[str, int]:
        """Events per transition, as the summary shows them: {"CLOSED -> OPEN": 1, ...}."""
        return {f"{previous} -> {status}": n for (previous, status), n in sorted(self.transitions().items())}
