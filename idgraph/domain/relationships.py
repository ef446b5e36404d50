"""Relationships between people: households, referrals and dealer affinity.

They are edges between OneIDs, never reasons to merge, and they are derived from what
records say (the identifiers they share, the referrer they name, the dealer they come
from) each time they are read. So they follow merges, splits and erasures of the records
with no bookkeeping of their own.

- Household: a landline shared with matching addresses, or a phone shared with someone a
  steward kept apart or by two people only (the family phone). A value held by more
  people than its type's hub threshold (a switchboard, a dealer's phone) says nothing
  about a household.
- Referral: a record names its referrer by an identifier; the referrer is the one person
  holding it (nobody, or several people: no referral yet).
- Dealer affinity: the dealers a person's records come from or name, most recent first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from idgraph.domain.comparators import compare_addresses
from idgraph.domain.identifiers import IdentifierFormat
from idgraph.domain.profile import DealerAffinity, Relationship, RelationType, StoredRecord
from idgraph.domain.records import dealers_of
from idgraph.domain.rules import Rules


@dataclass(frozen=True)
class SharedValue:
    """An identifier the person holds that other people hold too (up to a cap)."""

    type: str
    value: str
    hashed: bool
    first_seen: datetime | None  # on the person's own records
    others: Sequence[Sharer]


@dataclass(frozen=True)
class Sharer:
    one_id: str
    first_seen: datetime | None
    kept_apart: bool
    attributes: Sequence[Mapping[str, str]]  # of every record of theirs


@dataclass(frozen=True)
class Referral:
    """A referral naming an identifier: who made it (or was named) and who holds it."""

    type: str
    value: str
    hashed: bool
    at: datetime | None
    one_id: str  # the other person (the referrer's holder, or the referred person)
    holders: int  # distinct people holding the identifier


def household_types(rules: Rules) -> list[str]:
    """Identifier types whose sharing can mean a household (landlines and mobiles)."""
    return sorted(name for name, rule in rules.identifier_types.items()
                  if rule.format in (IdentifierFormat.LANDLINE, IdentifierFormat.PHONE))


def _shown(type_: str, value: str, hashed: bool) -> str:
    return f"{type_} (hashed)" if hashed else f"{type_} {value}"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def addresses_of(records: Iterable[StoredRecord]) -> set[str]:
    """The addresses a person's records give."""
    return {r.attributes["address"] for r in records if r.attributes.get("address")}


def households(addresses: Iterable[str], shared: Iterable[SharedValue], rules: Rules
               ) -> list[Relationship]:
    """Household members of a person living at `addresses`: a shared landline with
    matching addresses, or a shared phone with someone kept apart; values held by more
    people than the type's hub threshold do not count."""
    addresses = set(addresses)
    found: dict[str, Relationship] = {}
    for value in shared:
        rule = rules.identifier_types.get(value.type)
        if rule is None or value.value in rule.blocklist:
            continue
        if rule.hub_threshold is not None and len(value.others) + 1 > rule.hub_threshold:
            continue
        for other in value.others:
            if rule.format is IdentifierFormat.LANDLINE:
                theirs = {a["address"] for a in other.attributes if a.get("address")}
                if not any(compare_addresses(x, y) in ("exact", "close")
                           for x in addresses for y in theirs):
                    continue
                evidence = f"shares {_shown(value.type, value.value, value.hashed)} and address"
            elif other.kept_apart:
                evidence = (f"shares {_shown(value.type, value.value, value.hashed)} with "
                            "someone a steward kept apart (a family phone)")
            elif rule.shared_identities is not None and \
                    len(value.others) + 1 < rule.shared_identities:
                evidence = (f"shares {_shown(value.type, value.value, value.hashed)} with "
                            "another person, and no one else (a family phone)")
            else:
                continue
            since = _later(value.first_seen, other.first_seen)
            known = found.get(other.one_id)
            if known is None or (since and known.since and since < known.since):
                found[other.one_id] = Relationship(RelationType.HOUSEHOLD, other.one_id,
                                                   evidence, since)
    return sorted(found.values(), key=lambda r: r.one_id)


def referrals(named: Iterable[Referral], naming: Iterable[Referral]) -> list[Relationship]:
    """Who referred the person (`named`: identifiers its records name, with their holder)
    and whom it referred (`naming`: others' records naming an identifier it holds). Only
    an identifier held by exactly one person points at a referrer."""
    result: dict[tuple[RelationType, str], Relationship] = {}
    for kind, rows, verb in ((RelationType.REFERRED_BY, named, "named by"),
                             (RelationType.REFERRED, naming, "named this person's")):
        for row in rows:
            if row.holders != 1:
                continue
            evidence = f"{verb} {_shown(row.type, row.value, row.hashed)}"
            key = (kind, row.one_id)
            known = result.get(key)
            if known is None or (row.at and known.since and row.at < known.since):
                result[key] = Relationship(kind, row.one_id, evidence, row.at)
    return sorted(result.values(), key=lambda r: (r.type.value, r.one_id))


def dealer_affinity(records: Sequence[StoredRecord], rules: Rules) -> list[DealerAffinity]:
    """The dealers the person's records come from or name, the most recently seen first."""
    seen: dict[str, tuple[int, datetime]] = {}
    for record in records:
        for code in dealers_of(record.identifiers, record.attributes, rules):
            count, last = seen.get(code, (0, record.observed_at))
            seen[code] = (count + 1, max(last, record.observed_at))
    return [DealerAffinity(code, count, last) for code, (count, last)
            in sorted(seen.items(), key=lambda item: (-item[1][1].timestamp(), item[0]))]
