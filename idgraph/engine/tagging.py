"""Tagging: assigning tags of the hierarchy to people and vehicles, and removing them."""

from __future__ import annotations

from dataclasses import dataclass

from idgraph.domain.tags import TagHierarchy
from idgraph.engine.common import check_one_id, follow_redirects, normalized_vin
from idgraph.engine.core import Core
from idgraph.errors import InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx


@dataclass
class Tagging:
    """Assigned tags, written through the core like a steward's decisions."""

    core: Core

    @property
    def hierarchy(self) -> TagHierarchy:
        """The tags that may be assigned (and those the data gives)."""
        return self.core.tags

    def assign_tag(self, path: str, source: str, actor: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> str:
        """Tag a person (merged-away OneIDs follow their redirect) or a vehicle with a tag
        of the hierarchy; answers the OneID or VIN tagged."""
        kind, target = self._tag_target(path, one_id, vin)
        if not source.strip():
            raise InvalidInput.one("source", "required: who says so (a system or a campaign)")

        def work(tx: GraphTx) -> str:
            found = follow_redirects(tx, target) if kind == "person" else target
            if not tx.assign_tag(kind, found, path, source.strip()[:128], actor,
                                 self.core.now()):
                raise NotFound(f"no {'person' if kind == 'person' else 'vehicle'} {target}")
            return found

        return self.core.steward_write(work, timeout)

    def remove_tag(self, path: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> bool:
        """Remove an assigned tag; False when the target did not have it."""
        kind, target = self._tag_target(path, one_id, vin)

        def work(tx: GraphTx) -> bool:
            found = follow_redirects(tx, target) if kind == "person" else target
            return tx.remove_tag(kind, found, path, self.core.now())

        return self.core.steward_write(work, timeout)

    def _tag_target(self, path: str, one_id: str, vin: str) -> tuple[str, str]:
        if bool(one_id) == bool(vin):
            raise InvalidInput.one("target", "give a one_id or a vin")
        kind = "person" if one_id else "vehicle"
        if not self.core.tags.defined(kind, path):
            raise InvalidInput.one("tag", f"not a {kind} tag of the hierarchy: {path!r}")
        if kind == "person":
            check_one_id(one_id)
            return kind, one_id
        return kind, normalized_vin(vin, self.core.rules, self.core.limits)
