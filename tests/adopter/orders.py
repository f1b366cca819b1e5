"""An adopter's fragile dependency: accepts orders while its database is up (the DATABASE variable says)."""

import os


def handler(event, context):
    if os.environ.get("DATABASE") == "down":
        raise ConnectionError("orders database unreachable")
    return {"order": event.get("order"), "status": "accepted"}
