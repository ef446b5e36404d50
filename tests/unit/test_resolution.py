"""The pure resolution decision: links, merges, reviews and the over-merge guards."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from idgraph.domain.resolution import Action, Snapshot, decide
from idgraph.domain.rules import Rules
from tests.unit.factories import person, record, snapshot


def test_no_candidates_is_new(rules: Rules) -> None:
    result = decide(snapshot(record(rules, ("phone", "13912345678"))), rules)
    assert (result.action, result.target_one_id) == (Action.NEW, None)


def test_shared_phone_links(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), key="a")
    b = record(rules, ("phone", "139 1234 5678"), key="b")
    result = decide(snapshot(b, person("oid_A", a)), rules)
    assert (result.action, result.target_one_id) == (Action.LINKED, "oid_A")
    phone = rules.identifier_types["phone"]
    assert phone.m is not None and phone.u is not None
    assert result.score == pytest.approx(rules.prior_bits + math.log2(phone.m / phone.u), abs=1e-5)
    assert result.scored[0].score.probability >= rules.thresholds.link


def test_record_bridging_two_people_merges_into_the_older(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), key="a")
    b = record(rules, ("email", "x@y.com"), key="b")
    bridge = record(rules, ("phone", "13912345678"), ("email", "x@y.com"), key="c")
    result = decide(snapshot(bridge, person("oid_NEWER", b, 1), person("oid_OLDER", a, 5)),
                    rules)
    assert result.action is Action.MERGED
    assert result.target_one_id == "oid_OLDER"
    assert result.absorbed_one_ids == ("oid_NEWER",)


def test_placeholder_phone_is_never_evidence(rules: Rules) -> None:
    a = record(rules, ("phone", "13800138000"), key="a")
    b = record(rules, ("phone", "+86 138-0013-8000"), key="b")  # DOMAIN case 1
    result = decide(snapshot(b, person("oid_A", a)), rules)
    assert result.action is Action.NEW
    assert "blocklist" in next(iter(result.evidence_filter.ignored.values()))


def test_hub_value_stops_being_evidence(rules: Rules) -> None:
    """DOMAIN case 13: a phone held by six people with six resident IDs links no one."""
    phone = ("phone", "13912345678")
    threshold = rules.identifier_types["phone"].hub_threshold
    assert threshold is not None
    a = record(rules, phone, key="a")
    b = record(rules, phone, key="b")
    phone_key = a.identifiers[0].key
    held_by_few = decide(snapshot(b, person("oid_A", a), counts={phone_key: threshold}), rules)
    held_by_many = decide(snapshot(b, person("oid_A", a), counts={phone_key: threshold + 1}),
                          rules)
    assert held_by_few.action is Action.LINKED
    assert held_by_many.action is Action.NEW
    assert "shared by" in held_by_many.evidence_filter.ignored[phone_key]


def test_conflicting_resident_ids_do_not_merge_and_open_review(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), ("id_card", "11010519491231002X"), key="a")
    b = record(rules, ("phone", "13912345678"), ("id_card", "130503670401001"), key="b")
    result = decide(snapshot(b, person("oid_A", a)), rules)
    assert result.action is Action.REVIEW
    assert result.target_one_id is None
    assert [r.candidate_one_id for r in result.review] == ["oid_A"]
    assert result.scored[0].score.conflict


def test_merge_that_would_break_one_per_person_is_blocked(rules: Rules) -> None:
    """Each side matches the record, but together they would hold two resident IDs."""
    a = record(rules, ("phone", "13912345678"), ("id_card", "11010519491231002X"), key="a")
    b = record(rules, ("phone", "13698765432"), ("id_card", "130503670401001"), key="b")
    bridge = record(rules, ("phone", "13912345678"), ("phone", "13698765432"), key="c")
    result = decide(snapshot(bridge, person("oid_A", a, 5), person("oid_B", b, 1)), rules)
    assert result.action is Action.LINKED
    assert result.absorbed_one_ids == ()
    assert result.target_one_id == "oid_A"  # equal scores: the older person wins
    assert [r.candidate_one_id for r in result.review] == ["oid_B"]
    assert "conflict" in result.review[0].reason


def test_a_phone_shared_with_another_name_is_another_person(rules: Rules) -> None:
    """Issue 16 item 3: a relative's phone on a test drive neither joins nor floods review."""
    a = record(rules, ("phone", "13912345678"), key="a", name="张伟")
    b = record(rules, ("phone", "13912345678"), key="b", name="王芳")
    result = decide(snapshot(b, person("oid_A", a)), rules)
    assert result.action is Action.NEW
    assert not result.review


