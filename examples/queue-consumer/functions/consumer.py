"""Example queue consumer: each message of the orders queue is one call through the circuit breaker.

A call that fails (the downstream's error, or CircuitOpen while the circuit is open) reports its
message as failed, so SQS keeps it and delivers it again later; the rest of the batch is deleted.
While the circuit is open the event source mapping is paused and the messages wait in the queue.
"""

import os

import boto3

states = boto3.client("stepfunctions")


def lambda_handler(event, context):
    failed = []
    for record in event["Records"]:
        execution = states.start_sync_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"], input=record["body"])
        if execution["status"] != "SUCCEEDED":
            print(f"message {record['messageId']} not processed: {execution.get('error')}: {execution.get('cause')}")
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
