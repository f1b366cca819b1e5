"""SQS triggers for the emulator: Lambda's poller for SQS event source mappings.

moto invokes a queue's mapped function inside SendMessage, only for the message just sent, and
never again: a message sent while the mapping is disabled, or one that failed and became visible
again, is never delivered. `QueuePoller` does what Lambda's poller does instead:

- moto's own delivery is switched off (`polled_queues`); the queue only holds messages;
- every `interval` seconds it lists the event source mappings in the emulator and, for each
  enabled SQS mapping, receives up to BatchSize messages (at most 10 per receive), hiding them
  for the queue's visibility timeout, and invokes the function with them as an SQS event through
  the emulator's Lambda API, so the sandbox's runner executes it;
- a batch that succeeds is deleted; with ReportBatchItemFailures only the messages reported are
  kept; a function error keeps the whole batch. What is kept becomes visible again when its
  visibility timeout ends, and the queue's redrive policy moves a message received more than
  maxReceiveCount times to its dead-letter queue (moto does that on receive, as SQS does);
- a disabled mapping receives nothing: its messages wait in the queue.

The visibility timeout runs `time_scale` times faster, like the emulator's alarm periods and
schedules (at least a second: SQS counts it in whole seconds).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .background import every

logger = logging.getLogger(__name__)

RECEIVE_LIMIT = 10  # messages one ReceiveMessage returns at most


@contextmanager
def polled_queues() -> Iterator[None]:
    """Keep moto from invoking a queue's mapped function inside SendMessage: the poller delivers instead."""
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import sqs_backends

    original_create = LambdaBackend.create_event_source_mapping

    def create(backend: LambdaBackend, spec: dict[str, Any]) -> Any:
        mapping = original_create(backend, spec)
        if ":sqs:" in mapping.event_source_arn:
            for queue in sqs_backends[backend.account_id][backend.region_name].queues.values():
                if queue.queue_arn == mapping.event_source_arn:
                    queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        return mapping

    LambdaBackend.create_event_source_mapping = create  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaBackend.create_event_source_mapping = original_create  # type: ignore[method-assign]


@dataclass
class QueueDelivery:
    """One invocation with a batch of messages: the mapping, the message ids and what the function answered."""

    mapping: str  # the event source mapping's UUID
    function_arn: str
    message_ids: list[str]
    failed: list[str]  # the ids kept in the queue: all on a function error, else those reported
    started: float  # epoch seconds, when the function was invoked
    finished: float


@dataclass
class QueuePoller:
    """Lambda's poller for every SQS event source mapping in the emulator."""

    interval: float = 0.1
    time_scale: float = 1.0
    deliveries: list[QueueDelivery] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One attempt per invocation, however long the function takes: a failed batch is the queue's to retry.
        self._lambda = boto3.client("lambda", config=Config(read_timeout=900, retries={"total_max_attempts": 1}))
        self._sqs = boto3.client("sqs")
        self._lock = threading.Lock()
        self._urls: dict[str, tuple[str, int]] = {}  # queue ARN -> (URL, visibility timeout)

    def poll(self) -> int:
        """One pass over every enabled SQS mapping; returns how many batches were invoked."""
        with self._lock:
            invoked = 0
            try:
                mappings = self._mappings()
            except (BotoCoreError, ClientError) as error:
                self._error(f"listing event source mappings: {type(error).__name__}: {error}")
                return 0
            for mapping in mappings:
                try:
                    invoked += self._poll_mapping(mapping)
                except Exception as error:  # one broken mapping (e.g. its queue deleted) must not stop the rest
                    self._error(f"mapping {mapping['UUID']}: {type(error).__name__}: {error}")
            return invoked

    @contextmanager
    def running(self) -> Iterator[QueuePoller]:
        """Poll every `interval` seconds in a background thread, moto's own delivery switched off."""
        with polled_queues(), every(self.interval, self.poll, "queue-poller"):
            yield self

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)
            logger.warning("queue poller: %s", message)

    def _mappings(self) -> list[dict[str, Any]]:
        found = []
        for page in self._lambda.get_paginator("list_event_source_mappings").paginate():
            found += [
                m for m in page["EventSourceMappings"] if m.get("State") == "Enabled" and ":sqs:" in m["EventSourceArn"]
            ]
        return found

    def _queue(self, arn: str) -> tuple[str, int]:
        if arn not in self._urls:
            name, account = arn.split(":")[5], arn.split(":")[4]
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            timeout = int(
                self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                    "VisibilityTimeout"
                ]
            )
            self._urls[arn] = (url, max(1, math.ceil(timeout / self.time_scale)))
        return self._urls[arn]

    def _poll_mapping(self, mapping: dict[str, Any]) -> int:
        """Receive and deliver one batch of the mapping's queue; 1 when there was one."""
        arn = mapping["EventSourceArn"]
        url, visibility = self._queue(arn)
        messages = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(RECEIVE_LIMIT, mapping.get("BatchSize") or RECEIVE_LIMIT),
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        region = arn.split(":")[3]
        records = [_record(message, arn, region) for message in messages]
        started = time.time()
        failed = self._invoke(mapping, records)
        ids = [message["MessageId"] for message in messages]
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self.deliveries.append(
            QueueDelivery(mapping["UUID"], mapping["FunctionArn"], ids, failed, started, time.time())
        )
        return 1

    def _invoke(self, mapping: dict[str, Any], records: list[dict[str, Any]]) -> list[str]:
        """Invoke the function with the records; the message ids to keep in the queue."""
        ids = [record["messageId"] for record in records]
        try:
            reply = self._lambda.invoke(FunctionName=mapping["FunctionArn"], Payload=json.dumps({"Records": records}))
        except (BotoCoreError, ClientError):  # Lambda's own failure: the batch stays, as after a function error
            return ids
        if reply.get("FunctionError"):
            return ids
        if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
            return []
        body = reply["Payload"].read()
        try:
            response = json.loads(body) if body else None
        except ValueError:
            return ids
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return []
        reported = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        # A response Lambda cannot read as one (an unknown or empty itemIdentifier) fails the whole batch.
        return ids if any(identifier not in ids for identifier in reported) else [i for i in ids if i in reported]


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda passes it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