@pytest.mark.parametrize(("name", "gender", "action"), [
    ("张先生", "M", Action.LINKED),  # a surname lead agrees with 张伟
    ("张伟", "", Action.LINKED),
    ("張偉", "", Action.LINKED),  # traditional characters are the same name
    ("张女士", "F", Action.NEW),  # a woman's lead on a man's phone: his wife, not him
    ("李先生", "M", Action.NEW),
])
def test_a_shared_phone_links_only_without_a_conflicting_identity(
        rules: Rules, name: str, gender: str, action: Action) -> None:
    owner = record(rules, ("phone", "13912345678"), key="a", name="张伟", gender="M")
    lead = record(rules, ("phone", "13912345678"), key="b", name=name,
                  **({"gender": gender} if gender else {}))
    assert decide(snapshot(lead, person("oid_A", owner)), rules).action is action


def test_name_alone_never_links(rules: Rules) -> None:
    """DOMAIN case 12: 張偉 = 张伟, but a name(+birth date) agreement is not enough."""
    a = record(rules, ("phone", "13912345678"), key="a", name="張偉", birth_date="1990-01-01")
    b = record(rules, ("phone", "13700000000"), key="b", name="张伟", birth_date="1990-01-01")
    result = decide(snapshot(b, person("oid_A", a)), rules)
    assert result.action is not Action.LINKED
    names = [c for c in result.scored[0].score.comparisons if c.name == "name"]
    assert names[0].level == "exact"


@pytest.mark.parametrize(("left", "right", "action"), [
    # a full name with a city and a birth date, or with a flat: a contact the other
    # systems never saw links without a shared identifier
    ({"city": "长沙", "birth_date": "1985-03-02"}, {"city": "长沙市", "birth_date": "1985-03-02"},
     Action.LINKED),
    ({"address": "岳麓区枫林路12号3栋402室"}, {"address": "岳麓区枫林路12号3栋402室"},
     Action.LINKED),
    # a name and a city are a namesake's as often: no link, and nothing for a steward
    ({"city": "长沙", "gender": "F"}, {"city": "长沙", "gender": "F"}, Action.NEW),
    # a birth date without the city is not enough either: a steward looks
    ({"birth_date": "1985-03-02"}, {"birth_date": "1985-03-02"}, Action.REVIEW),
])
def test_attributes_link_alone_only_as_the_rules_list(
        rules: Rules, left: dict[str, str], right: dict[str, str], action: Action) -> None:
    crm = record(rules, ("crm_id", "CRM1"), key="a", name="赵秀琴", **left)
    app = record(rules, ("app_user_id", "9"), key="b", name="赵秀琴", **right)
    result = decide(snapshot(app, person("oid_A", crm)), rules)
    assert result.action is action
    assert bool(result.review) is (action is Action.REVIEW)


def test_openid_under_another_appid_is_another_identifier(rules: Rules) -> None:
    """DOMAIN case 11."""
    a = record(rules, ("wechat_openid", "o123", "app1"), key="a")
    b = record(rules, ("wechat_openid", "o123", "app2"), key="b")
    c = record(rules, ("wechat_unionid", "u9", "platform"), key="c")
    d = record(rules, ("wechat_unionid", "u9", "platform"), key="d")
    assert a.identifiers[0].key != b.identifiers[0].key
    assert decide(snapshot(b, person("oid_A", a)), rules).action is Action.NEW
    assert decide(snapshot(d, person("oid_C", c)), rules).action is Action.LINKED


def test_vin_is_never_merge_evidence(rules: Rules) -> None:
    """DOMAIN case 14 (the matching half): two owners of one VIN stay two people."""
    a = record(rules, ("vin", "LJCPCBLCX11000237"), key="a", name="张伟")
    b = record(rules, ("vin", "LJCPCBLCX11000237"), key="b", name="李雷")
    assert decide(snapshot(b, person("oid_A", a)), rules).action is Action.NEW


def test_decision_does_not_depend_on_candidate_order(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), key="a")
    b = record(rules, ("email", "x@y.com"), key="b")
    bridge = record(rules, ("phone", "13912345678"), ("email", "x@y.com"), key="c")
    p, q = person("oid_P", a, 2), person("oid_Q", b, 3)
    one, two = decide(snapshot(bridge, p, q), rules), decide(snapshot(bridge, q, p), rules)
    assert (one.target_one_id, one.absorbed_one_ids) == (two.target_one_id, two.absorbed_one_ids)


def test_blocked_merge_picks_the_same_side_in_any_candidate_order(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), ("id_card", "11010519491231002X"), key="a")
    b = record(rules, ("phone", "13698765432"), ("id_card", "130503670401001"), key="b")
    bridge = record(rules, ("phone", "13912345678"), ("phone", "13698765432"), key="c")
    p, q = person("oid_A", a, 5), person("oid_B", b, 1)
    assert decide(snapshot(bridge, p, q), rules).target_one_id == \
        decide(snapshot(bridge, q, p), rules).target_one_id == "oid_A"


