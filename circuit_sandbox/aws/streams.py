"""DynamoDB stream triggers for the emulator: Lambda's event source mapping poller.

moto invokes a table's mapped function inside the write request itself, with every record
buffered so far, ignoring the mapping's filter, batch size, retries and partial-batch
response, and then drops the records. In the sandbox that would also deadlock: the write
holds the emulator's item lock (`emulator.atomic_dynamodb`) while the function, a separate
process, writes to the same emulator. `StreamPump` does what Lambda's poller does instead:

- the table's stream only buffers (`buffered_streams`), so GetRecords reads every record;
- every `interval` seconds it lists the event source mappings in the emulator (so whatever
  Terraform or a test created is honoured) and reads each mapped stream from where it left
  off: first from the beginning (TRIM_HORIZON) or from the stream's end when the mapping was
  created (LATEST), then after the last sequence number it finished with;
- it keeps the records the mapping's FilterCriteria match (Lambda's filter syntax is
  EventBridge's event pattern over the record, e.g. `dynamodb.Keys.id.S`), in batches of up
  to BatchSize, each a DynamoDB stream event invoked through the emulator's Lambda API, so the
  sandbox's runner executes the function;
- with ReportBatchItemFailures, a batch reporting failures is retried from the first failed
  record; a function error retries the batch, halved first when BisectBatchOnFunctionError;
  after MaximumRetryAttempts retries the records are given up (and logged, as Lambda would
  send them to the on-failure destination). A retry waits for the next poll.

It never holds the item lock while it invokes; it reads the streams over the API like any client.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .background import every

logger = logging.getLogger(__name__)

# One GetRecords reads at most this many records; Lambda's own poller reads up to 1,000.
READ_LIMIT = 1000


# Where each LATEST mapping created while the streams buffer starts: the sequence number before
# its first record (mapping UUID -> sequence number), as Lambda checkpoints a new mapping.
_latest_starts: dict[str, str] = {}


@contextmanager
def buffered_streams() -> Iterator[None]:
    """Let a table's stream buffer its records for GetRecords instead of invoking mapped functions.

    A mapping created meanwhile with StartingPosition LATEST starts at the stream's end as it is
    at creation, as on AWS once the mapping is enabled, not whenever the pump first sees it.
    """
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import StreamRecord, StreamShard

    original, original_create = StreamShard.add, LambdaBackend.create_event_source_mapping

    def create(backend: LambdaBackend, spec: dict[str, Any]) -> Any:
        mapping = original_create(backend, spec)
        arn = mapping.event_source_arn
        if ":dynamodb:" in arn and mapping.starting_position == "LATEST":
            table = dynamodb_backends[backend.account_id][backend.region_name].get_table(arn.split("/")[1])
            if table.stream_shard is not None:
                shard = table.stream_shard
                _latest_starts[mapping.uuid] = str(shard.starting_sequence_number + len(shard.items) - 1)
        return mapping

    def add(shard: StreamShard, old: Any, new: Any) -> None:
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        view_type = shard.table.stream_specification["StreamViewType"]  # type: ignore[index]
        sequence_number = shard.starting_sequence_number + len(shard.items)
        shard.items.append(StreamRecord(shard.table, view_type, event_name, old, new, sequence_number))

    StreamShard.add = add  # type: ignore[method-assign,assignment]
    LambdaBackend.create_event_source_mapping = create  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        StreamShard.add = original  # type: ignore[method-assign]
        LambdaBackend.create_event_source_mapping = original_create  # type: ignore[method-assign]


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda passes it to the function: JSON, epoch seconds, eventSourceARN."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return json.loads(json.dumps({**record, "dynamodb": stream, "eventSourceARN": stream_arn}, default=_binary))


def _binary(value: Any) -> str:
    if isinstance(value, bytes | bytearray):  # B and BS attributes: base64, as in Lambda's event
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def matches(record: dict[str, Any], filter_criteria: dict[str, Any] | None) -> bool:
    """Whether Lambda passes `record` to the function: no filters, or any filter's pattern matches."""
    from moto.events.models import EventPattern

    filters = (filter_criteria or {}).get("Filters") or []
    event: Any = record  # moto types the event as its own TypedDict; a record is matched the same way
    return not filters or any(EventPattern.load(f["Pattern"]).matches_event(event) for f in filters)


