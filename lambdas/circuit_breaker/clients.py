"""The boto3 clients of the module's functions: explicit timeouts and standard retries.

A DynamoDB or EventBridge call answers in milliseconds. One that has not connected in 1 s or
answered in 2 s is tried once more (standard retry mode, jittered backoff of at most 1 s), so a
slow or throttled service ends within 7 s as an error the function logs and counts, well inside
its own 10 s timeout, instead of a Lambda timeout that only the state machine's Catch would see.
boto3's defaults (60 s timeouts, legacy retries: up to 10 attempts for DynamoDB) outlast it.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


def client(service: str) -> Any:
    """A client for `service` with CONFIG, in the environment's region and endpoint."""
    import boto3

    return boto3.client(service, config=CONFIG)