def test_touched_people_are_re_evaluated_against_what_the_record_joins(rules: Rules) -> None:
    """R shares only a household landline with B (too weak alone) but a phone with A; A and
    B agree on name and birth date. Through R, B now matches: the same clusters as when B
    arrives after A and R."""
    a = record(rules, ("phone", "13912345678"), key="a", name="李秀珍", birth_date="1980-02-03")
    b = record(rules, ("landline", "021-62345678"), key="b", name="李秀珍",
               birth_date="1980-02-03")
    r = record(rules, ("phone", "13912345678"), ("landline", "021-62345678"), key="r")
    alone = decide(snapshot(r, person("oid_B", b, 1)), rules)
    assert alone.action is Action.NEW  # the landline alone links no one
    result = decide(snapshot(r, person("oid_A", a, 5), person("oid_B", b, 1)), rules)
    assert result.action is Action.MERGED and result.target_one_id == "oid_A"
    assert result.absorbed_one_ids == ("oid_B",) and result.rule == "re-evaluation"
    assert result.review == ()
    later = decide(snapshot(b, person("oid_A", a, 5).__class__(
        "oid_A", person("oid_A", a, 5).created_at,
        person("oid_A", a, 5).evidence.union(person("oid_R", r).evidence))), rules)
    assert later.action is Action.LINKED and later.target_one_id == "oid_A"


def test_people_kept_apart_are_never_merged_and_not_reviewed_again(rules: Rules) -> None:
    a = record(rules, ("phone", "13912345678"), key="a", name="王伟")
    b = record(rules, ("email", "x@y.com"), key="b", name="王伟")
    bridge = record(rules, ("phone", "13912345678"), ("email", "x@y.com"), key="c",
                    name="王伟")
    older, newer = person("oid_OLDER", a, 5), person("oid_NEWER", b, 1)
    assert decide(snapshot(bridge, newer, older), rules).action is Action.MERGED
    for apart in ((replace(older, apart_from=frozenset({"oid_NEWER"})), newer),
                  (older, replace(newer, apart_from=frozenset({"oid_OLDER"})))):
        result = decide(snapshot(bridge, *apart), rules)
        assert (result.action, result.target_one_id) == (Action.LINKED, "oid_OLDER")
        assert result.absorbed_one_ids == () and not result.review


def test_a_kept_apart_person_is_not_joined_by_re_evaluation(rules: Rules) -> None:
    # B does not match the record alone, only the record and A together (shared email).
    a = record(rules, ("phone", "13912345678"), ("email", "l@y.com"), key="a")
    b = record(rules, ("email", "l@y.com"), key="b", name="李娜")
    rec = record(rules, ("phone", "13912345678"), key="c", name="李娜")
    pa, pb = person("oid_A", a, 5), person("oid_B", b, 1)
    joined = decide(snapshot(rec, pb, pa), rules)
    assert (joined.rule, joined.absorbed_one_ids) == ("re-evaluation", ("oid_B",))
    apart = decide(snapshot(rec, replace(pb, apart_from=frozenset({"oid_A"})), pa), rules)
    assert (apart.action, apart.target_one_id) == (Action.LINKED, "oid_A")


def test_a_lead_that_fits_two_people_on_a_family_phone_joins_neither(rules: Rules) -> None:
    """王女士 on a phone that 王桂兰 and 汪艳红 share (its records name two people: contested)
    fits both about as well: joining either would be a guess."""
    phone = ("phone", "18572734252")
    mother = record(rules, phone, key="a", name="王桂兰", gender="F", city="天津")
    daughter = record(rules, phone, ("crm_id", "CRM7"), key="b", name="汪艳红", city="天津")
    lead = record(rules, phone, key="c", name="王女士", city="天津市")
    people = (person("oid_A", mother, age_days=2), person("oid_B", daughter, age_days=1))
    contested = {lead.identifiers[0].key: 2}
    result = decide(Snapshot(lead, people, snapshot(lead, *people).holder_counts,
                             shared=contested), rules)
    assert result.action is Action.REVIEW and result.target_one_id is None
    assert {item.candidate_one_id for item in result.review} == {"oid_A", "oid_B"}
    assert all("none clearly better" in item.reason for item in result.review)
    # with one of them only, the lead joins her
    alone = decide(Snapshot(lead, people[:1], snapshot(lead, people[0]).holder_counts,
                            shared=contested), rules)
    assert alone.action is Action.LINKED and alone.target_one_id == "oid_A"

