"""Training: m by EM, u from random pairs, the prior and term frequencies, checked against
synthetic data whose error rates are known."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from idgraph.cli import main
from idgraph.domain.comparators import parse_date
from idgraph.domain.evaluation import evaluate
from idgraph.domain.records import Limits, prepare_record
from idgraph.domain.rules import Rules, load_rules
from idgraph.domain.scoring import ComparisonResult, Evidence, score
from idgraph.domain.working_set import WorkingSet
from idgraph.training import TrainingReport, train, training_record
from tests.synthetic import Labeled, dataset
from tests.unit.factories import NOW, SECRET

TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "person_rules.toml"


@pytest.fixture(scope="module")
def template() -> Rules:
    return load_rules(TEMPLATE)


@pytest.fixture(scope="module")
def data() -> list[Labeled]:
    return dataset(1500, seed=7)


@pytest.fixture(scope="module")
def report(template: Rules, data: list[Labeled]) -> TrainingReport:
    # No identifiers, and the only deterministic rules the template suggests (exact surname
    # and given name; suburb and street number) link many other people's pairs among 35
    # given names and 42 surnames: the prior by EM.
    records = [training_record(prepare_record(d.record, template, Limits(), SECRET, NOW),
                               template) for d in data]
    return train(records, template, seed=3, prior_method="em")


def test_m_of_exact_agreement_matches_the_error_rate(report: TrainingReport, data: list[Labeled]
                                                     ) -> None:
    # The true share of matching pairs agreeing exactly on birth date, among pairs where the
    # comparison has a basis (both sides hold a valid date; a typo can make one invalid).
    by_entity: dict[str, list[dict[str, str]]] = {}
    for d in data:
        by_entity.setdefault(d.entity, []).append(d.record.attributes)
    agree = total = 0
    for records in by_entity.values():
        for a, b in itertools.combinations(records, 2):
            if parse_date(a.get("date_of_birth", "")) and parse_date(b.get("date_of_birth", "")):
                total += 1
                agree += a["date_of_birth"] == b["date_of_birth"]
    dob = report.rules.attributes["date_of_birth"].levels["exact"]
    assert dob.m is not None
    assert dob.m == pytest.approx(agree / total, abs=0.05)


def test_u_of_exact_agreement_is_the_chance_of_a_coincidence(report: TrainingReport,
                                                            data: list[Labeled]) -> None:
    surnames = Counter(d.record.attributes["surname"] for d in data
                       if "surname" in d.record.attributes)
    n = sum(surnames.values())
    chance = sum(c * c for c in surnames.values()) / (n * n)
    u = report.rules.attributes["surname"].levels["exact"].u
    assert u is not None and u == pytest.approx(chance, rel=0.3)


def test_prior_is_the_share_of_matching_pairs(report: TrainingReport, data: list[Labeled]) -> None:
    sizes = Counter(d.entity for d in data)
    true_pairs = sum(s * (s - 1) / 2 for s in sizes.values())
    all_pairs = len(data) * (len(data) - 1) / 2
    assert report.rules.prior == pytest.approx(true_pairs / all_pairs, rel=0.5)


def test_weights_point_the_right_way(report: TrainingReport) -> None:
    for name in ("given_name", "surname", "date_of_birth", "postcode"):
        levels = report.rules.attributes[name].levels
        assert levels["exact"].bits > 3, name
        assert levels["disagree"].bits < 0, name


def test_term_frequencies_make_common_values_weaker(report: TrainingReport, data: list[Labeled]
                                                    ) -> None:
    rule = report.rules.attributes["given_name"]
    tf = rule.term_frequencies
    assert tf is not None and tf.values
    names = Counter(d.record.attributes["given_name"] for d in data
                    if "given_name" in d.record.attributes)
    common = names.most_common(1)[0][0]
    assert tf.values[common] == pytest.approx(names[common] / sum(names.values()), rel=0.01)


def test_agreeing_on_a_common_value_scores_less_and_says_why(report: TrainingReport,
                                                              data: list[Labeled]) -> None:
    names = Counter(d.record.attributes["given_name"] for d in data
                    if "given_name" in d.record.attributes).most_common()
    common, rare = names[0][0], names[-1][0]

    def given_name(value: str, other: str = "") -> ComparisonResult:
        left = Evidence.of((), [{"given_name": value}])
        right = Evidence.of((), [{"given_name": v} for v in (other, value) if v])
        (result,) = score(left, right, report.rules).comparisons
        return result

    for _ in range(2):  # the second time from the cache of value pairs
        weak, strong = given_name(common), given_name(rare)
        assert weak.level == strong.level == "exact"
        assert weak.weight < strong.weight
        assert weak.note.startswith("term frequency") and strong.note != weak.note
    # the best level of any pair counts, with its own note
    assert given_name(rare, other=common) == strong


def test_trained_rules_resolve_the_data(report: TrainingReport, data: list[Labeled]) -> None:
    rules = report.rules
    counter = itertools.count()
    working = WorkingSet(rules, {}, {}, [], lambda: f"oid_{next(counter):06d}", lambda: "e",
                         NOW)
    truth = {}
    for d in data:
        record = prepare_record(d.record, rules, Limits(), SECRET, NOW)
        working.ingest(record)
        truth[record.key] = d.entity
    plan = working.finished_plan()
    result = evaluate({k: owner for k, (_, owner) in plan.records.items()}, truth)
    assert result.pairwise.precision > 0.98
    assert result.pairwise.recall > 0.95


def test_train_command_writes_a_loadable_rules_file(tmp_path: Path, data: list[Labeled],
                                                   capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    source = tmp_path / "records.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for d in data[:600]:
            handle.write(json.dumps({"source": d.record.source,
                                     "sourceRecordId": d.record.source_record_id,
                                     "attributes": d.record.attributes}) + "\n")
        handle.write('{"source": "", "sourceRecordId": "bad"}\n')  # invalid: skipped
    out = tmp_path / "trained.toml"
    assert main(["train", "--input", str(source), "--rules", str(TEMPLATE), "--out",
                 str(out), "--term-frequencies", "postcode"]) == 0
    trained = load_rules(out)
    assert "rejected 1" in capsys.readouterr().out
    assert trained.prior != load_rules(TEMPLATE).prior
    assert trained.attributes["postcode"].term_frequencies is not None
    exact = trained.attributes["surname"].levels["exact"]
    assert exact.m is not None and exact.u is not None and exact.weight is None
    assert math.isfinite(exact.bits)


def test_identifier_levels_one_value_or_several() -> None:
    from idgraph.training import TrainingRecord, _Columns, comparison_specs, identifier_level

    rules = load_rules()
    one = TrainingRecord({}, {("phone", ""): frozenset({"13912345678"})})
    two = TrainingRecord({}, {("phone", ""): frozenset({"13912345678", "13698765432"})})
    other = TrainingRecord({}, {("phone", ""): frozenset({"13700000000"})})
    none = TrainingRecord({}, {})
    assert identifier_level("phone", one, two) == 0
    assert identifier_level("phone", one, other) == 1
    assert identifier_level("phone", one, none) == -1
    specs = [s for s in comparison_specs(rules) if s.name == "phone"]
    pairs = [(0, 1), (0, 2), (0, 3), (2, 3)]
    for records in ([one, two, other, none], [one, one, other, none]):  # several / one each
        levels = _Columns(specs, rules, records).levels(pairs)[:, 0].tolist()
        assert levels == [identifier_level("phone", records[a], records[b])
                          for a, b in pairs]


def test_a_family_phone_trains_the_different_person_level() -> None:
    """Pairs sharing a phone while their names disagree (a relative's booking) estimate the
    phone's different_person level; the plain agreement's u stays far below it."""
    import random

    from idgraph.domain.records import RawIdentifier, RawRecord

    rng = random.Random(3)
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
    raws = []
    for p in range(300):
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        phone = f"139{p:08d}"
        for r in range(rng.randint(2, 4)):
            raws.append(RawRecord("crm", f"{p}-{r}", NOW, (RawIdentifier("phone", phone),),
                                  {"name": name, "city": "上海"}))
        if p < 40:  # a relative books a test drive on this phone, under their own name
            raws.append(RawRecord("test_drive", f"{p}-r", NOW, (RawIdentifier("phone", phone),),
                                  {"name": "赵" + rng.choice(given) + "林"}))
    template = load_rules()
    records = [training_record(prepare_record(r, template, Limits(), SECRET, NOW), template)
               for r in raws]
    trained = train(records, template, seed=1, force=True).rules.identifier_types["phone"]
    assert trained.different_person is not None and trained.u is not None
    assert trained.different_person.u is not None and trained.different_person.m is not None
    assert trained.different_person.u > 100 * trained.u
    assert trained.different_person.m < trained.m  # P(shared and names differ | same) small
