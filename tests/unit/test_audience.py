"""Audience definitions, the columnar index (base and delta segments) and media hashes,
without Neo4j."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from idgraph.domain.audience import describe, leaves, parse_definition
from idgraph.domain.audience_index import AudienceIndex, PersonFacts, VehicleFact
from idgraph.domain.media_ids import Hash, MediaKind, hashed, media_values
from idgraph.domain.tags import load_tags
from idgraph.errors import InvalidInput

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def ms(year: int, month: int = 1) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def person(one_id: str, **facts: object) -> PersonFacts:
    return PersonFacts(one_id, **facts)  # type: ignore[arg-type]


def owner(one_id: str, model: str, year: int, **facts: object) -> PersonFacts:
    car = VehicleFact(f"VIN{one_id}", model, "Make", year, "沪A12345", "OWNER", True, ms(year))
    return person(one_id, vehicles=(car,), **facts)


def select(index: AudienceIndex, definition: str) -> set[str]:
    result = index.evaluate(parse_definition(definition), NOW)
    return {index.one_ids[p] for p in result.members.nonzero()[0]}


def test_a_definition_is_one_clause_per_object_with_paths_in_errors() -> None:
    clause = parse_definition('{"and": [{"tag": "a.b.c"}, {"not": {"consent": "given"}}]}')
    assert [p for p, _ in leaves(clause)] == ["definition", "definition.and[0]",
                                              "definition.and[1]", "definition.and[1].not"]
    assert describe(clause) == "(tagged a.b.c) and (not (marketing consent given))"
    with pytest.raises(InvalidInput) as caught:
        parse_definition('{"and": [{"tag": "a.b.c"}, {"source": {"seen_within_days": 0}}]}')
    assert caught.value.violations[0].field == "definition.and[1].source.seen_within_days"
    with pytest.raises(InvalidInput) as caught:
        parse_definition('{"or": []}')
    assert caught.value.violations[0].field == "definition"
    deep = '{"not": ' * 13 + '{"consent": "given"}' + "}" * 13
    with pytest.raises(InvalidInput, match="at most 12 levels"):
        parse_definition(deep)


def test_and_or_not_over_an_index() -> None:
    index = AudienceIndex(load_tags())
    index.load([owner("a", "Passat", 2018, city="上海", consent=True),
                owner("b", "Seal", 2026, city="北京"),
                person("c", city="上海", consent=False, sources={"app": ms(2026, 11)})])
    assert select(index, '{"attribute": {"name": "city", "in": ["上海"]}}') == {"a", "c"}
    assert select(index, '{"and": [{"attribute": {"name": "city", "in": ["上海"]}}, '
                         '{"vehicle": {"relation": "owns_now"}}]}') == {"a"}
    assert select(index, '{"or": [{"consent": "withdrawn"}, '
                         '{"vehicle": {"model": ["Seal"]}}]}') == {"b", "c"}
    assert select(index, '{"not": {"vehicle": {"relation": "any"}}}') == {"c"}
    assert select(index, '{"attribute": {"name": "city", "in": ["广州"]}}') == set()
    assert select(index, '{"source": {"in": ["app"], "seen_within_days": 60}}') == {"c"}
    assert select(index, '{"source": {"in": ["app"], "seen_within_days": 2}}') == set()


def test_age_bands_count_birthdays() -> None:
    index = AudienceIndex(load_tags())
    index.load([person("turns_35_today", birth=date(1991, 12, 6)),
                person("turns_35_tomorrow", birth=date(1991, 12, 7)),
                person("unknown")])
    assert select(index, '{"attribute": {"name": "age_band", "in": ["35_44"]}}') == {
        "turns_35_today"}
    assert select(index, '{"attribute": {"name": "age_band", "in": ["25_34"]}}') == {
        "turns_35_tomorrow"}


def test_relationship_clauses_follow_edges_and_a_delta_replaces_base_rows() -> None:
    index = AudienceIndex(load_tags())
    index.load([owner("parent", "Passat", 2015, household=frozenset({"child"})),
                person("child", household=frozenset({"parent"}),
                       vehicles=(VehicleFact("", "X5", "", None, "", "TEST_DRIVE", True,
                                             ms(2026)),)),
                person("friend", referred_by=frozenset({"parent"}))])
    test_drivers = '{"household_member_of": {"vehicle": {"relation": "test_drove"}}}'
    assert select(index, test_drivers) == {"parent"}
    assert select(index, '{"referred_by": {"vehicle": {"relation": "owns_now"}}}') == {"friend"}
    # The child buys the car: the delta holds the new facts, the base rows are ignored.
    bought = VehicleFact("VINX", "X5", "", 2026, "", "OWNER", True, ms(2026, 11))
    index.update({"child": person("child", household=frozenset({"parent"}),
                                  vehicles=(bought,))})
    assert index.pending == 1
    assert select(index, test_drivers) == set()
    assert select(index, '{"vehicle": {"relation": "owns_now"}}') == {"parent", "child"}
    index.update({"parent": None})  # merged away or erased
    assert select(index, '{"referred_by": {"vehicle": {"relation": "owns_now"}}}') == set()
    index.compact()
    assert index.pending == 0 and len(index) == 2
    assert select(index, '{"vehicle": {"relation": "owns_now"}}') == {"child"}


def test_reasons_name_the_evidence() -> None:
    index = AudienceIndex(load_tags())
    index.load([owner("a", "Passat", 2015, dealers=("SH001",), tags=frozenset({"x.y.z"}))])
    clause = parse_definition('{"and": [{"dealer": {"in": ["SH001"]}}, {"or": [{"tag": "q.q.q"},'
                              ' {"tag": "x.y.z"}]}, {"vehicle": {"age_years_at_least": 10}}]}')
    result = index.evaluate(clause, NOW)
    assert index.reasons(clause, "a", result) == [
        "known to dealer SH001", "tagged x.y.z", "owns Passat (VINa, 2015) since 2015-01-01"]


def test_media_values_and_known_digests() -> None:
    assert media_values("phone", "phone", "13900000001") == [(MediaKind.MOBILE, "13900000001")]
    assert media_values("device_id", "device_id", "490154203237518") == [
        (MediaKind.IMEI, "490154203237518")]
    uuid = "6d92078a-8246-4ba4-ae5b-76104861e7dc"
    assert media_values("device_id", "device_id", uuid) == [
        (MediaKind.IDFA, uuid.upper()), (MediaKind.OAID, uuid)]
    assert media_values("device_id", "device_id", "a1b2c3d4e5f60718") == [
        (MediaKind.OAID, "a1b2c3d4e5f60718")]
    assert media_values("email", "email", "a@b.cn") == []
    assert hashed("13900000001", Hash.MD5) == "9982f948fc5098f6545568ef428df756"
    assert hashed("13900000001", Hash.SHA256) == hashlib.sha256(b"13900000001").hexdigest()
    assert hashed("13900000001", Hash.PLAIN) == "13900000001"
