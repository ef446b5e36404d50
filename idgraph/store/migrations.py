"""Versioned schema migrations (``V0001__name.cypher``), applied in order at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^V(\d{4})__([a-z0-9_]+)\.cypher$")


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name and statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Read every migration file in version order."""
    migrations = []
    for path in sorted(directory.glob("V*.cypher")):
        match = _NAME.fullmatch(path.name)
        if not match:
            raise ValueError(f"migration file name {path.name!r} is not V0000__name.cypher")
        text = "\n".join(line for line in path.read_text().splitlines()
                         if not line.strip().startswith("//"))
        statements = tuple(s.strip() for s in text.split(";") if s.strip())
        migrations.append(Migration(int(match[1]), match[2], statements))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version")
    return migrations
