"""examples/queue-consumer through an outage: the consumer is paused while the circuit is open, nothing is lost.

The real Terraform applies the example into the sandbox; SQS's Lambda poller, the stream pump that runs the events
function and the scheduler that runs the probe are the sandbox's. The schedule and the queue's visibility timeout
run sixty times faster, as the alarm periods do (the probe every second, a failed message back after one); the open
duration is the breaker's own, in real seconds. Nothing here asserts how long anything took.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig, circuit_breaker
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from circuit_sandbox import terraform
from circuit_sandbox.aws import REGION, Emulator
from circuit_sandbox.scenario import wait_for
from circuitctl.cli import main as circuitctl

EXAMPLE = Path(__file__).parents[2] / "examples" / "queue-consumer"
VARIABLES = {"name": "cb-queue", "open_duration_seconds": 2}
# Bounds of the waits, far above what each takes: the events pipeline polls every 0.15 s, the probe runs every
# (scaled) second once the open duration (2 s, doubled per failed probe) has ended.
PAUSE_WITHIN = 60.0
RECOVERY_WITHIN = 120.0


@pytest.fixture(scope="module")
def example(local_emulator: Emulator) -> Iterator[dict]:
    outputs = terraform.apply(local_emulator.endpoint, VARIABLES, print, directory=EXAMPLE, region=REGION)
    yield outputs
    terraform.destroy(local_emulator.endpoint, VARIABLES, print, directory=EXAMPLE, region=REGION)


class Mapping:
    """The consumer's event source mapping, watched: every moment it was seen disabled."""

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid
        self.client = boto3.client("lambda")
        self.disabled_seen: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            if self.client.get_event_source_mapping(UUID=self.uuid)["State"] == "Disabled":
                self.disabled_seen.append(time.time())

    def state(self) -> str:
        return self.client.get_event_source_mapping(UUID=self.uuid)["State"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def processed_orders(local_emulator: Emulator, downstream: str) -> Counter:
    """How many times the downstream answered each order (the probe's requests aside)."""
    answered: Counter = Counter()
    for invocation in list(local_emulator.runner.invocations):
        if invocation.function == downstream and invocation.error_type is None:
            request = invocation.response().get("request", {})
            if "order" in request:
                answered[request["order"]] += 1
    return answered


def queued(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def send(url: str, orders: range) -> None:
    sqs = boto3.client("sqs")
    for start in range(orders.start, orders.stop, 10):
        batch = range(start, min(start + 10, orders.stop))
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": json.dumps({"order": n})} for n in batch]
        )


def test_an_outage_pauses_the_consumer_and_every_message_is_processed_once_after_it(example, local_emulator, endpoint):
    ssm, functions = boto3.client("ssm"), example["function_names"]
    consumer = f"arn:aws:lambda:{REGION}:123456789012:function:{functions['consumer']}"
    mapping = Mapping(example["event_source_mapping_uuid"])
    try:
        # Given a healthy dependency: the consumer processes what is sent
        send(example["queue_url"], range(0, 10))
        assert wait_for(lambda: len(processed_orders(local_emulator, functions["downstream"])) == 10, 60)

        # When the dependency fails while orders keep coming
        ssm.put_parameter(Name=example["health_parameter"], Value="failing", Overwrite=True)
        send(example["queue_url"], range(10, 40))
        # Then the circuit opens and the consumer's mapping is paused
        assert wait_for(lambda: mapping.state() == "Disabled", PAUSE_WITHIN), "the consumer was not paused"
        paused_at = time.time()
        # And orders sent while it is open wait in the queue: none reaches the consumer
        send(example["queue_url"], range(40, 60))
        time.sleep(3)
        assert mapping.state() == "Disabled"
        assert queued(example["queue_url"]) >= 20

        # When the dependency recovers, the scheduled probe closes the circuit and the consumer resumes
        ssm.put_parameter(Name=example["health_parameter"], Value="healthy", Overwrite=True)
        assert wait_for(lambda: mapping.state() == "Enabled", RECOVERY_WITHIN), "the consumer was not resumed"
        # Then every order is processed exactly once, none is left or dead-lettered
        everything = range(0, 60)
        assert wait_for(
            lambda: set(processed_orders(local_emulator, functions["downstream"])) == set(everything), RECOVERY_WITHIN
        ), sorted(set(everything) - set(processed_orders(local_emulator, functions["downstream"])))
        assert wait_for(lambda: queued(example["queue_url"]) == 0, RECOVERY_WITHIN)
        answered = processed_orders(local_emulator, functions["downstream"])
        assert all(answered[order] == 1 for order in everything), answered
        assert queued(example["dead_letter_queue_url"]) == 0
    finally:
        mapping.stop()
    # And no batch reached the consumer while its mapping was seen disabled
    first, last = paused_at, max(mapping.disabled_seen)
    batches = [d for d in local_emulator.queues.deliveries if d.function_arn == consumer]
    assert [d for d in batches if first <= d.started <= last] == []
    # And the pause held back orders, which came back after it: some batches failed before it, all after succeeded
    assert any(d.failed for d in batches if d.started < first)
    assert all(not d.failed for d in batches if d.started > last)
    assert local_emulator.queues.errors == [] and local_emulator.scheduler.errors == []


def test_operators_and_powertools_pause_and_resume_the_consumer_through_the_events_pipeline(example, endpoint):
    # Given the example's circuit closed and its consumer running
    table, circuit, mapping = (
        example["dynamodb_table_name"],
        example["circuit_name"],
        example["event_source_mapping_uuid"],
    )
    functions = boto3.client("lambda")

    def state() -> str:
        return functions.get_event_source_mapping(UUID=mapping)["State"]

    assert state() == "Enabled"

    # When an operator forces the circuit open, then closed, then releases it
    def operator(command: str) -> int:
        return circuitctl(["--table", table, command, circuit, "--reason", "maintenance", "--by", "ana"])

    assert operator("force-open") == 0
    assert wait_for(lambda: state() == "Disabled", PAUSE_WITHIN)
    assert operator("force-closed") == 0
    assert wait_for(lambda: state() == "Enabled", PAUSE_WITHIN)
    assert operator("release") == 0
    # When Powertools' @circuit_breaker on the same table trips the circuit
    persistence = CircuitBreakerDynamoDBPersistence(table_name=table, boto3_client=boto3.client("dynamodb"))

    @circuit_breaker(
        name=circuit,
        persistence_store=persistence,
        config=CircuitBreakerConfig(failure_threshold=1, recovery_timeout=1, local_cache_max_age=0),
    )
    def call(fail: bool) -> str:
        if fail:
            raise RuntimeError("dependency down")
        return "ok"

    with pytest.raises(RuntimeError):
        call(fail=True)
    # Then the consumer is paused, and Powertools' probe closing it resumes the consumer
    assert wait_for(lambda: state() == "Disabled", PAUSE_WITHIN)
    # (Powertools admits its probe after the 1 s recovery timeout; the module's scheduled probe may close it first)
    assert wait_for(lambda: _closes(call) and state() == "Enabled", PAUSE_WITHIN)


def _closes(call) -> bool:
    """One call through Powertools; whether it went through (its probe, or any call once closed)."""
    try:
        return call(fail=False) == "ok"
    except Exception:
        return False
