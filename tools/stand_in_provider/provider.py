"""A Terraform provider plugin that serves a real provider's schema and checks configurations against it.

Run by Terraform through a launcher (see terraform.py): `provider.py aws` or `provider.py archive`.
It performs the go-plugin handshake (TLS with a self-signed server certificate, no client
authentication, a Unix socket), then answers the tfplugin6 calls `validate` and `test`
make: the schema, and validation of provider, resource and data-source configurations.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import os
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MAGIC_COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")


class _Unknown:
    """A value Terraform does not know yet (msgpack extension 0)."""


UNKNOWN = _Unknown()


def load_schemas(name: str) -> dict[str, Any]:
    if name == "aws":
        with gzip.open(SCHEMAS / "aws.schema.json.gz", "rt") as handle:
            schemas = json.load(handle)
        schemas["provider"] = json.loads((SCHEMAS / "aws.provider.json").read_text())
        return schemas
    if name == "archive":
        return json.loads((SCHEMAS / "archive.schema.json").read_text())
    raise SystemExit(f"no schema for provider {name!r}; have aws and archive")


# ---------------------------------------------------------------------------- schema -> protobuf


def _attribute(pb: Any, name: str, spec: dict[str, Any]) -> Any:
    attribute = pb.Schema.Attribute(
        name=name, description=spec.get("description", ""), required=bool(spec.get("required")),
        optional=bool(spec.get("optional")), computed=bool(spec.get("computed")),
        sensitive=bool(spec.get("sensitive")), deprecated=bool(spec.get("deprecated")))
    if "type" in spec:
        attribute.type = json.dumps(spec["type"]).encode()
    if "nested_type" in spec:
        nested = spec["nested_type"]
        attribute.nested_type.CopyFrom(pb.Schema.Object(
            attributes=[_attribute(pb, n, s) for n, s in sorted(nested.get("attributes", {}).items())],
            nesting=pb.Schema.Object.NestingMode.Value(nested.get("nesting_mode", "single").upper())))
    return attribute


def _block(pb: Any, spec: dict[str, Any]) -> Any:
    return pb.Schema.Block(
        attributes=[_attribute(pb, n, s) for n, s in sorted(spec.get("attributes", {}).items())],
        block_types=[pb.Schema.NestedBlock(
            type_name=n, block=_block(pb, s.get("block", {})),
            nesting=pb.Schema.NestedBlock.NestingMode.Value(s.get("nesting_mode", "list").upper()),
            min_items=s.get("min_items", 0), max_items=s.get("max_items", 0))
            for n, s in sorted(spec.get("block_types", {}).items())],
        description=spec.get("description", ""), deprecated=bool(spec.get("deprecated")))


def _schema(pb: Any, spec: dict[str, Any]) -> Any:
    return pb.Schema(version=spec.get("version", 0), block=_block(pb, spec.get("block", {})))


# ---------------------------------------------------------------------------- computed-only check


def computed_only_assignments(block: dict[str, Any], value: Any, path: tuple = ()) -> list[tuple[str, ...]]:
    """Paths of attributes that the schema marks computed-only but the configuration sets."""
    if not isinstance(value, dict):
        return []
    found = []
    for name, spec in block.get("attributes", {}).items():
        assigned = value.get(name)
        if spec.get("computed") and not spec.get("optional") and not spec.get("required"):
            if assigned is not None:
                found.append((*path, name))
        elif "nested_type" in spec and assigned is not None and assigned is not UNKNOWN:
            nested = {"attributes": spec["nested_type"].get("attributes", {})}
            for index, item in enumerate(_items(assigned)):
                found += computed_only_assignments(nested, item, (*path, name, str(index)))
    for name, spec in block.get("block_types", {}).items():
        for index, item in enumerate(_items(value.get(name))):
            found += computed_only_assignments(spec.get("block", {}), item, (*path, name, str(index)))
    return found


def _items(value: Any) -> list[Any]:
    if value is None or value is UNKNOWN:
        return []
    if isinstance(value, dict) and not all(isinstance(v, dict) for v in value.values()):
        return [value]  # a single nested object
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list) else [value]


def decode(dynamic_value: Any) -> Any:
    import msgpack

    if dynamic_value.msgpack:
        return msgpack.unpackb(dynamic_value.msgpack, ext_hook=lambda code, data: UNKNOWN, raw=False,
                               strict_map_key=False)
    if dynamic_value.json:
        return json.loads(dynamic_value.json)
    return None


# ---------------------------------------------------------------------------- the server


def servicer(name: str) -> Any:
    from tf.gen import tfplugin_pb2 as pb
    from tf.gen import tfplugin_pb2_grpc as rpc

    schemas = load_schemas(name)
    resources, data_sources = schemas.get("resource_schemas", {}), schemas.get("data_source_schemas", {})
    response = pb.GetProviderSchema.Response(
        provider=_schema(pb, schemas.get("provider", {})),
        resource_schemas={n: _schema(pb, s) for n, s in resources.items()},
        data_source_schemas={n: _schema(pb, s) for n, s in data_sources.items()},
        server_capabilities=pb.ServerCapabilities(plan_destroy=True))

    def diagnostics(kind: dict[str, Any], type_name: str, config: Any) -> list[Any]:
        schema = kind.get(type_name)
        if schema is None:
            return [pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=f"Unknown type {type_name}")]
        return [pb.Diagnostic(
            severity=pb.Diagnostic.ERROR, summary="Value for computed-only attribute",
            detail=f'"{".".join(path)}" of {type_name} is computed by the provider and cannot be set in configuration.',
            attribute=pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=path[0])]))
            for path in computed_only_assignments(schema.get("block", {}), decode(config))]

    class StandIn(rpc.ProviderServicer):
        def GetMetadata(self, request, context):
            return pb.GetMetadata.Response(
                server_capabilities=response.server_capabilities,
                resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in resources],
                data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=n) for n in data_sources])

        def GetProviderSchema(self, request, context):
            return response

        def ValidateProviderConfig(self, request, context):
            return pb.ValidateProviderConfig.Response()

        def ValidateResourceConfig(self, request, context):
            return pb.ValidateResourceConfig.Response(
                diagnostics=diagnostics(resources, request.type_name, request.config))

        def ValidateDataResourceConfig(self, request, context):
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=diagnostics(data_sources, request.type_name, request.config))

        def ConfigureProvider(self, request, context):
            return pb.ConfigureProvider.Response()

        def GetFunctions(self, request, context):
            return pb.GetFunctions.Response()

        def StopProvider(self, request, context):
            return pb.StopProvider.Response()

    return StandIn()


def _certificate() -> tuple[bytes, bytes, bytes]:
    """A throwaway self-signed server certificate: (key PEM, certificate PEM, certificate DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM), certificate.public_bytes(
        serialization.Encoding.DER)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get(MAGIC_COOKIE[0]) != MAGIC_COOKIE[1]:
        raise SystemExit("This is a Terraform provider plugin (a test stand-in); Terraform starts it.")
    import grpc
    from tf.gen import grpc_controller_pb2 as controller_pb
    from tf.gen import grpc_controller_pb2_grpc as controller_rpc
    from tf.gen import tfplugin_pb2_grpc as rpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    rpc.add_ProviderServicer_to_server(servicer(argv[0]), server)
    stopped = []

    class Controller(controller_rpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            stopped.append(True)
            return controller_pb.Empty()

    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    key_pem, certificate_pem, certificate_der = _certificate()
    credentials = grpc.ssl_server_credentials([(key_pem, certificate_pem)], require_client_auth=False)
    with tempfile.TemporaryDirectory(prefix="tf-stand-in-") as folder:
        socket = f"{folder}/plugin.sock"
        server.add_secure_port(f"unix://{socket}", credentials)
        server.start()
        certificate = base64.b64encode(certificate_der).decode().rstrip("=")
        print(f"1|6|unix|{socket}|grpc|{certificate}", flush=True)
        try:
            while not stopped:
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        server.stop(grace=0)


if __name__ == "__main__":
    main()
