"""Rule previews: what resolving every stored record again under other rules would change.

Pure: the engine reads the live graph (every record with its person, the people's ages,
the steward's decisions, the records a suppression covers, the records with a review task)
into a `LiveGraph`; `preview` replays resolution over its records in observed order in one
in-memory `WorkingSet`, as an initial load does, turns the replay into a target partition
that respects the steward's decisions, chooses which OneID each target person carries, and
diffs target against live. `apply_plan` turns the same preview into one `WritePlan` that
the store carries out with the machinery of every other change (splits, merges, changes,
review tasks), so the graph afterwards holds exactly the target partition.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from idgraph.domain.records import PreparedRecord
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import probability
from idgraph.domain.working_set import (
    Change,
    ChangeType,
    IngestOutcome,
    MergeStep,
    ReviewTaskPlan,
    SplitStep,
    WorkingSet,
    WritePlan,
)

RULE = "rules"  # the rule name merges and changes of an apply are recorded with
KEEP = "keep:"  # label prefix of a person left as it is (all its records suppressed)


@dataclass(frozen=True)
class LiveGraph:
    """What a preview reads from the graph."""

    records: Sequence[PreparedRecord]  # every stored record, prepared under the new rules
    owner: Mapping[str, str]  # record key -> the OneID of its active person
    created: Mapping[str, datetime]  # OneID -> when the person was created (its age)
    kept_apart: frozenset[frozenset[str]] = frozenset()  # pairs of OneIDs (steward)
    must_links: Sequence[tuple[str, str]] = ()  # pairs of record keys (a steward's merge)
    frozen: frozenset[str] = frozenset()  # records carrying a suppressed value: not replayed
    with_task: frozenset[str] = frozenset()  # records a review task was opened for


@dataclass(frozen=True)
class MergeMade:
    """Records of several live people that become one person."""

    one_ids: tuple[str, ...]  # the live people, sorted
    record_keys: tuple[str, ...]  # every record of the person they make, sorted


@dataclass(frozen=True)
class MergeUndone:
    """A live person whose records fall apart into several people."""

    one_id: str
    parts: tuple[tuple[str, ...], ...]  # its record keys by the person each part joins


@dataclass(frozen=True)
class ClusterDiff:
    """How one partition of records differs from another, in terms of record keys and the
    first partition's OneIDs only (so a prediction compares with what happened)."""

    merges_made: tuple[MergeMade, ...] = ()
    merges_undone: tuple[MergeUndone, ...] = ()
    people_affected: tuple[str, ...] = ()  # live OneIDs whose records change company
    pairs_joined: int = 0  # record pairs together afterwards that were apart
    pairs_separated: int = 0  # record pairs apart afterwards that were together

    @property
    def unchanged(self) -> bool:
        """True when both partitions are the same."""
        return not (self.merges_made or self.merges_undone)


@dataclass(frozen=True)
class TaskPreview:
    """A review task the new rules open (for a record no task was opened for)."""

    record_key: str
    one_id: str  # the OneID its record ends up on ("" for a person the apply creates)
    candidates: tuple[str, ...]  # likewise, the people it may be
    score: float  # the best candidate's match weight in bits
    reason: str
    evidence: str = field(repr=False, default="")
    label: str = field(repr=False, default="")  # target labels of its record and candidates
    candidate_labels: tuple[str, ...] = field(repr=False, default=())


@dataclass(frozen=True)
class Example:
    """One change, for a human: who, which records, and the replay's decision behind it."""

    kind: str  # "merge" or "split"
    one_ids: tuple[str, ...]
    record_keys: tuple[str, ...]
    decision: str  # the replay's decision on the deciding record (LINKED, NEW, ...)
    record_key: str  # that record
    probability: float


@dataclass(frozen=True)
class TargetPerson:
    """A person of the target partition and how it comes about from the live ones."""

    label: str
    record_keys: tuple[str, ...]
    survivor: str  # the live OneID it keeps ("" : a new OneID)
    absorbed: tuple[str, ...]  # live OneIDs merged into the survivor
    moved_in: tuple[tuple[str, tuple[str, ...]], ...]  # (live OneID, its records moving in)


