"""The peer for the benchmarks: the example downstream behind Powertools' own `@circuit_breaker`.

Called directly (no state machine). Powertools counts consecutive failures in memory per
execution environment and caches the shared state for `local_cache_max_age` seconds.
It runs with a deployed example downstream's environment, plus its own PEER_* variables.
"""

import os
import sys

import boto3
from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig, circuit_breaker
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

sys.path.append(os.environ["PEER_DOWNSTREAM_CODE"])
import downstream

persistence = CircuitBreakerDynamoDBPersistence(
    table_name=os.environ["PEER_TABLE"], boto3_client=boto3.client("dynamodb")
)
config = CircuitBreakerConfig(
    failure_threshold=int(os.environ.get("PEER_THRESHOLD", "5")),
    recovery_timeout=int(os.environ.get("PEER_RECOVERY_SECONDS", "30")),
    success_threshold=1,
)


@circuit_breaker(
    name=os.environ["PEER_CIRCUIT"],
    persistence_store=persistence,
    config=config,
    on_circuit_open=lambda event, context, circuit: {"short_circuited": True},
)
def lambda_handler(event, context):
    return downstream.lambda_handler(event, context)
