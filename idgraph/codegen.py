"""Regenerate the gRPC stubs in ``idgraph/v1`` from ``proto/`` (``make gen``).

The generated files are committed; a unit test regenerates them into a temporary
directory and fails when they differ from the committed ones.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def include_dirs() -> list[str]:
    """Where protoc finds our protos and the google/rpc ones vendored beside them
    (proto/), and the well-known types protoc ships (google/protobuf/timestamp.proto)."""
    grpc_tools_protos = resources.files("grpc_tools") / "_proto"
    return [str(PROTO_DIR), str(grpc_tools_protos)]


def generate(out: Path) -> None:
    """Run protoc (Python, .pyi and gRPC outputs) for every proto under proto/idgraph (the
    vendored google/rpc protos have their Python code in googleapis-common-protos)."""
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(PROTO_DIR))
                    for p in (PROTO_DIR / "idgraph").rglob("*.proto"))
    args = ["protoc", *(f"-I{d}" for d in include_dirs()),
            f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    package = out / "idgraph" / "v1"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""Generated gRPC stubs (make gen)."""\n')


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m idgraph.codegen --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    generate(args.out)


if __name__ == "__main__":
    main()
