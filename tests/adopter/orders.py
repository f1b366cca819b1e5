"""An adopter's fragile dependency: accepts an order, or fails when the request says the database is down."""


def handler(event, context):
    if event.get("database") == "down":
        raise ConnectionError("orders database unreachable")
    return {"order": event.get("order"), "status": "accepted"}
