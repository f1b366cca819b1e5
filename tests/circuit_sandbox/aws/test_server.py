"""circuit_sandbox.aws.server: what it changes in moto keeps what AWS does."""

import json
import threading

import boto3
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends
from moto.iam.models import IAMBackend, iam_backends
from moto.kms.models import kms_backends
from moto.sns.models import SNSBackend

from circuit_sandbox.aws.server import shared_symmetric_keys, thread_safe_backends

ACCOUNT, REGION = "123456789012", "us-east-1"
ASSUME = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [ASSUME]})


def test_symmetric_keys_share_one_rsa_key_and_still_encrypt_each_with_its_own_material():
    with mock_aws(), shared_symmetric_keys():
        kms = boto3.client("kms", region_name=REGION)
        first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
        signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        keys = kms_backends[ACCOUNT][REGION].keys
        assert keys[first].private_key is keys[second].private_key
        assert keys[signing].private_key is not keys[first].private_key  # an asymmetric key has its own
        sealed = kms.encrypt(KeyId=first, Plaintext=b"circuit")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"circuit"
        assert keys[first].key_material != keys[second].key_material
        signature = kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        verified = kms.verify(KeyId=signing, Message=b"m", Signature=signature, SigningAlgorithm="RSASSA_PSS_SHA_256")
        assert verified["SignatureValid"]
    with mock_aws():  # the patch is gone when the block ends
        kms = boto3.client("kms", region_name=REGION)
        first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
        keys = kms_backends[ACCOUNT][REGION].keys
        assert keys[first].private_key is not keys[second].private_key


def test_a_role_is_created_only_when_no_other_request_is_looking_through_the_roles():
    """Creating a role while another request iterates the roles failed it with a 500 (seen in CI)."""
    with mock_aws(), thread_safe_backends():
        iam = boto3.client("iam", region_name=REGION)
        iam.create_role(RoleName="first", AssumeRolePolicyDocument=TRUST)
        backend = iam_backends[ACCOUNT]["global"]
        looking, release = threading.Event(), threading.Event()

        class Roles(dict):
            def values(self):  # the reader's look through the roles pauses halfway, until released
                if threading.current_thread() is reader:
                    looking.set()
                    release.wait(60)
                return super().values()

        backend.roles = Roles(backend.roles)
        reader = threading.Thread(target=iam.get_role, kwargs={"RoleName": "first"})
        second = {"RoleName": "second", "AssumeRolePolicyDocument": TRUST}
        writer = threading.Thread(target=iam.create_role, kwargs=second)
        reader.start()
        assert looking.wait(60)
        writer.start()
        writer.join(0.5)
        assert writer.is_alive(), "the role was created while another request was looking through the roles"
        release.set()
        reader.join(60)
        writer.join(60)
        assert sorted(role.name for role in backend.get_roles()) == ["first", "second"]
        assert isinstance(backend.get_roles(), list)  # a snapshot, not a live view of the dict


def test_a_lazy_answer_is_read_under_the_lock_not_after_it():
    with mock_aws(), thread_safe_backends():
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        cloudwatch.put_metric_alarm(
            AlarmName="errors",
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        alarms = cloudwatch_backends[ACCOUNT][REGION].get_alarms_by_state_value("OK")
        cloudwatch.delete_alarms(AlarmNames=["errors"])
        assert [alarm.name for alarm in alarms] == ["errors"]  # read before the alarm went


def test_only_the_listed_backends_are_serialised_and_sns_publishes_outside_the_lock():
    get_roles, publish, subscribe = IAMBackend.get_roles, SNSBackend.publish, SNSBackend.subscribe
    built = IAMBackend._init_managed_policies
    with thread_safe_backends():
        assert IAMBackend._init_managed_policies is built  # the constructor runs it under moto's own lock
        assert IAMBackend.get_roles is not get_roles
        assert SNSBackend.subscribe is not subscribe
        assert SNSBackend.publish is publish  # it runs subscribed Lambda functions, which make requests of their own
    assert (IAMBackend.get_roles, SNSBackend.subscribe) == (get_roles, subscribe)