@dataclass(frozen=True)
class RulePreview:
    """What applying other rules would change."""

    records: int
    people_before: int
    people_after: int
    diff: ClusterDiff
    new_people: int  # target people no live OneID goes on with
    records_moved: int  # records whose OneID changes
    review_tasks: tuple[TaskPreview, ...]
    examples: tuple[Example, ...]
    changed: tuple[TargetPerson, ...] = field(repr=False, default=())
    one_ids: Mapping[str, str] = field(repr=False, default_factory=dict)  # label -> OneID
    identities: Mapping[str, tuple[str, ...]] = field(repr=False, default_factory=dict)

    @property
    def unchanged(self) -> bool:
        """True when applying the rules would write nothing."""
        return self.diff.unchanged and not self.review_tasks


@dataclass(frozen=True)
class _Replay:
    """The records resolved again: each record's cluster and decision, the review tasks."""

    cluster: dict[str, str]
    outcomes: dict[str, IngestOutcome]
    tasks: list[ReviewTaskPlan]
    identities: dict[str, tuple[str, ...]]


# ------------------------------------------------------------------------- the replay


def replay(records: Iterable[PreparedRecord], rules: Rules, now: datetime) -> _Replay:
    """Resolve records into an empty graph in the order they were observed, in one view."""
    ordered = sorted(records, key=lambda r: (r.observed_at, r.key))
    counter = itertools.count()
    view = WorkingSet(rules, {}, {}, [], lambda: f"c{next(counter):010d}",
                      lambda: f"e{next(counter)}", now)
    outcomes = {r.key: view.ingest(r) for r in ordered}
    plan = view.finished_plan()
    cluster = {key: owner for key, (_, owner) in plan.records.items()}
    return _Replay(cluster, outcomes, plan.review_tasks, dict(plan.identities))


