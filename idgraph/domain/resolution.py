"""The resolution decision: a pure function of the record, the candidates and the rules.

The online path (one record in a transaction) and later bulk paths call ``decide`` with a
snapshot of the graph around the record; the store carries out the returned plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from idgraph.domain.records import IdKey, PreparedRecord
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence, EvidenceFilter, Score, genders_conflict, score

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class Action(StrEnum):
    """What resolution does with a record."""

    NEW = "NEW"
    LINKED = "LINKED"
    MERGED = "MERGED"
    UNCHANGED = "UNCHANGED"
    REVIEW = "REVIEW"
    SUPPRESSED = "SUPPRESSED"  # a value of the record is on the suppression list: not stored


@dataclass(frozen=True)
class CandidatePerson:
    """A person near the record, as the store loaded it."""

    one_id: str
    created_at: datetime
    evidence: Evidence
    apart_from: frozenset[str] = frozenset()  # OneIDs a steward decided to keep apart
    # Whether one of its records carries no name, where known without reading its records
    # (None: unknown). Kept only while the person's records are exactly those it was known
    # for: a change of its records that does not say how it changes resets it.
    nameless: bool | None = None

    @property
    def age_key(self) -> tuple[datetime, str]:
        """Sort key: older first; the OneID breaks ties so the order is total."""
        return (self.created_at, self.one_id)


@dataclass(frozen=True)
class Snapshot:
    """Everything the decision may look at."""

    record: PreparedRecord
    candidates: tuple[CandidatePerson, ...]
    holder_counts: Mapping[str, int]  # IdKey.key -> distinct people holding it (capped)
    current_one_id: str | None = None  # the person a re-sent record already belongs to
    # IdKey.key -> different people its records name, for values shared that way
    shared: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredCandidate:
    """A candidate with its score against the record."""

    one_id: str
    score: Score


@dataclass(frozen=True)
class ReviewItem:
    """A pair a steward should look at, and why."""

    candidate_one_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Resolution:
    """The decision and everything needed to carry it out and explain it."""

    action: Action
    target_one_id: str | None  # None: mint a new OneID
    absorbed_one_ids: tuple[str, ...]
    score: float
    scored: tuple[ScoredCandidate, ...]
    review: tuple[ReviewItem, ...]
    evidence_filter: EvidenceFilter
    rule: str  # short name of what decided it, recorded on merge events
    # People the record matched who do not match the people it joined, could not join
    # (one-per-person values) or matched but for such a value in conflict: their records
    # are worth resolving again together (whichever arrived first should not decide).
    unsettled: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        """True when a review task must be opened."""
        return bool(self.review)


def evidence_filter(record_keys: tuple[IdKey, ...], holder_counts: Mapping[str, int],
                    rules: Rules, shared: Mapping[str, int] | None = None) -> EvidenceFilter:
    """Which of the record's values do not count: blocklisted, non-evidence types, hubs,
    and values whose records name different people (`shared`: key -> how many)."""
    shared = shared or {}
    contested: dict[str, int] = {}
    ignored: dict[str, str] = {}
    for key in record_keys:
        if key.is_blocking:
            holders = holder_counts.get(key.key, 0)
            if holders > rules.blocking_hub_threshold:
                ignored[key.key] = f"blocking key shared by {holders}+ people"
            continue
        rule = rules.identifier_types[key.type]
        holders = holder_counts.get(key.key, 0)
        if not rule.evidence:
            ignored[key.key] = f"{key.type} is never merge evidence"
        elif key.value in rule.blocklist:
            ignored[key.key] = "placeholder value on the blocklist"
        elif rule.hub_threshold is not None and holders > rule.hub_threshold:
            ignored[key.key] = f"shared by {holders}+ people (hub threshold {rule.hub_threshold})"
        elif rule.shared_identities is not None and shared.get(key.key, 0) >= \
                rule.shared_identities:
            ignored[key.key] = (f"shared: its records name {shared[key.key]} different "
                                "people")
        elif shared.get(key.key, 0) >= 2:
            contested[key.key] = shared[key.key]
    return EvidenceFilter(ignored, contested)


def decide(snapshot: Snapshot, rules: Rules) -> Resolution:
    """Decide NEW, LINKED, MERGED or REVIEW for a record; guards against over-merging."""
    record = snapshot.record
    filt = evidence_filter(record.all_keys, snapshot.holder_counts, rules, snapshot.shared)
    subject = Evidence.of(record.identifiers, [record.attributes])
    by_id = {c.one_id: c for c in snapshot.candidates}
    # Best score first; ties go to the older person, so candidate order never matters.
    scored = sorted(
        (ScoredCandidate(c.one_id, score(subject, c.evidence, rules, filt))
         for c in snapshot.candidates),
        key=lambda s: (-s.score.total, by_id[s.one_id].age_key),
    )
    matched, uncertain = _classify(scored, rules, snapshot.current_one_id)
    group, blocked, inconsistent, joined = _group_within_limits(
        record, matched, by_id, snapshot.current_one_id, rules, subject, filt)
    if _ambiguous(scored, group, inconsistent, snapshot.current_one_id, rules):
        # 王女士 on a phone that 王桂兰 and 汪艳红 share fits both about as well: joining
        # either would be a guess, so it joins neither and a steward decides.
        return Resolution(
            Action.REVIEW, None, (), max(s.score.total for s in matched), tuple(scored),
            tuple(ReviewItem(s.one_id, s.score.total, "matches people who are not one "
                             "person, none clearly better") for s in matched),
            filt, "review", tuple(s.one_id for s in matched))
    rivals = _name_rivals(scored, group, by_id, rules, snapshot.current_one_id)
    if rivals:
        # 姜军强's test drive on a phone whose other records are a nameless app account
        # with another birth date than the 姜军强 it names: the phone may be a relative's.
        return _rival_review(next(s for s in scored if s.one_id == group[0]), rivals,
                             tuple(scored), filt)
    # Re-evaluate the other people the record touched against everything it joins: its
    # evidence may now link them (or leave them apart).
    reevaluated = _reevaluate(scored, group, blocked + inconsistent, by_id, rules, joined,
                              filt, record) if group else []
    uncertain = [s for s in uncertain
                 if s.one_id not in group and not kept_apart(s.one_id, group, by_id)]
    review = tuple(
        [ReviewItem(s.one_id, s.score.total, "one-per-person identifiers would conflict")
         for s in blocked]
        + [ReviewItem(s.one_id, s.score.total,
                      "matches the record, but not the people it joins")
           for s in inconsistent]
        + [ReviewItem(s.one_id, s.score.total, _uncertain_reason(s.score, rules))
           for s in uncertain]
    )
    best = next((s.score.total for s in scored if s.one_id in group), 0.0)
    unsettled = tuple(s.one_id for s in blocked + inconsistent) + tuple(
        s.one_id for s in uncertain if s.score.conflict and s.score.support >= rules.link_bits)
    if not group:
        action = Action.REVIEW if review else Action.NEW
        return Resolution(action, None, (), best if not review else review[0].score,
                          tuple(scored), review, filt, "no-match" if not review else "review",
                          unsettled)
    ordered = sorted(group, key=lambda oid: by_id[oid].age_key if oid in by_id else
                     (FAR_FUTURE, oid))
    survivor, absorbed = ordered[0], tuple(ordered[1:])
    action = Action.MERGED if absorbed else Action.LINKED
    rule = "re-evaluation" if any(oid in absorbed or oid == survivor for oid in reevaluated) \
        else "match"
    return Resolution(action, survivor, absorbed, best, tuple(scored), review, filt, rule,
                      unsettled)


def _ambiguous(scored: list[ScoredCandidate], group: list[str],
               inconsistent: list[ScoredCandidate], current: str | None, rules: Rules) -> bool:
    """True when the best person the record would join beats a person it also matches, who
    does not match that one, by less than the link threshold's weight: the record is that
    person's with a probability below the threshold."""
    if current is not None or not group or not inconsistent:
        return False
    best = next(s.score.total for s in scored if s.one_id == group[0])
    rival = max(s.score.total for s in inconsistent)
    return best - rival < rules.link_bits


