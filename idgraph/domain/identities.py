"""Who the records carrying a value say they are: how shared values are found.

A consultant types their phone into fifty customers' leads; a family books test drives on one
phone; a placeholder number stands in forms. Counting the *people* holding a value after
resolution misses it once the first leads have merged. Counting what the *records* carrying
the value assert does not: each record names someone (a full name, a surname and honorific,
a gender, a resident ID), and a value whose records name several different people is shared,
whatever was merged so far.

An identifier keeps the identities its records asserted, one representative for each
different person (typos, homophones, traditional characters, romanization and surname leads
of one person are one identity). Both are plain strings, so the graph stores them on the
identifier node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from idgraph.domain.comparators import canonical_gender
from idgraph.domain.identifiers import IdentifierFormat, other_ownership
from idgraph.domain.names import compare_names, gender_hint, parse_name
from idgraph.domain.records import IdKey, PreparedRecord
from idgraph.domain.rules import Rules

_SEPARATOR = "\x1f"
_OWNS_SEPARATOR = ","
MAX_IDENTITIES = 8  # kept per value: enough to tell any threshold of the rules


def identity_of(record: PreparedRecord, rules: Rules) -> str | None:
    """What the record says about who it is (name, gender, resident ID, the cars it owns and
    since when), or None when it says nothing (a WeChat follower with a nickname)."""
    name = record.attributes.get("name", "").strip()
    if name and compare_names(name, name) == "":
        name = ""  # a nickname or a placeholder names no one
    gender = canonical_gender(record.attributes.get("gender", "")) or gender_hint(name)
    id_card = next((k.value[:16] for k in record.identifiers
                    if k.type in rules.identifier_types
                    and rules.identifier_types[k.type].format is IdentifierFormat.ID_CARD), "")
    # An ownership (VIN@YYYY-MM) says who holds a car from when: the next owner of a used
    # car, even in nameless telematics records, is someone else.
    owns = _OWNS_SEPARATOR.join(sorted(k.value for k in record.identifiers
                                       if k.type in rules.ownership_types))
    if not (name or gender or id_card or owns):
        return None
    return _SEPARATOR.join((name, gender, id_card, owns))


def _fields(identity: str) -> tuple[str, str, str, str]:
    """The fields of an identity (stored before ownerships were part of it: three)."""
    name, gender, card, *rest = identity.split(_SEPARATOR)
    return name, gender, card, rest[0] if rest else ""


def conflicting(left: str, right: str) -> bool:
    """True when two identities are different people: names that disagree (beyond typos,
    homophones and surname leads), different genders, different resident IDs, or one car
    owned from different dates."""
    name_a, gender_a, card_a, owns_a = _fields(left)
    name_b, gender_b, card_b, owns_b = _fields(right)
    if card_a and card_b and card_a != card_b:
        return True
    if gender_a and gender_b and gender_a != gender_b:
        return True
    if owns_a and owns_b and other_ownership(owns_a.split(_OWNS_SEPARATOR),
                                             owns_b.split(_OWNS_SEPARATOR)):
        return True
    return bool(name_a and name_b) and compare_names(name_a, name_b) == "disagree"


def with_identity(identities: Sequence[str], identity: str) -> tuple[str, ...] | None:
    """The identities with one more record's added; None when nothing changes. A record
    that is someone already there fills in what that identity lacked (a name for a gender
    alone), so that a later record naming another person conflicts with it."""
    if identity in identities:
        return None
    for index, known in enumerate(identities):
        if not conflicting(identity, known):
            filled = _filled(known, identity)
            if filled == known:
                return None
            return (*identities[:index], filled, *identities[index + 1:])
    if len(identities) >= MAX_IDENTITIES:
        return None
    return (*identities, identity)


def _filled(known: str, other: str) -> str:
    """An identity with the fields it lacks taken from a compatible one, and a full name
    for a surname lead (张伟 for 张先生), so that whichever record came first, a later 张强
    conflicts with it."""
    name_a, gender_a, card_a, owns_a = _fields(known)
    name_b, gender_b, card_b, owns_b = _fields(other)
    if name_b and (not name_a or (parse_name(name_b).full and not parse_name(name_a).full)):
        name_a = name_b
    owns = _OWNS_SEPARATOR.join(sorted({*owns_a.split(_OWNS_SEPARATOR),
                                        *owns_b.split(_OWNS_SEPARATOR)} - {""}))
    return _SEPARATOR.join((name_a, gender_a or gender_b, card_a or card_b, owns))


def shared_keys(keys: Iterable[IdKey], identities: Mapping[str, Sequence[str]], rules: Rules
                ) -> dict[str, int]:
    """The keys whose records name two or more different people, with how many: at the
    type's `shared_identities` a key is shared (no evidence), below it contested (evidence
    only between sides that each name someone)."""
    shared: dict[str, int] = {}
    for key in keys:
        if key.is_blocking:
            continue
        rule = rules.identifier_types.get(key.type)
        threshold = rule.shared_identities if rule is not None else None
        count = len(identities.get(key.key, ()))
        if threshold is not None and count >= 2:
            shared[key.key] = count
    return shared


def value_states(counts: Iterable[tuple[str, int, bool, int]], rules: Rules
                 ) -> dict[tuple[str, str], int]:
    """How many values of each type stopped being plain evidence, by state: `shared` (its
    records name the type's `shared_identities` different people or more, or more people
    hold it than its `hub_threshold`: never evidence) or `contested` (two people or more,
    below that: evidence only between sides that each name someone). `counts` holds (type,
    people its records name, over the hub threshold?, how many such values)."""
    states: dict[tuple[str, str], int] = {}
    for type_, named, hub, values in counts:
        rule = rules.identifier_types.get(type_)
        if rule is None or not rule.evidence:
            continue
        limit = rule.shared_identities
        if hub or (limit is not None and named >= limit):
            state = "shared"
        elif limit is not None and named >= 2:
            state = "contested"
        else:
            continue
        states[(type_, state)] = states.get((type_, state), 0) + values
    return states


def hub_thresholds(rules: Rules) -> dict[str, int]:
    """Each evidence type's hub threshold (people holding a value beyond which it is none)."""
    return {name: rule.hub_threshold for name, rule in rules.identifier_types.items()
            if rule.evidence and rule.hub_threshold is not None}
