"""A Terraform provider plugin that serves a real provider's schema and manages objects in an emulator.

Run by Terraform through a launcher (see terraform.py): `provider.py aws` or `provider.py archive`.
It performs the go-plugin handshake (TLS with a self-signed server certificate, no client
authentication, a Unix socket), then answers the tfplugin6 calls: the schema, validation,
and plan, apply, read and destroy of the resources and data sources aws.py and archive.py
implement.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

from tools.stand_in_provider.schemas import SCHEMAS, load_schemas
from tools.stand_in_provider.terraform import BUILD, write_atomically
from tools.stand_in_provider.values import UNKNOWN, changed, decode, encode, known_only, resolve, unknown_computed

MAGIC_COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")


def _schema_cache(name: str, pb: Any) -> Path:
    """Where the built GetProviderSchema response of provider `name` is kept: named after what it is built
    from (the schema files, this file and the protocol's definition), so that a change to any builds it again."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + pb.DESCRIPTOR.serialized_pb)
    for path in sorted(SCHEMAS.glob(f"{name}.*")):
        digest.update(path.read_bytes())
    return BUILD / "schemas" / f"{name}-{digest.hexdigest()[:16]}.pb"


# ---------------------------------------------------------------------------- schema -> protobuf


def _attribute(pb: Any, name: str, spec: dict[str, Any]) -> Any:
    attribute = pb.Schema.Attribute(
        name=name,
        description=spec.get("description", ""),
        required=bool(spec.get("required")),
        optional=bool(spec.get("optional")),
        computed=bool(spec.get("computed")),
        sensitive=bool(spec.get("sensitive")),
        deprecated=bool(spec.get("deprecated")),
    )
    if "type" in spec:
        attribute.type = json.dumps(spec["type"]).encode()
    if "nested_type" in spec:
        nested = spec["nested_type"]
        attribute.nested_type.CopyFrom(
            pb.Schema.Object(
                attributes=[_attribute(pb, n, s) for n, s in sorted(nested.get("attributes", {}).items())],
                nesting=pb.Schema.Object.NestingMode.Value(nested.get("nesting_mode", "single").upper()),
            )
        )
    return attribute


def _block(pb: Any, spec: dict[str, Any]) -> Any:
    return pb.Schema.Block(
        attributes=[_attribute(pb, n, s) for n, s in sorted(spec.get("attributes", {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=n,
                block=_block(pb, s.get("block", {})),
                nesting=pb.Schema.NestedBlock.NestingMode.Value(s.get("nesting_mode", "list").upper()),
                min_items=s.get("min_items", 0),
                max_items=s.get("max_items", 0),
            )
            for n, s in sorted(spec.get("block_types", {}).items())
        ],
        description=spec.get("description", ""),
        deprecated=bool(spec.get("deprecated")),
    )


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


# ---------------------------------------------------------------------------- the server


def backend(name: str) -> Any:
    """What serves the provider's resources and data sources: the emulator client or the archiver."""
    if name == "aws":
        from tools.stand_in_provider.aws import Aws

        return Aws()
    from tools.stand_in_provider.archive import Archive

    return Archive()


def servicer(name: str) -> Any:
    from tf.gen import tfplugin_pb2 as pb
    from tf.gen import tfplugin_pb2_grpc as rpc

    schemas = load_schemas(name)
    resources, data_sources = schemas.get("resource_schemas", {}), schemas.get("data_source_schemas", {})
    # Terraform may keep the schema of a provider that says it need not be asked (a command starts the
    # plugin several times: validate, plan, apply), and building it is most of a start: built once, if asked.
    capabilities = pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True)

    building = threading.Lock()

    @functools.cache
    def provider_schema() -> Any:
        with building:  # two calls at once: the second reads what the first built
            cached = _schema_cache(name, pb)
            if cached.exists():
                return pb.GetProviderSchema.Response.FromString(cached.read_bytes())
            built = pb.GetProviderSchema.Response(
                provider=_schema(pb, schemas.get("provider", {})),
                resource_schemas={n: _schema(pb, s) for n, s in resources.items()},
                data_source_schemas={n: _schema(pb, s) for n, s in data_sources.items()},
                server_capabilities=capabilities,
            )
            write_atomically(cached, built.SerializeToString())
            return built

    served = backend(name)

    def error(summary: str, detail: str = "") -> Any:
        return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)

    def diagnostics(kind: dict[str, Any], type_name: str, config: Any) -> list[Any]:
        schema = kind.get(type_name)
        if schema is None:
            return [error(f"Unknown type {type_name}")]
        return [
            pb.Diagnostic(
                severity=pb.Diagnostic.ERROR,
                summary="Value for computed-only attribute",
                detail=f'"{".".join(path)}" of {type_name} is computed by the provider and cannot be set in the '
                "configuration.",
                attribute=pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=path[0])]),
            )
            for path in computed_only_assignments(schema.get("block", {}), decode(config))
        ]

    def value(block: dict[str, Any], given: dict[str, Any] | None) -> Any:
        return pb.DynamicValue(msgpack=encode(block, given))

    def implemented(kind: dict[str, Any], type_name: str) -> Any:
        if type_name not in kind:
            raise NotImplementedError(
                f"{type_name} is not implemented by the stand-in {name} provider "
                f"(see tools/stand_in_provider/README.md)"
            )
        return kind[type_name]

    class StandIn(rpc.ProviderServicer):
        def GetMetadata(self, request, context):
            return pb.GetMetadata.Response(
                server_capabilities=capabilities,
                resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in resources],
                data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=n) for n in data_sources],
            )

        def GetProviderSchema(self, request, context):
            return provider_schema()

        def ValidateProviderConfig(self, request, context):
            return pb.ValidateProviderConfig.Response()

        def ValidateResourceConfig(self, request, context):
            return pb.ValidateResourceConfig.Response(
                diagnostics=diagnostics(resources, request.type_name, request.config)
            )

        def ValidateDataResourceConfig(self, request, context):
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=diagnostics(data_sources, request.type_name, request.config)
            )

        def ConfigureProvider(self, request, context):
            served.configure(decode(request.config) or {})
            return pb.ConfigureProvider.Response()

        def UpgradeResourceState(self, request, context):
            # The stand-in wrote every state it reads at the current schema version: typed, passed through.
            block = resources[request.type_name]["block"]
            return pb.UpgradeResourceState.Response(
                upgraded_state=value(block, json.loads(request.raw_state.json or "null"))
            )

        def PlanResourceChange(self, request, context):
            block = resources[request.type_name]["block"]
            prior, proposed = decode(request.prior_state), decode(request.proposed_new_state)
            replace: list[str] = []
            if proposed is not None and request.type_name not in served.resources:
                return pb.PlanResourceChange.Response(
                    diagnostics=[
                        error(
                            f"{request.type_name} is not implemented by the stand-in {name} provider",
                            "See tools/stand_in_provider/README.md for the resources it can create.",
                        )
                    ]
                )
            if proposed is None:
                planned = None
            elif prior is None:
                planned = unknown_computed(block, proposed)
            else:
                # As the real provider: a change to an argument it marks ForceNew replaces the object,
                # any other change updates it in place (aws.Resource.replaced_by).
                different = set(changed(prior, proposed))
                resource = served.resources[request.type_name]
                replace = sorted(different & resource.replaced_by)
                if replace:
                    planned = unknown_computed(block, decode(request.config))
                elif different:
                    planned = {**proposed, **dict.fromkeys(resource.recomputed(prior, different), UNKNOWN)}
                else:
                    planned = prior
            return pb.PlanResourceChange.Response(
                planned_state=value(block, planned),
                planned_private=request.prior_private,
                requires_replace=[pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=n)]) for n in replace],
            )

        def ApplyResourceChange(self, request, context):
            block = resources[request.type_name]["block"]
            prior, planned = decode(request.prior_state), decode(request.planned_state)
            try:
                resource = implemented(served.resources, request.type_name)
                if planned is None:
                    resource.delete(prior)
                    new_state = None
                elif prior is None:
                    new_state = resolve(block, planned, served.create(resource, known_only(planned)))
                else:
                    new_state = resolve(block, planned, served.update(resource, prior, known_only(planned)))
            except Exception as failure:  # reported to Terraform, which keeps the prior state
                return pb.ApplyResourceChange.Response(
                    new_state=request.prior_state if planned is None else value(block, None),
                    diagnostics=[error(f"{request.type_name}: {failure}", repr(failure))],
                )
            return pb.ApplyResourceChange.Response(new_state=value(block, new_state), private=request.planned_private)

        def ReadResource(self, request, context):
            block = resources[request.type_name]["block"]
            state = decode(request.current_state)
            try:
                found = state is not None and implemented(served.resources, request.type_name).exists(state)
            except Exception as failure:
                return pb.ReadResource.Response(
                    new_state=request.current_state,
                    diagnostics=[error(f"{request.type_name}: {failure}", repr(failure))],
                )
            return pb.ReadResource.Response(new_state=value(block, state if found else None), private=request.private)

        def ReadDataSource(self, request, context):
            block = data_sources[request.type_name]["block"]
            config = decode(request.config)
            try:
                read = implemented(served.data_sources, request.type_name)(known_only(config))
            except Exception as failure:
                return pb.ReadDataSource.Response(diagnostics=[error(f"{request.type_name}: {failure}", repr(failure))])
            return pb.ReadDataSource.Response(state=value(block, resolve(block, unknown_computed(block, config), read)))

        def ImportResourceState(self, request, context):
            return pb.ImportResourceState.Response(
                diagnostics=[
                    error(
                        "Import is not supported", "The stand-in provider creates what it manages; it imports nothing."
                    )
                ]
            )

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
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        key_pem,
        certificate.public_bytes(serialization.Encoding.PEM),
        certificate.public_bytes(serialization.Encoding.DER),
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get(MAGIC_COOKIE[0]) != MAGIC_COOKIE[1]:
        raise SystemExit("This is a Terraform provider plugin (a test stand-in); Terraform starts it.")
    terraform = os.getppid()
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
            # Ends with Terraform's Shutdown call, or with Terraform itself if it was killed.
            while not stopped and os.getppid() == terraform:
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        server.stop(grace=0)


if __name__ == "__main__":
    main()
