"""The compiled resolution core: which modules run compiled, and what that needs at run time.

``make deps`` compiles the modules listed under ``[tool.idgraph] compiled`` in
pyproject.toml with mypyc (setup.py). Two things differ from running their source:

- a compiled module shadows its ``.py``, so a source edited after the build would silently
  not run: ``check_fresh`` (called when ``idgraph.domain`` is imported) refuses that with the
  command that fixes it;
- pickle restores a compiled frozen dataclass by setting attributes, which its frozen
  ``__setattr__`` refuses: ``make_picklable`` registers a reducer that rebuilds it through
  its constructor (the bulk loader's worker processes send plans back pickled).
"""

from __future__ import annotations

import copyreg
import dataclasses
import importlib.machinery
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).parent


class StaleBuild(ImportError):
    """A compiled module is older than its source."""


def _extensions(folder: Path) -> dict[str, Path]:
    """Module name -> extension file, in one folder."""
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    found: dict[str, Path] = {}
    for path in folder.iterdir():
        suffix = next((s for s in suffixes if path.name.endswith(s)), None)
        if suffix is not None:
            found[path.name[: -len(suffix)]] = path
    return found


def compiled_modules(package: Path = PACKAGE) -> list[str]:
    """Dotted names (under idgraph) of the modules that import compiled."""
    return sorted(_compiled(package))


def _compiled(package: Path) -> dict[str, Path]:
    found = {name: path for name, path in _extensions(package).items()
             if name != "_core__mypyc"}
    found.update({f"domain.{name}": path
                  for name, path in _extensions(package / "domain").items()})
    return found


def check_fresh(package: Path = PACKAGE) -> None:
    """In a source checkout, raise StaleBuild when a compiled module's source changed after
    the build (the code lives in the group library; the per-module shims are rebuilt only
    when they change)."""
    if not (package.parent / "setup.py").exists():
        return  # an installed wheel: built once, never edited
    modules = _compiled(package)
    if not modules:
        return
    core = [p for name, p in _extensions(package).items() if name == "_core__mypyc"]
    built_at = max(p.stat().st_mtime for p in [*modules.values(), *core])
    for name in modules:
        source = package.joinpath(*name.split(".")).with_suffix(".py")
        if source.exists() and source.stat().st_mtime > built_at:
            raise StaleBuild(
                f"{source} changed after it was compiled; run `make compile` to rebuild "
                "the compiled core, or `make pure` to run the source")


def _reduce(obj: Any) -> tuple[Any, tuple[Any, ...]]:
    return type(obj), tuple(getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init)


def make_picklable() -> None:
    """Let pickle and copy rebuild the compiled modules' frozen dataclasses."""
    for name in compiled_modules():
        module = sys.modules.get(f"idgraph.{name}")
        if module is None:
            continue
        for value in vars(module).values():
            params = getattr(value, "__dataclass_params__", None)
            if isinstance(value, type) and params is not None and params.frozen \
                    and value.__module__ == module.__name__:
                copyreg.pickle(value, _reduce)
