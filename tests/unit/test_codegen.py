"""The committed gRPC stubs are exactly what `make gen` produces from proto/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idgraph.codegen import ROOT, generate


def test_generated_stubs_are_fresh(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in (tmp_path / "idgraph" / "v1").iterdir()
                   if p.is_file())
    assert fresh, "protoc generated nothing"
    for relative in fresh:
        committed = ROOT / relative
        assert committed.exists(), f"{relative} is not committed; run make gen"
        assert committed.read_bytes() == (tmp_path / relative).read_bytes(), \
            f"{relative} is stale; run make gen"


def test_the_vendored_google_rpc_protos_are_the_ones_the_runtime_decodes(tmp_path: Path
                                                                         ) -> None:
    """proto/google/rpc (what Node, Go or protoc users compile) describes the messages
    googleapis-common-protos decodes on the server: same messages, fields, numbers, types."""
    from google.protobuf import descriptor_pb2
    from google.rpc import code_pb2, error_details_pb2, status_pb2
    from grpc_tools import protoc

    from idgraph.codegen import include_dirs

    out = tmp_path / "set.pb"
    names = ["google/rpc/status.proto", "google/rpc/error_details.proto",
             "google/rpc/code.proto"]
    assert protoc.main(["protoc", *(f"-I{d}" for d in include_dirs()),
                        f"--descriptor_set_out={out}", *names]) == 0
    vendored = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())

    def messages(found: Any, prefix: str = "") -> list[object]:
        return [item for m in found for item in (
            (prefix + m.name, sorted((f.name, f.number, f.type, f.label, f.type_name)
                                     for f in m.field)),
            *messages(m.nested_type, f"{prefix}{m.name}."))]

    def shape(file: descriptor_pb2.FileDescriptorProto) -> object:
        return (file.package, sorted(messages(file.message_type), key=str),
                sorted((e.name, sorted((v.name, v.number) for v in e.value))
                       for e in file.enum_type))

    for file, module in zip(vendored.file, (status_pb2, error_details_pb2, code_pb2),
                            strict=True):
        runtime = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(runtime)
        assert file.name == runtime.name
        assert shape(file) == shape(runtime), file.name
