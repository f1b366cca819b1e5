"""AWS on this machine: moto, and what it lacks to run a serverless application as AWS does.

Each module stands in for one service's missing part and knows nothing of the application it runs:

- `server`: moto as a server on loopback, its Step Functions interpreter executing ASL, item
  operations atomic as DynamoDB's are, IAM, KMS, SNS, CloudWatch and Scheduler safe to
  call at once;
- `runner`, `worker`: Lambda's execution environments, one process each, running what was deployed;
- `cloudwatch`: the `AWS/Lambda` metrics, alarm evaluation and notifications; EventBridge Scheduler;
- `streams`: Lambda's DynamoDB stream poller (event source mappings);
- `queues`: Lambda's SQS poller (event source mappings);
- `eventbridge`: EventBridge rule targets (SNS), with their input transformations;
- `stepfunctions`: `StartSyncExecution` for EXPRESS state machines.

Each runs its background work in `background.every`, which fails the run if the work stops.

`emulator()` is the one place that starts them together and installs every patch of moto.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from .cloudwatch import AlarmEvaluator, LambdaMetrics, Scheduler
from .queues import QueuePoller
from .runner import ProcessRunner
from .server import CREDENTIALS, local_aws
from .stepfunctions import synchronous_executions
from .streams import StreamPump, event_delivery

REGION = "us-east-1"


@dataclass
class Emulator:
    """A running emulator: its endpoint and the parts that stand in for what moto lacks."""

    endpoint: str
    runner: ProcessRunner
    metrics: LambdaMetrics
    evaluator: AlarmEvaluator
    scheduler: Scheduler
    pump: StreamPump
    queues: QueuePoller
    time_scale: float = 1.0
    region: str = REGION


@contextmanager
def emulator(
    max_environments: int = 10, alarm_interval: float | None = None, port: int = 0, time_scale: float = 1.0
) -> Iterator[Emulator]:
    """Start the emulator and its helpers, alarm and schedule time `time_scale` times faster; stop them on exit.

    Alarms are evaluated every `alarm_interval` seconds; by default a quarter of the shortest alarm period
    AWS allows (60 s, scaled), at most every second.

    Only the main process of a program starts one: the runner's environments are processes too, and
    a script without an `if __name__ == "__main__":` guard must not start a second emulator in each.
    """
    if multiprocessing.parent_process() is not None:
        raise RuntimeError(
            "the sandbox's emulator starts only in a program's main process, not in one of its child processes "
            '(guard a script that starts it with `if __name__ == "__main__":`)'
        )
    if alarm_interval is None:
        alarm_interval = min(1.0, 15 / time_scale)
    for noisy in ("werkzeug", "moto.stepfunctions", "botocore.credentials", "urllib3.connectionpool"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    with ExitStack() as stack:
        endpoint = stack.enter_context(local_aws(REGION, port))
        runner = ProcessRunner(
            {
                **CREDENTIALS,
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                # botocore puts `sync-` before the host of StartSyncExecution (AWS's sync-states endpoint); the
                # emulator is one address, so a function's own client must not (botocore reads this variable).
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            },
            max_environments,
        )
        stack.callback(runner.close)
        stack.enter_context(runner.hooked_into_moto())
        stack.enter_context(synchronous_executions())
        # Before anything is applied: streams polled into their functions, not invoked inside writes.
        pump = stack.enter_context(event_delivery())
        queues = stack.enter_context(QueuePoller(time_scale=time_scale).running())
        metrics = LambdaMetrics()
        runner.listeners.append(metrics.record)
        # A record's age is stream time: it runs time_scale times faster, like the alarm periods that judge it.
        pump.iterator_age_listeners.append(
            lambda function, at, age: metrics.record_iterator_age(function, at, age * 1000 * time_scale)
        )
        evaluator = stack.enter_context(AlarmEvaluator(metrics, time_scale=time_scale).running(alarm_interval))
        scheduler = stack.enter_context(Scheduler(time_scale=time_scale).running())
        yield Emulator(endpoint, runner, metrics, evaluator, scheduler, pump, queues, time_scale)