def _name_rivals(scored: list[ScoredCandidate], group: list[str],
                 by_id: Mapping[str, CandidatePerson], rules: Rules, current: str | None
                 ) -> list[ScoredCandidate]:
    """Candidates the record's full name designates exactly who cannot be the nameless
    person its identifiers join (a birth date, a gender or a resident ID differs)."""
    if current is not None or len(group) != 1 or group[0] not in by_id:
        return []
    mine = next(s for s in scored if s.one_id == group[0])
    if any(c.name == "name" for c in mine.score.comparisons):
        return []  # the person is named: the name was weighed against it already
    target = by_id[group[0]].evidence
    return [s for s in scored if s.one_id != group[0] and s.one_id in by_id
            and _same_name(s.score) and different_people(by_id[s.one_id].evidence,
                                                             target, rules)]


def conflicting_namesake(person: CandidatePerson, other: CandidatePerson, rules: Rules
                         ) -> bool:
    """True when two people are named exactly alike and cannot be one person (a steward's
    decision aside): their records are worth resolving again together, since a nameless
    record may have joined one of them through a relative's phone."""
    if kept_apart(other.one_id, [person.one_id], {person.one_id: person, other.one_id: other}):
        return False
    return _same_name(score(person.evidence, other.evidence, rules)) and \
        different_people(person.evidence, other.evidence, rules)


