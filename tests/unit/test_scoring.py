"""Fellegi-Sunter arithmetic, term frequencies, comparators and blocking transforms."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from idgraph.domain.comparators import (
    compare_addresses,
    compare_dates,
    compare_edit_distance,
    compare_jaro_winkler,
    vector_levels,
)
from idgraph.domain.records import (
    BLOCKING_PREFIX,
    Limits,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    RawVehicle,
    prepare_record,
)
from idgraph.domain.resolution import Action, PairVerdict, classify_pair, decide
from idgraph.domain.rules import COMPARATOR_LEVELS, Comparator, Level, Rules, load_rules
from idgraph.domain.scoring import Evidence, one_typo, probability, score
from tests.synthetic import GIVEN, SURNAMES, typo
from tests.unit.factories import NOW, SECRET, person, record, snapshot


def test_level_weight_is_log2_m_over_u() -> None:
    assert Level(m=0.9, u=0.01).bits == pytest.approx(math.log2(90))
    assert Level.model_validate(-2.5).bits == -2.5  # a bare number is a hand-set weight


def test_probability_of_a_match_weight() -> None:
    assert probability(0.0) == 0.5
    assert probability(math.log2(99)) == pytest.approx(0.99)
    assert probability(-1000) < 1e-300 and probability(1000) == 1.0


def test_total_is_prior_plus_the_weights(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), key="a", name="李秀珍", birth_date="1980-02-03")
    b = record(rules, ("phone", "13912345678"), key="b", name="李秀珍", birth_date="1980-03-02")
    s = score(Evidence.of(b.identifiers, [b.attributes]),
              Evidence.of(a.identifiers, [a.attributes]), rules)
    assert {c.name: c.level for c in s.comparisons} == {
        "phone": "agree", "name": "exact", "birth_date": "swapped"}
    assert s.total == pytest.approx(rules.prior_bits + sum(c.weight for c in s.comparisons),
                                    abs=1e-5)
    assert s.probability == pytest.approx(probability(s.total))


HOME = "上海市浦东新区世纪大道100号3栋1201室"


def test_what_comes_with_a_shared_landline_adds_nothing(rules: Rules) -> None:
    """DOMAIN: a household shares an address and a landline; that is a relationship."""
    husband = record(rules, ("phone", "13912345678"), ("landline", "021-62265678"), key="a",
                     name="张伟", address=HOME, city="上海")
    wife = record(rules, ("phone", "13987654321"), ("landline", "021-62265678"), key="b",
                  name="李娜", address=HOME, city="上海")
    s = score(Evidence.of(wife.identifiers, [wife.attributes]),
              Evidence.of(husband.identifiers, [husband.attributes]), rules)
    found = {c.name: c for c in s.comparisons}
    assert (found["address"].level, found["address"].weight) == ("exact", 0.0)
    assert found["address"].note == "comes with the shared landline"
    assert found["city"].weight == 0.0
    assert s.total == pytest.approx(rules.prior_bits + found["landline"].weight
                                    + found["name"].weight, abs=1e-5)
    assert s.probability < rules.thresholds.review  # not even a review task
    # The same person's second record: landline and name agree, and that links.
    again = record(rules, ("landline", "021-62265678"), key="c", name="张伟", address=HOME)
    assert score(Evidence.of(again.identifiers, [again.attributes]),
                 Evidence.of(husband.identifiers, [husband.attributes]),
                 rules).probability >= rules.thresholds.link
    # Without the landline the address still counts.
    alone = record(rules, key="d", name="张伟", address=HOME)
    plain = score(Evidence.of((), [alone.attributes]),
                  Evidence.of((), [husband.attributes]), rules)
    assert {c.name: c.weight for c in plain.comparisons}["address"] > 5


def test_a_family_phone_with_another_name_is_weak_evidence(rules: Rules) -> None:
    """The city comes with a shared phone; a different full name makes the shared phone its
    `different_person` level, and the pair falls below review (issue 16 item 3)."""
    owner = record(rules, ("phone", "13912345678"), key="a", name="张伟", city="杭州")
    lead = record(rules, ("phone", "13912345678"), key="b", name="王芳", city="杭州")
    s = score(Evidence.of(lead.identifiers, [lead.attributes]),
              Evidence.of(owner.identifiers, [owner.attributes]), rules)
    weights = {c.name: c for c in s.comparisons}
    assert weights["city"].weight == 0.0
    different = rules.identifier_types["phone"].different_person
    assert different is not None
    assert weights["phone"].weight == pytest.approx(different.bits)
    assert "name disagree" in weights["phone"].note
    assert s.probability < rules.thresholds.review


def test_a_common_name_counts_for_less_than_a_rare_one(rules: Rules) -> None:
    """DOMAIN: 张伟 is shared by ~280,000 people; agreeing on it is weak evidence."""
    def name_weight(name: str) -> float:
        a = record(rules, key="a", name=name)
        b = record(rules, key="b", name=name)
        s = score(Evidence.of((), [a.attributes]), Evidence.of((), [b.attributes]), rules)
        return next(c.weight for c in s.comparisons if c.name == "name")
    assert name_weight("张伟") < name_weight("欧阳明轩") - 3
    lead = record(rules, key="c", name="王先生")
    full = record(rules, key="d", name="王建国")
    rare = record(rules, key="e", name="諸葛先生")
    rare_full = record(rules, key="f", name="诸葛亮")

    def surname_weight(x: object, y: object) -> float:
        s = score(Evidence.of((), [x.attributes]), Evidence.of((), [y.attributes]), rules)  # type: ignore[attr-defined]
        return next(c.weight for c in s.comparisons if c.name == "name")
    assert surname_weight(lead, full) < surname_weight(rare, rare_full)


@pytest.mark.parametrize(("left", "right", "level"), [
    ("1990-01-31", "1990/1/31", "exact"),
    ("1990-03-04", "1990-04-03", "swapped"),
    ("1990-03-04", "1991-03-04", "typo"),
    ("1990-03-04", "1990-11-20", "year"),
    ("1990-03-04", "1970-11-20", "disagree"),
    ("1990-03-04", "not a date", ""),
])
def test_dates(left: str, right: str, level: str) -> None:
    assert compare_dates(left, right) == level


@pytest.mark.parametrize(("left", "right", "level"), [
    ("上海市浦东新区世纪大道100号", "上海市 浦东新区 世纪大道 100 号", "exact"),
    ("上海市浦东新区世纪大道100号", "上海市浦東新區世紀大道100號", "exact"),  # traditional
    ("上海市浦东新区世纪大道100号", "浦东新区世纪大道100号", "close"),  # city left off
    ("上海市浦东新区世纪大道100号", "上海市浦东新区世纪大道108号", "close"),
    ("上海市浦东新区世纪大道100号", "北京市海淀区中关村大街1号", "disagree"),
    ("12 Wattle Place, Richmond", "12 wattle pl richmond", "close"),
    ("12 Wattle Place, Richmond", "12 Wattle Street, Richmond North", "similar"),
    ("上海市浦东新区世纪大道100号", "上海市浦东新区张江路100号", "similar"),
    ("12 Wattle Place Richmond", "14 Banksia Place Richmond", "disagree"),
])
def test_addresses(left: str, right: str, level: str) -> None:
    assert compare_addresses(left, right) == level


def test_string_distances() -> None:
    assert compare_jaro_winkler("Martha", "marhta") == "close"
    assert compare_jaro_winkler("dwayne", "duane") == "distant"
    assert compare_jaro_winkler("smith", "nguyen") == "disagree"
    assert compare_edit_distance("4551", "4515") == "close"  # one transposition
    assert compare_edit_distance("4551", "4155") == "similar"
    assert compare_edit_distance("4551", "2000") == "disagree"


@pytest.mark.parametrize("comparator", [Comparator.JARO_WINKLER, Comparator.EDIT_DISTANCE])
def test_vectorized_levels_equal_the_scalar_comparator(comparator: Comparator) -> None:
    rng = random.Random(5)
    words = list(GIVEN + SURNAMES)
    lefts = [rng.choice(words) for _ in range(2000)]
    rights = [typo(w, rng) if rng.random() < 0.5 else rng.choice(words) for w in lefts]
    rights[:3] = ["", "  ", lefts[2].upper()]
    levels = COMPARATOR_LEVELS[comparator]
    cutoffs = (0.92, 0.88, 0.7) if comparator is Comparator.JARO_WINKLER else (1, 2)
    scalar = compare_jaro_winkler if comparator is Comparator.JARO_WINKLER else \
        compare_edit_distance
    vector = vector_levels(comparator, cutoffs, lefts, rights, levels)
    assert vector is not None
    expected = [levels.index(lv) if (lv := scalar(a, b, cutoffs)) else -1
                for a, b in zip(lefts, rights, strict=True)]
    assert vector.tolist() == expected


def test_blocking_key_transforms() -> None:
    data = load_rules().model_dump(mode="json", exclude_none=True)
    data["blocking_keys"] = [["name:pinyin", "city"], ["name:surname", "birth_date:year"]]
    rules = Rules.model_validate(data)
    a = record(rules, key="a", name="张伟", city="上海", birth_date="1980-02-03")
    b = record(rules, key="b", name="Wei Zhang", city="上海", birth_date="1980-12-30")
    c = record(rules, key="c", name="张玮", city="上海", birth_date="1975-01-01")
    keys = {r.source_record_id: {k.key for k in r.blocking_keys} for r in (a, b, c)}
    assert keys["a"] & keys["b"] and keys["a"] & keys["c"]  # romanized / homophone: same sound
    assert all(k.startswith(BLOCKING_PREFIX) for k in keys["a"])
    data["blocking_keys"] = [["name:soundex"]]
    with pytest.raises(ValueError, match="unknown transforms"):
        Rules.model_validate(data)


def test_a_record_does_not_merge_people_who_disagree_with_each_other() -> None:
    """Febrl3 rec-274-dup-2: a sparse record matches its own person and, on surname and
    postcode alone, a stranger; the two people do not match each other, so no merge."""
    rules = Rules.model_validate({**load_rules(
        __import__("pathlib").Path(__file__).resolve().parent.parent / "data" /
        "person_rules.toml").model_dump(mode="json", exclude_none=True),
        "require_identifier_evidence": False})
    own = record(rules, key="own", given_name="charlotte", surname="orchard",
                 date_of_birth="19850330", postcode="4551", street_number="3",
                 address_1="dickinson street", suburb="narellan")
    stranger = record(rules, key="other", given_name="charles", surname="orchard",
                      date_of_birth="19581007", postcode="4551", street_number="350",
                      address_1="perry drive", suburb="mooloolaba")
    sparse = record(rules, key="sparse", given_name="charlotye", surname="orchard",
                    postcode="4551", date_of_birth="19850330")
    result = decide(snapshot(sparse, person("oid_OWN", own, 5), person("oid_OTHER", stranger, 1)),
                    rules)
    assert result.action is Action.LINKED and result.absorbed_one_ids == ()
    assert [r.candidate_one_id for r in result.review] == ["oid_OTHER"]
    assert "not the people it joins" in result.review[0].reason


def test_cities_compare_without_the_shi_suffix() -> None:
    from idgraph.domain.comparators import compare_cities

    assert compare_cities("上海市", "上海") == "exact"
    assert compare_cities("上海 市", "上海") == "exact"
    assert compare_cities("哈爾濱", "哈尔滨市") == "exact"  # traditional characters
    assert compare_cities("上海", "北京市") == "disagree"
    assert compare_cities("", "上海") == ""


def test_a_surname_not_listed_weighs_its_own_default(rules: Rules) -> None:
    """A surname lead agreeing on an unlisted surname is evidence of about one person in
    170, not of one in 100,000 like an unlisted full name."""
    lead = record(rules, key="a", name="罗先生")
    owner = record(rules, key="b", name="罗春明")
    s = score(Evidence.of((), [lead.attributes]), Evidence.of((), [owner.attributes]), rules)
    (name,) = [c for c in s.comparisons if c.name == "name"]
    tf = rules.attributes["name"].term_frequencies
    assert tf is not None and name.level == "surname"
    assert name.weight == pytest.approx(math.log2(0.95 / tf.level_defaults["surname"]))
    assert name.weight < 8


@pytest.mark.parametrize(("name", "counts"), [
    ("罗建新", True),  # the same full name: the owner's service visit
    ("羅建新", True),  # traditional characters
    ("罗先生", False),  # a surname lead: perhaps the owner's son
    ("李女士", False),  # a relative servicing the car under her name
    ("业女士", False),  # an unlisted surname: no name, and a phone the owner lacks
])
def test_a_vin_counts_only_with_an_agreeing_full_name(rules: Rules, name: str,
                                                      counts: bool) -> None:
    vin = ("vin", "LSVAC26G7JS911344")
    owner = record(rules, vin, ("phone", "15836194952"), key="a", name="罗建新")
    visit = record(rules, vin, ("phone", "13144115846"), key="b", name=name)
    s = score(Evidence.of(visit.identifiers, [visit.attributes]),
              Evidence.of(owner.identifiers, [owner.attributes]), rules)
    (found,) = [c for c in s.comparisons if c.name == "vin"]
    assert (found.level == "agree") is counts
    if not counts:
        assert found.weight == 0.0 and "agreeing name" in found.note


@pytest.mark.parametrize(("identifiers", "counts"), [
    ((), True),  # a service visit that names no one: the car's only named holder
    ((("phone", "15836194952"),), True),  # with the owner's phone
    ((("phone", "13144115846"),), False),  # with a phone the owner lacks: someone else
])
def test_a_vin_counts_for_a_record_that_names_no_one(
        rules: Rules, identifiers: tuple[tuple[str, str], ...], counts: bool) -> None:
    vin = ("vin", "LSVAC26G7JS911344")
    owner = record(rules, vin, ("phone", "15836194952"), key="a", name="罗建新")
    visit = record(rules, vin, *identifiers, key="b")
    s = score(Evidence.of(visit.identifiers, [visit.attributes]),
              Evidence.of(owner.identifiers, [owner.attributes]), rules)
    (found,) = [c for c in s.comparisons if c.name == "vin"]
    assert (found.level == "agree") is counts
    assert (classify_pair(s, rules) is PairVerdict.MATCH) is counts


def test_a_vin_does_not_join_another_ownership_of_the_car(rules: Rules) -> None:
    """A used car's next owner: nameless telematics owning the car from another month."""
    def owner(key: str, since: datetime, **attributes: str) -> PreparedRecord:
        car = RawVehicle("LSVAC26G7JS911344", "OWNER", since=since)
        vin = (RawIdentifier("vin", car.vin),)
        return prepare_record(RawRecord("dms", key, NOW, vin, attributes, (car,)), rules,
                              Limits(), SECRET, NOW)

    first = owner("a", datetime(2019, 3, 7, tzinfo=UTC), name="罗建新")
    ping = owner("b", datetime(2023, 5, 2, tzinfo=UTC))
    s = score(Evidence.of(ping.identifiers, [ping.attributes]),
              Evidence.of(first.identifiers, [first.attributes]), rules)
    (found,) = [c for c in s.comparisons if c.name == "vin"]
    assert found.level == "ignored" and "different dates" in found.note
    assert classify_pair(s, rules) is not PairVerdict.MATCH


