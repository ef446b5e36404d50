"""The committed gRPC stubs are exactly what `make gen` produces from proto/."""

from __future__ import annotations

from pathlib import Path

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
