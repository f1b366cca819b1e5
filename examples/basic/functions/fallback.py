"""Example fallback: answers while the circuit is open, with a degraded response.

The event is {"input": the execution input, "circuit": {"circuit", "action", "state", "reason",
"retry_after_seconds"}}.
"""


def lambda_handler(event, context):
    circuit = event.get("circuit", {}) if isinstance(event, dict) else {}
    return {
        "ok": False,
        "degraded": True,
        "circuit": circuit.get("circuit"),
        "reason": circuit.get("reason"),
        "retry_after_seconds": circuit.get("retry_after_seconds"),
    }