def test_a_phone_one_digit_off_counts_with_the_same_full_name(rules: Rules) -> None:
    crm = record(rules, ("phone", "17849119934"), key="a", name="韩强", city="上海")
    app = record(rules, ("phone", "17849119964"), key="b", name="韩强", city="上海市")
    s = score(Evidence.of(app.identifiers, [app.attributes]),
              Evidence.of(crm.identifiers, [crm.attributes]), rules)
    (found,) = [c for c in s.comparisons if c.name == "phone"]
    assert found.level == "typo" and found.weight > 0
    assert classify_pair(s, rules) is PairVerdict.MATCH
    other = record(rules, ("phone", "17849119964"), key="c", name="韩梅", city="上海")
    s = score(Evidence.of(other.identifiers, [other.attributes]),
              Evidence.of(crm.identifiers, [crm.attributes]), rules)
    assert not [c for c in s.comparisons if c.name == "phone"]
    assert classify_pair(s, rules) is PairVerdict.NON_MATCH


@pytest.mark.parametrize(("a", "b", "near"), [
    ("13912345678", "13912345679", True), ("13912345678", "13912345687", True),
    ("13912345678", "13912345678", False), ("13912345678", "13912345600", False),
    ("13912345678", "1391234567", False), ("13912345678", "13921345687", False),
])
def test_one_typo(a: str, b: str, near: bool) -> None:
    assert one_typo(a, b) is near
