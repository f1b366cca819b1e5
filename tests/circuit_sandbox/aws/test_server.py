"""circuit_sandbox.aws.server: what it changes in moto keeps what AWS does."""

import boto3
from moto import mock_aws
from moto.kms.models import kms_backends

from circuit_sandbox.aws.server import shared_symmetric_keys

ACCOUNT, REGION = "123456789012", "us-east-1"


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
