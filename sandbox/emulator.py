"""What the local AWS emulator needs beyond moto to behave like AWS."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_ITEM_OPERATIONS = ("get_item", "put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Make moto's item writes atomic, as DynamoDB's are.

    moto evaluates a condition and applies the update without a lock, so concurrent
    ADDs can be lost and two conditional writes can both succeed. Serialising its item
    operations restores the per-item atomicity every transition in this module relies on.
    """
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in _ITEM_OPERATIONS}

    def serialised(operation):
        @functools.wraps(operation)
        def run(*args, **kwargs):
            with _lock:
                return operation(*args, **kwargs)
        return run

    for name, operation in originals.items():
        setattr(DynamoDBBackend, name, serialised(operation))
    try:
        yield
    finally:
        for name, operation in originals.items():
            setattr(DynamoDBBackend, name, operation)