def _rival_review(mine: ScoredCandidate, rivals: Sequence[ScoredCandidate],
                  scored: tuple[ScoredCandidate, ...], filt: EvidenceFilter) -> Resolution:
    return Resolution(
        Action.REVIEW, None, (), mine.score.total, scored,
        (ReviewItem(mine.one_id, mine.score.total, "shares an identifier, but one side's "
                    "full name is another person's"),
         *(ReviewItem(s.one_id, s.score.total, "named exactly alike, but not the person "
                      "the identifiers match") for s in rivals)),
        filt, "review", (mine.one_id, *(s.one_id for s in rivals)))


# Name levels that say two full names are the same name (a homophone typo included).
_SAME_NAME = frozenset({"exact", "pinyin"})


def _same_name(s: Score) -> bool:
    return any(c.name == "name" and c.level in _SAME_NAME for c in s.comparisons)


def different_people(left: Evidence, right: Evidence, rules: Rules) -> bool:
    """True when two sides cannot be one person: one-per-person identifiers conflict, or
    their genders, names or birth dates disagree."""
    s = score(left, right, rules)
    return s.conflict or genders_conflict(left, right) or any(
        c.kind == "attribute" and c.level == "disagree"
        and c.name in rules.identity_attributes | {"birth_date"} for c in s.comparisons)


class PairVerdict(StrEnum):
    """How one candidate's score places it."""

    MATCH = "MATCH"
    UNCERTAIN = "UNCERTAIN"
    NON_MATCH = "NON_MATCH"


def classify_pair(s: Score, rules: Rules) -> PairVerdict:
    """Place one score: a match links, an uncertain pair goes to review, else nothing."""
    has_identifier = s.identifier_support > 0 or not rules.require_identifier_evidence
    levels: dict[str, str] = {}
    if not has_identifier:  # the attribute levels matter only then (a hot path)
        levels = {c.name: c.level for c in s.comparisons if c.kind == "attribute"}
        has_identifier = rules.attributes_link(levels)
    if s.total >= rules.link_bits and has_identifier and not s.conflict:
        return PairVerdict.MATCH
    # Attributes alone that may not link are worth a steward's look only as the rules list
    # (a name and a birth date; a name and a city are a namesake's as often).
    if (s.support if s.conflict else s.total) >= rules.review_bits and (
            has_identifier or rules.attributes_review(levels)):
        return PairVerdict.UNCERTAIN
    return PairVerdict.NON_MATCH


def explain_verdict(s: Score, rules: Rules) -> str:
    """One sentence on why a score leads to its verdict."""
    verdict = classify_pair(s, rules)
    link, review = rules.thresholds.link, rules.thresholds.review
    if verdict is PairVerdict.MATCH:
        return (f"match probability {s.probability:.4g} reaches the link threshold {link:g} "
                "with identifier evidence")
    if verdict is PairVerdict.UNCERTAIN:
        return _uncertain_reason(s, rules)
    if s.conflict:
        return "one-per-person identifiers conflict and the rest of the evidence is weak"
    return f"match probability {s.probability:.4g} is below the review threshold {review:g}"


def _classify(scored: list[ScoredCandidate], rules: Rules, current: str | None
              ) -> tuple[list[ScoredCandidate], list[ScoredCandidate]]:
    matched, uncertain = [], []
    for candidate in scored:
        if candidate.one_id == current:
            continue
        verdict = classify_pair(candidate.score, rules)
        if verdict is PairVerdict.MATCH:
            matched.append(candidate)
        elif verdict is PairVerdict.UNCERTAIN:
            uncertain.append(candidate)
    return matched, uncertain


def _uncertain_reason(s: Score, rules: Rules) -> str:
    if s.conflict:
        return "one-per-person identifiers conflict"
    if s.total >= rules.link_bits:
        return "attributes agree but no identifier does"
    return (f"match probability {s.probability:.4g} between review "
            f"{rules.thresholds.review:g} and link {rules.thresholds.link:g}")


