"""Example fallback: answers while the circuit is open, with a degraded response."""


def lambda_handler(event, context):
    circuit = event.get("circuit", {}) if isinstance(event, dict) else {}
    return {"ok": False, "degraded": True, "circuit": circuit.get("circuit"), "reason": circuit.get("reason")}