@dataclass
class Delivery:
    """One invocation with a batch: the mapping, the event and what the function answered."""

    mapping: str  # the event source mapping's UUID
    function_arn: str
    event: dict[str, Any]
    failed: bool
    response: Any
    at: float = field(default_factory=time.time)  # epoch seconds, when the function answered


@dataclass
class _Position:
    """Where the poller is in one shard of one mapping."""

    after: str | None = None  # the last sequence number finished with
    iterator: str | None = None  # before the first record: the iterator at the starting position
    attempts: int = 0  # retries of the batch at this position
    limit: int | None = None  # a bisected batch's size


@dataclass
class PumpCounts:
    batches: int = 0  # invocations
    records: int = 0  # records handed to the function, retries included
    retries: int = 0  # batches invoked again after a function error or reported failures
    filtered: int = 0  # records the mapping's filter left out
    discarded: int = 0  # records given up after the retries

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class StreamPump:
    """Lambda's poller for every DynamoDB stream event source mapping in the emulator."""

    interval: float = 0.15
    counts: PumpCounts = field(default_factory=PumpCounts)
    deliveries: list[Delivery] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Called with (function name, epoch seconds, IteratorAge in seconds) for every batch it invokes:
    # Lambda's IteratorAge, the age of the batch's last record when the mapping sends it.
    iterator_age_listeners: list[Callable[[str, float, float], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One attempt per invocation, however long the function takes: the pump's retries are Lambda's.
        self._lambda = boto3.client("lambda", config=Config(read_timeout=900, retries={"total_max_attempts": 1}))
        # botocore's own endpoint for DynamoDB Streams is an account-based host; the emulator's
        # endpoint (AWS_ENDPOINT_URL) serves Streams too, recognised by the X-Amz-Target header.
        self._streams = boto3.client("dynamodbstreams")
        self._positions: dict[tuple[str, str], _Position] = {}
        self._lock = threading.Lock()

    def poll(self) -> int:
        """One pass over every enabled mapping; returns how many batches were invoked."""
        with self._lock:
            before = self.counts.batches
            try:
                mappings = self._mappings()
            except (BotoCoreError, ClientError) as error:
                self._error(f"listing event source mappings: {type(error).__name__}: {error}")
                return 0
            for mapping in mappings:
                try:
                    self._poll_mapping(mapping)
                except Exception as error:  # one broken mapping (e.g. its table deleted) must not stop the rest
                    self._error(f"mapping {mapping['UUID']}: {type(error).__name__}: {error}")
            return self.counts.batches - before

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)
            logger.warning("stream pump: %s", message)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No poll while in the block: what is written in it reaches the function together."""
        with self._lock:
            yield

    def replay(self, delivery: Delivery) -> Delivery:
        """Invoke the function with a batch it already had, as Lambda does after a timeout or a lost response."""
        with self._lock:
            return self._invoke(delivery.mapping, delivery.function_arn, delivery.event["Records"])

    @contextmanager
    def running(self) -> Iterator[StreamPump]:
        """Buffer the streams and poll every `interval` seconds in a background thread."""
        with buffered_streams():
            self.poll()  # mappings that exist now start at their position now, not a tick later
            with every(self.interval, self.poll, "stream-pump"):
                yield self

    # ------------------------------------------------------------------------ polling

    def _mappings(self) -> list[dict[str, Any]]:
        found = []
        for page in self._lambda.get_paginator("list_event_source_mappings").paginate():
            found += [
                m
                for m in page["EventSourceMappings"]
                if m.get("State") == "Enabled" and ":dynamodb:" in m["EventSourceArn"]
            ]
        return found

    def _poll_mapping(self, mapping: dict[str, Any]) -> None:
        stream_arn = mapping["EventSourceArn"]
        shards = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            position = self._positions.setdefault(
                (mapping["UUID"], shard["ShardId"]), _Position(after=_latest_starts.get(mapping["UUID"]))
            )
            while self._poll_shard(mapping, shard["ShardId"], position):
                pass

    def _poll_shard(self, mapping: dict[str, Any], shard_id: str, position: _Position) -> bool:
        """Read on from `position` and deliver; True when there may be more to read now."""
        stream_arn = mapping["EventSourceArn"]
        if position.after is not None:
            iterator = self._streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=position.after,
            )["ShardIterator"]
        elif position.iterator is not None:
            iterator = position.iterator
        else:
            iterator = self._streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=shard_id,
                ShardIteratorType=mapping.get("StartingPosition") or "LATEST",
            )["ShardIterator"]
        read = self._streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
        if not read["Records"]:
            if position.after is None:
                position.iterator = read["NextShardIterator"]
            return False
        records = [lambda_record(r, stream_arn) for r in read["Records"]]
        batch_size = position.limit or mapping.get("BatchSize") or 100
        # The batch: matching records up to the batch size. What it covers reaches on to the next
        # match that did not fit, so the records the filter left out are passed over with it.
        batch: list[dict[str, Any]] = []
        covered = 0
        for record in records:
            if matches(record, mapping.get("FilterCriteria")):
                if len(batch) == batch_size:
                    break
                batch.append(record)
            covered += 1
        end = records[covered - 1]["dynamodb"]["SequenceNumber"]
        if batch and not self._deliver(mapping, position, batch, end):
            return False  # retried on the next poll
        self.counts.filtered += covered - len(batch)
        position.after = end
        return covered < len(records) or len(records) == READ_LIMIT

    def _deliver(self, mapping: dict[str, Any], position: _Position, batch: list[dict[str, Any]], end: str) -> bool:
        """Invoke with `batch`; True when it is done with (through `end`), else `position` says where to retry."""
        delivery = self._invoke(mapping["UUID"], mapping["FunctionArn"], batch)
        if position.attempts or position.limit:
            self.counts.retries += 1
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed_from = None
        if delivery.failed:
            failed_from = 0
        elif "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []):
            failed_from = first_failure(delivery.response, sequence_numbers)
        if failed_from is None:
            position.attempts, position.limit = 0, None
            return True
        if failed_from > 0:
            # The records before the first failure are done with; the retry of the rest counts.
            position.after, position.attempts, position.limit = sequence_numbers[failed_from - 1], 1, None
            return False
        if delivery.failed and mapping.get("BisectBatchOnFunctionError") and len(batch) > 1:
            position.limit = max(1, len(batch) // 2)  # splitting does not count against the retries
            return False
        position.attempts += 1
        maximum = mapping.get("MaximumRetryAttempts")
        if maximum is None or maximum < 0 or position.attempts <= maximum:
            return False
        self.counts.discarded += len(batch)
        destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        logger.warning(
            "stream pump: mapping %s gave up records %s..%s after %d retries (on-failure destination: %s)",
            mapping["UUID"],
            sequence_numbers[0],
            sequence_numbers[-1],
            maximum,
            destination or "none",
        )
        position.attempts, position.limit = 0, None
        return True

    def _invoke(self, mapping: str, function_arn: str, records: list[dict[str, Any]]) -> Delivery:
        event = {"Records": records}
        now = time.time()
        created = records[-1]["dynamodb"].get("ApproximateCreationDateTime") if records else None
        if isinstance(created, int | float):
            for listener in self.iterator_age_listeners:
                listener(function_arn.split(":")[6], now, max(0.0, now - created))
        try:
            reply = self._lambda.invoke(FunctionName=function_arn, Payload=json.dumps(event).encode())
        except (BotoCoreError, ClientError) as error:  # Lambda's own failure: retried like a function error
            delivery = Delivery(mapping, function_arn, event, True, {"errorType": type(error).__name__})
        else:
            body = reply["Payload"].read()
            try:
                response = json.loads(body) if body else None
            except ValueError:
                response = body.decode(errors="replace")
            delivery = Delivery(mapping, function_arn, event, bool(reply.get("FunctionError")), response)
        self.counts.batches += 1
        self.counts.records += len(records)
        self.deliveries.append(delivery)
        return delivery


def first_failure(response: Any, sequence_numbers: list[str]) -> int | None:
    """The index of the first reported failure, as Lambda reads a partial-batch response.

    An answer Lambda cannot read as one (an unknown or empty itemIdentifier) fails the whole batch.
    """
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return None
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            return 0
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


@contextmanager
def event_delivery(interval: float = 0.15) -> Iterator[StreamPump]:
    """What the emulator lacks for event-driven functions: streams polled into them, SNS targets on EventBridge.

    Enter it with the emulator, after the runner is hooked into moto and before anything is
    provisioned; without it, a table write with a mapped stream would invoke the function inside
    the write.
    """
    from .eventbridge import sns_targets

    with sns_targets(), StreamPump(interval).running() as pump:
        yield pump