def _group_within_limits(
    record: PreparedRecord, matched: list[ScoredCandidate], by_id: Mapping[str, CandidatePerson],
    current: str | None, rules: Rules, subject: Evidence, filt: EvidenceFilter,
) -> tuple[list[str], list[ScoredCandidate], list[ScoredCandidate], Evidence]:
    """Greedily join the best matches while no per-person identifier limit breaks and each
    further person still matches everything joined so far (the record and the people
    before it): a record that matches two people on different grounds does not merge them
    unless they match each other through it."""
    held: dict[tuple[str, str], set[str]] = defaultdict(set)
    _hold(held, record.identifiers)
    group: list[str] = []
    joined = subject
    if current is not None:
        group.append(current)
        if current in by_id:
            _hold(held, by_id[current].evidence.identifiers)
            joined = joined.union(by_id[current].evidence)
    blocked: list[ScoredCandidate] = []
    inconsistent: list[ScoredCandidate] = []
    for candidate in matched:
        if kept_apart(candidate.one_id, group, by_id):
            continue  # a steward decided: no merge, and no new review task either
        evidence = by_id[candidate.one_id].evidence
        trial: dict[tuple[str, str], set[str]] = defaultdict(
            set, {k: set(v) for k, v in held.items()})
        _hold(trial, evidence.identifiers)
        if not _within_limits(trial, rules):
            blocked.append(candidate)
        elif group and (classify_pair(score(evidence, joined, rules, filt),
                                      rules) is not PairVerdict.MATCH
                        or _names_another_person(evidence, group, by_id, rules)):
            inconsistent.append(candidate)
        else:
            held = trial
            group.append(candidate.one_id)
            joined = joined.union(evidence)
    return group, blocked, inconsistent, joined


def _names_another_person(evidence: Evidence, group: list[str],
                          by_id: Mapping[str, CandidatePerson], rules: Rules) -> bool:
    """True when a person names someone other than a person already in the group (张先生
    on a family phone matches both 张伟 and 张强; they are not one person for it)."""
    attributes = rules.identity_attributes
    for one_id in group:
        other = by_id.get(one_id)
        if other is None:
            continue
        if any(c.kind == "attribute" and c.level == "disagree" and c.name in attributes
               for c in score(evidence, other.evidence, rules).comparisons):
            return True
        if "gender" in attributes and genders_conflict(evidence, other.evidence):
            return True
    return False


def _reevaluate(scored: list[ScoredCandidate], group: list[str],
                excluded: list[ScoredCandidate], by_id: Mapping[str, CandidatePerson],
                rules: Rules, joined: Evidence, filt: EvidenceFilter,
                record: PreparedRecord) -> list[str]:
    """Join (into `group`, in place) every other touched person that matches the record
    and the people it joins taken together, until none does; answer who joined so."""
    held: dict[tuple[str, str], set[str]] = defaultdict(set)
    _hold(held, record.identifiers)
    for one_id in group:
        if one_id in by_id:
            _hold(held, by_id[one_id].evidence.identifiers)
    skip = {s.one_id for s in excluded} | set(group)
    rest = [s for s in scored if s.one_id not in skip and s.one_id in by_id]
    added: list[str] = []
    changed = True
    while changed and rest:
        changed = False
        for candidate in list(rest):
            if kept_apart(candidate.one_id, group, by_id):
                continue
            evidence = by_id[candidate.one_id].evidence
            if classify_pair(score(evidence, joined, rules, filt), rules) is not \
                    PairVerdict.MATCH:
                continue
            trial: dict[tuple[str, str], set[str]] = defaultdict(
                set, {k: set(v) for k, v in held.items()})
            _hold(trial, evidence.identifiers)
            if not _within_limits(trial, rules):
                continue
            held = trial
            group.append(candidate.one_id)
            added.append(candidate.one_id)
            joined = joined.union(evidence)
            rest.remove(candidate)
            changed = True
    return added


def kept_apart(one_id: str, group: list[str], by_id: Mapping[str, CandidatePerson]) -> bool:
    """True when a steward decided to keep `one_id` apart from someone in `group`."""
    person = by_id.get(one_id)
    if person is not None and not person.apart_from.isdisjoint(group):
        return True
    return any(one_id in by_id[g].apart_from for g in group if g in by_id)


def _hold(held: dict[tuple[str, str], set[str]], keys: frozenset[IdKey] | tuple[IdKey, ...]
          ) -> None:
    for key in keys:
        if not key.is_blocking:
            held[(key.type, key.scope)].add(key.value)


def _within_limits(held: Mapping[tuple[str, str], set[str]], rules: Rules) -> bool:
    for (type_name, _scope), values in held.items():
        limit = rules.identifier_types[type_name].max_per_person
        if limit is not None and len(values) > limit:
            return False
    return True