def _groups(labels: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for key in sorted(labels):
        groups[labels[key]].append(key)
    return groups


def _with_must_links(cluster: dict[str, str], must_links: Sequence[tuple[str, str]]
                     ) -> dict[str, str]:
    """Clusters joined where a steward's merge tied two of their records."""
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.get(label, label) != label:
            label = parent[label]
        return label

    for a, b in must_links:
        if a in cluster and b in cluster:
            ra, rb = root(cluster[a]), root(cluster[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {key: root(label) for key, label in cluster.items()}


def _cut_kept_apart(cluster: dict[str, str], live: LiveGraph) -> dict[str, str]:
    """Clusters holding records of people a steward kept apart, cut along those people:
    each live person's records (oldest person first) join the first part holding no one
    kept apart from it."""
    if not live.kept_apart:
        return cluster
    result = dict(cluster)
    for label, keys in _groups(cluster).items():
        owners = sorted({live.owner[k] for k in keys}, key=lambda o: _age(live, o))
        parts: list[list[str]] = []
        for one_id in owners:
            part = next((p for p in parts if all(frozenset((one_id, other))
                                                 not in live.kept_apart for other in p)), None)
            if part is None:
                parts.append([one_id])
            else:
                part.append(one_id)
        if len(parts) > 1:
            part_of = {o: index for index, part in enumerate(parts) for o in part}
            for key in keys:
                index = part_of[live.owner[key]]
                result[key] = label if index == 0 else f"{label}/{index}"
    return result


def _age(live: LiveGraph, one_id: str) -> tuple[datetime, str]:
    return live.created[one_id], one_id


# ------------------------------------------------------------------------- the target


def _homes(target: Mapping[str, str], live: LiveGraph,
           observed: Mapping[str, tuple[datetime, str]]) -> dict[str, str]:
    """Each live person's home: the target person holding most of its records (on a tie,
    the one holding its earliest record). Its OneID goes on with that person."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[tuple[str, str], tuple[datetime, str]] = {}
    for key, label in target.items():
        one_id = live.owner[key]
        counts[one_id][label] += 1
        seen = first.get((one_id, label))
        if seen is None or observed[key] < seen:
            first[(one_id, label)] = observed[key]
    return {one_id: min(found, key=lambda label: (-found[label], first[(one_id, label)]))
            for one_id, found in counts.items()}


def target_partition(live: LiveGraph, cluster: Mapping[str, str]
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """The target person of every record (label by record key) and each live person's home
    label: the replay's clusters, joined by must-links, cut where people are kept apart;
    records under suppression stay with their person's home."""
    observed = {r.key: (r.observed_at, r.key) for r in live.records}
    target = _cut_kept_apart(_with_must_links(dict(cluster), live.must_links), live)
    homes = _homes(target, live, observed)
    for key in sorted(live.frozen):
        one_id = live.owner[key]
        target[key] = homes.setdefault(one_id, KEEP + one_id)
    return target, homes


def _target_people(target: Mapping[str, str], homes: Mapping[str, str], live: LiveGraph
                   ) -> list[TargetPerson]:
    """The target people whose records differ from one live person's, and how each comes
    about: the oldest live person at home in it survives, the others at home merge into it,
    records of people at home elsewhere move in."""
    at_home: dict[str, list[str]] = defaultdict(list)
    for one_id, label in homes.items():
        at_home[label].append(one_id)
    held: Counter[str] = Counter(live.owner.values())
    people = []
    for label, keys in sorted(_groups(target).items()):
        owners = sorted(at_home.get(label, ()), key=lambda o: _age(live, o))
        incoming: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            if homes[live.owner[key]] != label:
                incoming[live.owner[key]].append(key)
        if len(owners) == 1 and not incoming and held[owners[0]] == len(keys):
            continue  # a live person exactly
        people.append(TargetPerson(label, tuple(keys), owners[0] if owners else "",
                                   tuple(owners[1:]),
                                   tuple((o, tuple(ks)) for o, ks in sorted(incoming.items()))))
    return people


# ------------------------------------------------------------------------- the diff


def cluster_diff(before: Mapping[str, str], after: Mapping[str, str]) -> ClusterDiff:
    """How `after` (record key -> person label) differs from `before` (-> OneID), over the
    records both hold."""
    keys = sorted(before.keys() & after.keys())
    by_after: dict[str, list[str]] = defaultdict(list)
    by_before: dict[str, list[str]] = defaultdict(list)
    cells: Counter[tuple[str, str]] = Counter()
    for key in keys:
        by_after[after[key]].append(key)
        by_before[before[key]].append(key)
        cells[(before[key], after[key])] += 1
    made = sorted((MergeMade(tuple(sorted({before[k] for k in group})), tuple(group))
                   for group in by_after.values() if len({before[k] for k in group}) > 1),
                  key=lambda m: (m.one_ids, m.record_keys))
    undone = []
    for one_id, group in sorted(by_before.items()):
        parts: dict[str, list[str]] = defaultdict(list)
        for key in group:
            parts[after[key]].append(key)
        if len(parts) > 1:
            undone.append(MergeUndone(one_id, tuple(sorted(tuple(p) for p in parts.values()))))
    affected = {o for m in made for o in m.one_ids} | {u.one_id for u in undone}
    together = sum(_pairs(n) for n in cells.values())
    return ClusterDiff(tuple(made), tuple(undone), tuple(sorted(affected)),
                       sum(_pairs(len(g)) for g in by_after.values()) - together,
                       sum(_pairs(len(g)) for g in by_before.values()) - together)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _one_id_of(people: Sequence[TargetPerson], homes: Mapping[str, str],
               target: Mapping[str, str]) -> dict[str, str]:
    """The OneID each target label carries ("" for a new one)."""
    survivors = {p.label: p.survivor for p in people}
    for one_id, label in homes.items():
        survivors.setdefault(label, one_id)  # an unchanged person keeps its own
    return {label: survivors.get(label, "") for label in set(target.values())}


# ------------------------------------------------------------------------- review tasks


def _tasks(found: _Replay, target: Mapping[str, str], one_id_of: Mapping[str, str],
           live: LiveGraph) -> list[TaskPreview]:
    """The replay's review tasks for records no task was opened for, on the people their
    records end up with; a task whose candidates all end up with its record is moot."""
    observed = live_observed(live)
    first_of: dict[str, str] = {}
    for key in sorted(found.cluster, key=lambda k: (observed[k], k)):
        first_of.setdefault(found.cluster[key], key)
    tasks = []
    for task in found.tasks:
        if task.record_key in live.with_task or task.record_key not in target:
            continue
        label = target[task.record_key]
        others = [target[first_of[c]] for c in task.candidates if c in first_of]
        candidates = tuple(dict.fromkeys(o for o in others if o != label))
        if candidates:
            tasks.append(TaskPreview(task.record_key, one_id_of[label],
                                     tuple(one_id_of[c] for c in candidates), task.score,
                                     task.reason, task.evidence, label, candidates))
    return tasks


def live_observed(live: LiveGraph) -> dict[str, datetime]:
    """Each live record's observation time."""
    return {r.key: r.observed_at for r in live.records}


# ------------------------------------------------------------------------- examples


def _examples(diff: ClusterDiff, found: _Replay, live: LiveGraph, limit: int
              ) -> list[Example]:
    """The first few merges made and undone, each with the replay's decision on a record
    that decided it (for a merge, the first record joining another live person's)."""
    observed = live_observed(live)
    examples = []
    for made in diff.merges_made[:limit]:
        ordered = sorted(made.record_keys, key=lambda k: (observed[k], k))
        first = live.owner[ordered[0]]
        deciding = next((k for k in ordered if live.owner[k] != first), ordered[0])
        examples.append(_example("merge", made.one_ids, made.record_keys, deciding, found))
    for undone in diff.merges_undone[:limit]:
        part = min(undone.parts[1:], key=lambda p: (min(observed[k] for k in p), p))
        deciding = min(part, key=lambda k: (observed[k], k))
        examples.append(_example("split", (undone.one_id,), part, deciding, found))
    return examples


def _example(kind: str, one_ids: tuple[str, ...], keys: tuple[str, ...], deciding: str,
             found: _Replay) -> Example:
    outcome = found.outcomes.get(deciding)
    decision = outcome.action.value if outcome is not None else "SUPPRESSED"
    score = outcome.score if outcome is not None else 0.0
    return Example(kind, one_ids, keys, decision, deciding,
                   probability(score) if outcome is not None and outcome.score else 0.0)


# ------------------------------------------------------------------------- preview


def preview(live: LiveGraph, rules: Rules, now: datetime, examples: int = 5) -> RulePreview:
    """What resolving the live graph's records again under `rules` would change."""
    found = replay((r for r in live.records if r.key not in live.frozen), rules, now)
    target, homes = target_partition(live, found.cluster)
    people = _target_people(target, homes, live)
    one_id_of = _one_id_of(people, homes, target)
    diff = cluster_diff(live.owner, target)
    moved = sum(1 for key, label in target.items() if one_id_of[label] != live.owner[key])
    touched = {k for p in people for k in p.record_keys}
    identities = {k.key: found.identities[k.key] for r in live.records if r.key in touched
                  for k in r.identifiers if k.key in found.identities}
    return RulePreview(
        records=len(live.records), people_before=len(set(live.owner.values())),
        people_after=len(set(target.values())), diff=diff,
        new_people=sum(1 for p in people if not p.survivor), records_moved=moved,
        review_tasks=tuple(_tasks(found, target, one_id_of, live)),
        examples=tuple(_examples(diff, found, live, examples)), changed=tuple(people),
        one_ids=one_id_of, identities=identities)


# ------------------------------------------------------------------------- apply


def apply_plan(found: RulePreview, mint_one_id: Callable[[], str], new_id: Callable[[], str],
               actor: str, reason: str) -> WritePlan:
    """The writes that carry out a preview: the live people at home in a target person
    merge into the oldest of them (a MergeEvent, rule "rules"); records of people at home
    elsewhere move in (a SplitEvent from the person they are on by then); a target person
    no one is at home in gets a new OneID; the new review tasks open on the final people."""
    plan = WritePlan(identities=dict(found.identities))
    final: dict[str, str] = {}  # live OneID -> the OneID its records are on after the merges
    one_id_of: dict[str, str] = {}
    for person in found.changed:
        one_id = person.survivor or mint_one_id()
        one_id_of[person.label] = one_id
        if not person.survivor:
            plan.new_persons.append(one_id)
            plan.changes.append(Change(ChangeType.CREATED, one_id, actor=actor))
        final.update(dict.fromkeys((one_id, *person.absorbed), one_id))
        if person.absorbed:
            evidence = json.dumps({"decision": "MERGED", "reason": reason,
                                   "record_keys": list(person.record_keys)}, ensure_ascii=False)
            plan.merges.append(MergeStep(new_id(), one_id, person.absorbed, RULE, 0.0, "",
                                         evidence, actor))
            plan.redirects.update(dict.fromkeys(person.absorbed, one_id))
            plan.changes.append(Change(ChangeType.MERGED, one_id, person.absorbed, actor, RULE))
    left: dict[str, list[str]] = defaultdict(list)
    for person in found.changed:
        for one_id, keys in person.moved_in:
            source = final.get(one_id, one_id)
            plan.splits.append(SplitStep(new_id(), source, one_id_of[person.label], keys,
                                         reason))
            left[source].append(one_id_of[person.label])
    plan.changes += [Change(ChangeType.SPLIT, source, tuple(dict.fromkeys(news)), actor, RULE)
                     for source, news in sorted(left.items())]
    labelled = {**found.one_ids, **one_id_of}
    plan.review_tasks = [ReviewTaskPlan(
        new_id(), t.record_key, labelled[t.label],
        tuple(labelled[c] for c in t.candidate_labels), t.score, t.reason, t.evidence)
        for t in found.review_tasks]
    return plan
