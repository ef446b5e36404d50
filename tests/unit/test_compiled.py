"""The compiled core: built from every listed module, refused when stale, picklable."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import pickle
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from idgraph.compiled import StaleBuild, check_fresh, compiled_modules, make_picklable
from idgraph.domain.records import IdKey, Limits, RawIdentifier, RawRecord, prepare_record
from idgraph.domain.rules import load_rules
from idgraph.domain.scoring import Evidence
from idgraph.domain.working_set import WorkingSet

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def test_make_builds_every_listed_module_and_they_import_compiled() -> None:
    if not (ROOT / "build" / ".core-compiled").exists():
        pytest.fail("the compiled core is not built: run `make compile` (make test builds it)")
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["idgraph"]
    names = sorted(p.removeprefix("idgraph/").removesuffix(".py").replace("/", ".")
                   for p in listed["compiled"])
    assert compiled_modules() == names
    for name in names:
        module = importlib.import_module(f"idgraph.{name}")
        assert module.__file__ is not None and module.__file__.endswith(SUFFIX), name


def _fake_domain(tmp_path: Path, source_newer: bool) -> Path:
    (tmp_path / "setup.py").write_text("")  # a source checkout
    domain = tmp_path / "idgraph" / "domain"
    domain.mkdir(parents=True)
    (domain / "scoring.py").write_text("")
    (domain / f"scoring{SUFFIX}").write_bytes(b"")
    (domain / "rules.py").write_text("")  # not compiled: never checked
    built, edited = (1_000_000, 2_000_000) if source_newer else (2_000_000, 1_000_000)
    os.utime(domain / f"scoring{SUFFIX}", (built, built))
    os.utime(domain / "scoring.py", (edited, edited))
    os.utime(domain / "rules.py", (3_000_000, 3_000_000))
    return domain


def test_a_source_edited_after_the_build_is_refused_with_the_command_that_fixes_it(
        tmp_path: Path) -> None:
    with pytest.raises(StaleBuild, match=r"scoring\.py changed after it was compiled.*"
                                         r"make compile"):
        check_fresh(_fake_domain(tmp_path, source_newer=True).parent)


def test_a_build_newer_than_its_sources_imports(tmp_path: Path) -> None:
    check_fresh(_fake_domain(tmp_path, source_newer=False).parent)


def test_an_installed_wheel_is_not_dated(tmp_path: Path) -> None:
    domain = _fake_domain(tmp_path, source_newer=True)  # extraction order sets the dates
    (tmp_path / "setup.py").unlink()
    check_fresh(domain.parent)


def test_the_group_library_dates_the_build(tmp_path: Path) -> None:
    domain = _fake_domain(tmp_path, source_newer=True)
    core = domain.parent / f"_core__mypyc{SUFFIX}"  # rebuilt: the shims may keep older dates
    core.write_bytes(b"")
    os.utime(core, (2_500_000, 2_500_000))
    check_fresh(domain.parent)


def test_domain_objects_survive_pickling_as_worker_plans_do() -> None:
    make_picklable()
    rules = load_rules(None)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    raw = RawRecord("crm", "c-1", now, identifiers=(RawIdentifier("phone", "13812345678"),),
                    attributes={"name": "张伟", "birth_date": "1990-01-02"})
    record = prepare_record(raw, rules, Limits(), b"secret", now)
    key = IdKey("phone", "", "13812345678")
    evidence = Evidence.of([key], [{"name": "张伟"}])
    evidence.aligned(("name",))  # a filled cache must not travel or break equality
    view = WorkingSet(rules, {}, {}, [], lambda: "p-1", lambda: "e-1", now)
    outcome = view.ingest(record)
    for value in (key, evidence, record, outcome, view.finished_plan().changes):
        copy = pickle.loads(pickle.dumps(value))
        assert copy == value
    assert pickle.loads(pickle.dumps(key)).key == key.key
