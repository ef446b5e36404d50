"""The audience index: a per-person summary of the graph, held as columns, over which a
definition (idgraph.domain.audience) is evaluated as vectorised set algebra.

Each person's facts (golden city, gender and birth date, consent, sources with when they
were last seen, tags from data and assigned, vehicle relations with model, make, model
year and plate, dealers, household members and referrers) are laid out as numpy columns:
one row per person for single values, one row per fact for the rest (a "segment"). A
leaf clause is a filter over one segment's rows, reduced to a mask over people; `and`,
`or` and `not` are mask operations, and a relationship clause moves a mask along the
household or referral edges. On a million records this is milliseconds, where walking the
graph per definition took seconds (see docs/audiences.md).

The index has a large base segment and a small delta segment: a person whose facts change
is marked stale in the base and written to the delta, which is rebuilt on each change;
`compact` folds the delta into a new base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from idgraph.domain.audience import (
    AGE_BAND_BOUNDS,
    AgeBand,
    Clause,
    Consent,
    VehicleClause,
    VehicleRelation,
    describe,
)
from idgraph.domain.profile import Profile, RelationType
from idgraph.domain.tags import TagHierarchy, VehicleCondition

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

RELATIONS = ("OWNER", "DRIVER", "INTERESTED", "TEST_DRIVE", "SERVICE", "")
_RELATION_OF: dict[VehicleRelation, str] = {
    VehicleRelation.TEST_DROVE: "TEST_DRIVE", VehicleRelation.INTERESTED: "INTERESTED",
    VehicleRelation.DRIVES: "DRIVER", VehicleRelation.SERVICED: "SERVICE",
}
YEAR_MS = 365.25 * 24 * 3600 * 1000
NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class VehicleFact:
    """One vehicle relation of a person."""

    vin: str  # "" for a model without a VIN (interest, a test drive)
    model: str
    make: str
    model_year: int | None
    plate: str
    relation: str  # OWNER | DRIVER | INTERESTED | TEST_DRIVE | SERVICE
    current: bool  # no end
    since_ms: int | None
    tags: tuple[str, ...] = ()  # assigned to the vehicle

    @property
    def plate_type(self) -> str:
        """new_energy (8 characters), fuel (7), or "" without a plate."""
        return {8: "new_energy", 7: "fuel"}.get(len(self.plate), "")


@dataclass(frozen=True)
class PersonFacts:
    """What audiences read of one active person."""

    one_id: str
    consent: bool | None = None
    city: str = ""
    gender: str = ""
    birth: date | None = None
    sources: Mapping[str, int] = field(default_factory=dict)  # source -> last seen, ms
    tags: frozenset[str] = frozenset()  # from data and assigned
    vehicles: tuple[VehicleFact, ...] = ()
    dealers: tuple[str, ...] = ()
    household: frozenset[str] = frozenset()
    referred_by: frozenset[str] = frozenset()

    def neighbours(self) -> set[str]:
        """The people whose relationship clauses read this person's edges."""
        return set(self.household | self.referred_by)


_GENDERS = {"m": "M", "male": "M", "男": "M", "f": "F", "female": "F", "女": "F"}


def person_facts(profile: Profile, vehicles: Mapping[str, tuple[str, int | None, tuple[str, ...]]]
                 ) -> PersonFacts:
    """What audiences read of a profile; `vehicles` gives each VIN's make, model year and
    assigned tags."""
    golden = {a.name: a.value for a in profile.attributes}
    sources: dict[str, int] = {}
    for record in profile.records:
        at = int(record.observed_at.timestamp() * 1000)
        sources[record.source] = max(at, sources.get(record.source, at))
    facts = []
    for pv in profile.vehicles:
        v = pv.vehicle
        make, year, tags = vehicles.get(v.vin, ("", None, ()))
        facts.append(VehicleFact(v.vin, v.model, make, year, v.plate, v.relation,
                                 v.until is None, None if v.since is None
                                 else int(v.since.timestamp() * 1000), tags))
    return PersonFacts(
        one_id=profile.one_id, consent=profile.consent_marketing,
        city=golden.get("city", "").strip(),
        gender=_GENDERS.get(golden.get("gender", "").strip().lower(), ""),
        birth=_birth(golden.get("birth_date", "")),
        sources=sources, tags=frozenset(t.path for t in profile.tags),
        vehicles=tuple(facts), dealers=tuple(d.dealer for d in profile.dealers),
        household=frozenset(r.one_id for r in profile.relationships
                            if r.type is RelationType.HOUSEHOLD),
        referred_by=frozenset(r.one_id for r in profile.relationships
                              if r.type is RelationType.REFERRED_BY))


def _birth(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


class Vocabulary:
    """Strings to small integers, shared by every segment of an index."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {"": 0}
        self.words: list[str] = [""]

    def code(self, word: str) -> int:
        """The word's code, given one when new."""
        found = self._codes.get(word)
        if found is None:
            found = self._codes[word] = len(self.words)
            self.words.append(word)
        return found

    def codes(self, words: Iterable[str]) -> Ints:
        """The codes of the words already known (unknown words match nothing)."""
        return np.fromiter((c for w in words if (c := self._codes.get(w)) is not None),
                           dtype=np.int64)


def _col(values: list[Any], dtype: Any) -> npt.NDArray[Any]:
    return np.asarray(values, dtype=dtype)


@dataclass
class Segment:
    """The facts of a set of people as row columns (`p` is the person's position)."""

    source_p: Ints
    source_code: Ints
    source_last: Ints
    tag_p: Ints
    tag_code: Ints
    dealer_p: Ints
    dealer_code: Ints
    vehicle_p: Ints
    vehicle: dict[str, npt.NDArray[Any]]  # relation, current, model, make, year, plate, since, vin
    vehicle_tag_row: Ints
    vehicle_tag_code: Ints
    household_p: Ints
    household_q: Ints
    referral_p: Ints  # referred
    referral_q: Ints  # referrer

    @classmethod
    def build(cls, people: Sequence[tuple[int, PersonFacts]], words: Vocabulary,
              position: Any) -> Segment:
        """Columns for the people given with their positions; `position(one_id)` places
        the people their edges name."""
        rows: dict[str, list[Any]] = {k: [] for k in (
            "sp", "sc", "sl", "tp", "tc", "dp", "dc", "vp", "vrel", "vcur", "vmodel",
            "vmake", "vyear", "vplate", "vsince", "vvin", "vtr", "vtc", "hp", "hq", "rp",
            "rq")}

        def add(**values: Any) -> None:
            for key, value in values.items():
                rows[key].append(value)

        for p, facts in people:
            for source, last in facts.sources.items():
                add(sp=p, sc=words.code(source), sl=last)
            for tag in facts.tags:
                add(tp=p, tc=words.code(tag))
            for dealer in facts.dealers:
                add(dp=p, dc=words.code(dealer))
            for v in facts.vehicles:
                for tag in v.tags:
                    add(vtr=len(rows["vp"]), vtc=words.code(tag))
                add(vp=p, vrel=RELATIONS.index(v.relation) if v.relation in RELATIONS
                    else len(RELATIONS) - 1, vcur=v.current, vmodel=words.code(v.model),
                    vmake=words.code(v.make), vyear=v.model_year or 0,
                    vplate=words.code(v.plate_type),
                    vsince=NO_TIME if v.since_ms is None else v.since_ms,
                    vvin=words.code(v.vin))
            for other in facts.household:
                add(hp=p, hq=position(other))
            for other in facts.referred_by:
                add(rp=p, rq=position(other))
        i = np.int64
        return cls(
            _col(rows["sp"], i), _col(rows["sc"], i), _col(rows["sl"], i),
            _col(rows["tp"], i), _col(rows["tc"], i), _col(rows["dp"], i), _col(rows["dc"], i),
            _col(rows["vp"], i),
            {"relation": _col(rows["vrel"], i), "current": _col(rows["vcur"], np.bool_),
             "model": _col(rows["vmodel"], i), "make": _col(rows["vmake"], i),
             "year": _col(rows["vyear"], i), "plate": _col(rows["vplate"], i),
             "since": _col(rows["vsince"], i), "vin": _col(rows["vvin"], i)},
            _col(rows["vtr"], i), _col(rows["vtc"], i),
            _col(rows["hp"], i), _col(rows["hq"], i), _col(rows["rp"], i), _col(rows["rq"], i))

    @classmethod
    def empty(cls, words: Vocabulary) -> Segment:
        """A segment of nobody."""
        return cls.build([], words, lambda one_id: 0)


def _spread(n: int, p: Ints, rows: Mask, live: Mask) -> Mask:
    """A mask over people from a mask over rows, counting only rows of live people."""
    out = np.zeros(n, dtype=np.bool_)
    chosen = p[rows]
    out[chosen[live[chosen]]] = True
    return out


@dataclass
class Evaluation:
    """A definition's result, with each clause's mask (for the reasons a person
    qualifies)."""

    members: Mask
    masks: dict[int, Mask]  # id(clause) -> people it holds for
    rows: dict[int, list[tuple[Segment, Mask]]]  # id(leaf) -> rows it holds for


class AudienceIndex:
    """Every active person's facts, evaluable by audience definitions."""

    def __init__(self, hierarchy: TagHierarchy) -> None:
        self.hierarchy = hierarchy
        self.words = Vocabulary()
        self.one_ids: list[str] = []
        self._position: dict[str, int] = {}
        self._facts: dict[int, PersonFacts] = {}  # current facts of every alive person
        self.alive = np.zeros(0, dtype=np.bool_)
        self._stale = np.zeros(0, dtype=np.bool_)  # base rows superseded (delta or gone)
        self._person: dict[str, npt.NDArray[Any]] = {}
        self._base = Segment.empty(self.words)
        self._delta = Segment.empty(self.words)
        self._dirty: set[int] = set()
        # Derived from the above, kept until the contents change (evaluations read them
        # once per clause).
        self._live: list[tuple[Segment, Mask]] | None = None
        self._owned: Ints | None = None
        self._grow(0)

    # ------------------------------------------------------------------ contents
    def __len__(self) -> int:
        return int(self.alive.sum())

    def position(self, one_id: str) -> int:
        """The person's position, given one when new (not alive until stored)."""
        found = self._position.get(one_id)
        if found is None:
            found = self._position[one_id] = len(self.one_ids)
            self.one_ids.append(one_id)
            if found >= len(self.alive):
                self._grow(found + 1)
        return found

    def consent_given(self) -> Mask:
        """The people whose latest statement gave marketing consent."""
        given: Mask = self._person["consent"] == 1
        return given

    def facts(self, one_id: str) -> PersonFacts | None:
        """The facts held of an alive person."""
        p = self._position.get(one_id)
        return None if p is None else self._facts.get(p)

    def _grow(self, need: int) -> None:
        self._changed()
        size = max(need, 2 * len(self.alive), 1024)
        def grown(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            out = np.full(size, fill, dtype=a.dtype)
            out[:len(a)] = a
            return out
        self.alive, self._stale = grown(self.alive, False), grown(self._stale, False)
        defaults: dict[str, npt.NDArray[Any]] = {
            "consent": np.zeros(0, np.int8), "city": np.zeros(0, np.int64),
            "gender": np.zeros(0, np.int64), "birth": np.zeros(0, np.int64)}
        self._person = {k: grown(self._person.get(k, d), -1 if k == "consent" else 0)
                        for k, d in defaults.items()}

    def load(self, people: Iterable[PersonFacts]) -> None:
        """Replace the contents with these people (a full build)."""
        placed = [(self.position(f.one_id), f) for f in people]
        self.alive[:] = False
        self._stale[:] = False
        self._facts = {}
        for p, f in placed:
            self._set_person(p, f)
        self._base = Segment.build(placed, self.words, self.position)
        self._dirty = set()
        self._delta = Segment.empty(self.words)
        self._changed()

    def update(self, changed: Mapping[str, PersonFacts | None]) -> None:
        """Take new facts of some people (None: no longer an active person)."""
        for one_id, f in changed.items():
            p = self.position(one_id)
            self._stale[p] = True
            self._dirty.add(p)
            if f is None:
                self.alive[p] = False
                self._facts.pop(p, None)
            else:
                self._set_person(p, f)
        self._delta = Segment.build([(p, self._facts[p]) for p in sorted(self._dirty)
                                     if p in self._facts], self.words, self.position)
        self._changed()

    def compact(self) -> None:
        """Fold the delta into the base."""
        self.load(list(self._facts.values()))

    @property
    def pending(self) -> int:
        """People held in the delta."""
        return len(self._dirty)

    def _set_person(self, p: int, f: PersonFacts) -> None:
        self._facts[p] = f
        self.alive[p] = True
        person = self._person
        person["consent"][p] = -1 if f.consent is None else int(f.consent)
        person["city"][p] = self.words.code(f.city)
        person["gender"][p] = self.words.code(f.gender)
        person["birth"][p] = (f.birth.year * 10000 + f.birth.month * 100 + f.birth.day
                              if f.birth else 0)

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, clause: Clause, now: datetime) -> Evaluation:
        """The alive people the definition holds for, with each clause's mask."""
        result = Evaluation(np.zeros(0, np.bool_), {}, {})
        result.members = self._eval(clause, now, result) & self.alive
        return result

    def _changed(self) -> None:
        self._live = self._owned = None

    def _segments(self) -> list[tuple[Segment, Mask]]:
        """Each segment with the people whose rows in it count."""
        if self._live is None:
            live_base = self.alive & ~self._stale
            live_delta = np.zeros_like(self.alive)
            live_delta[list(self._dirty)] = True
            self._live = [(self._base, live_base), (self._delta, live_delta & self.alive)]
        return self._live

    def _eval(self, clause: Clause, now: datetime, out: Evaluation) -> Mask:
        n = len(self.alive)
        if clause.and_ is not None:
            mask = np.ones(n, dtype=np.bool_)
            for child in clause.and_:
                mask &= self._eval(child, now, out)
        elif clause.or_ is not None:
            mask = np.zeros(n, dtype=np.bool_)
            for child in clause.or_:
                mask |= self._eval(child, now, out)
        elif clause.not_ is not None:
            mask = ~self._eval(clause.not_, now, out) & self.alive
        elif clause.household_member_of is not None or clause.referred_by is not None:
            mask = self._along(clause, now, out)
        elif clause.consent is not None or clause.attribute is not None:
            mask = self._personal(clause, now)
        else:
            mask = np.zeros(n, dtype=np.bool_)
            kept = []
            for segment, live in self._segments():
                p, rows = self._leaf_rows(clause, segment, now)
                mask |= _spread(n, p, rows, live)
                kept.append((segment, rows))
            out.rows[id(clause)] = kept
        out.masks[id(clause)] = mask
        return mask

    def _along(self, clause: Clause, now: datetime, out: Evaluation) -> Mask:
        inner = clause.household_member_of or clause.referred_by
        assert inner is not None
        them = self._eval(inner, now, out)
        n = len(self.alive)
        mask = np.zeros(n, dtype=np.bool_)
        for segment, live in self._segments():
            p, q = ((segment.household_p, segment.household_q)
                    if clause.household_member_of is not None
                    else (segment.referral_p, segment.referral_q))
            mask |= _spread(n, p, them[q] & self.alive[q], live)
        return mask

    def _personal(self, clause: Clause, now: datetime) -> Mask:
        person = self._person
        if clause.consent is not None:
            consent = person["consent"]
            wanted: Mask = {Consent.GIVEN: consent == 1, Consent.WITHDRAWN: consent == 0,
                            Consent.UNKNOWN: consent == -1,
                            Consent.NOT_WITHDRAWN: consent != 0}[clause.consent]
            return wanted
        attribute = clause.attribute
        assert attribute is not None
        if attribute.name != "age_band":
            chosen: Mask = np.isin(person[attribute.name], self.words.codes(attribute.in_))
            return chosen
        today = now.year * 10000 + now.month * 100 + now.day
        birth = person["birth"]
        age = np.where(birth > 0, (today - birth) // 10000, -1)
        mask = np.zeros(len(birth), dtype=np.bool_)
        for band in attribute.in_:
            low, high = AGE_BAND_BOUNDS[AgeBand(band)]
            mask |= (age >= low) & (age <= high)
        return mask

    def _leaf_rows(self, clause: Clause, s: Segment, now: datetime) -> tuple[Ints, Mask]:
        """The rows of one segment a leaf clause holds for, with their people."""
        words = self.words
        if clause.tag is not None:
            return s.tag_p, np.isin(s.tag_code, words.codes(clause.tag.any_of))
        if clause.dealer is not None:
            return s.dealer_p, np.isin(s.dealer_code, words.codes(clause.dealer.in_))
        if clause.source is not None:
            rows = np.ones(len(s.source_p), dtype=np.bool_)
            if clause.source.in_ is not None:
                rows &= np.isin(s.source_code, words.codes(clause.source.in_))
            if clause.source.seen_within_days is not None:
                cutoff = now.timestamp() * 1000 - clause.source.seen_within_days * 86_400_000
                rows &= s.source_last >= cutoff
            return s.source_p, rows
        assert clause.vehicle is not None
        return s.vehicle_p, self._vehicle_rows(clause.vehicle, s, now)

    def _vehicle_rows(self, v: VehicleClause, s: Segment, now: datetime) -> Mask:
        col = s.vehicle
        rows = np.ones(len(s.vehicle_p), dtype=np.bool_)
        owner = RELATIONS.index("OWNER")
        if v.relation is VehicleRelation.OWNS_NOW:
            rows &= (col["relation"] == owner) & col["current"]
        elif v.relation is VehicleRelation.OWNED:
            rows &= (col["relation"] == owner) & ~col["current"]
        elif v.relation is not VehicleRelation.ANY:
            rows &= col["relation"] == RELATIONS.index(_RELATION_OF[v.relation])
        if v.model:
            rows &= np.isin(col["model"], self.words.codes(v.model))
        if v.make:
            rows &= np.isin(col["make"], self.words.codes(v.make))
        year = col["year"]
        if v.age_years_at_least is not None:
            rows &= (year > 0) & (now.year - year >= v.age_years_at_least)
        if v.age_years_below is not None:
            rows &= (year > 0) & (now.year - year < v.age_years_below)
        if v.held_years_at_least is not None:
            since = col["since"]
            rows &= (since != NO_TIME) & (
                now.timestamp() * 1000 - since >= v.held_years_at_least * YEAR_MS)
        if v.plate_type:
            rows &= col["plate"] == self.words.code(v.plate_type)
        if v.tag:
            rows &= self._vehicle_tagged(v.tag, s, now)
        return rows

    def _vehicle_tagged(self, tags: Sequence[str], s: Segment, now: datetime) -> Mask:
        """Rows whose vehicle carries one of the tags: assigned, or given by its rule."""
        rows = np.zeros(len(s.vehicle_p), dtype=np.bool_)
        rows[s.vehicle_tag_row[np.isin(s.vehicle_tag_code, self.words.codes(tags))]] = True
        for tag in tags:
            rule = self.hierarchy.vehicle.get(tag)
            if rule is not None and rule.when is not None:
                rows |= self._vehicle_condition(rule.when, s, now)
        return rows

    def _vehicle_condition(self, when: VehicleCondition, s: Segment, now: datetime) -> Mask:
        """A vehicle tag's rule over rows (as idgraph.domain.tags reads it of a vehicle)."""
        col = s.vehicle
        year = col["year"]
        rows = col["vin"] != 0
        if when.age_years_at_least is not None:
            rows &= (year > 0) & (now.year - year >= when.age_years_at_least)
        if when.age_years_below is not None:
            rows &= (year > 0) & (now.year - year < when.age_years_below)
        if when.make_in is not None:
            rows &= np.isin(col["make"], self.words.codes(when.make_in))
        if when.owned is not None:
            rows &= np.isin(col["vin"], self._owned_vins()) == when.owned
        chosen: Mask = rows
        return chosen

    def _owned_vins(self) -> Ints:
        if self._owned is None:
            owned = []
            owner = RELATIONS.index("OWNER")
            for segment, live in self._segments():
                col = segment.vehicle
                rows = (col["relation"] == owner) & col["current"] & live[segment.vehicle_p]
                owned.append(col["vin"][rows])
            self._owned = np.unique(np.concatenate(owned))
        return self._owned

    # ------------------------------------------------------------------- reasons
    def reasons(self, clause: Clause, one_id: str, result: Evaluation) -> list[str]:
        """Why a member qualifies, in words, clause by clause."""
        p = self._position[one_id]
        return self._why(clause, p, result)

    def _why(self, clause: Clause, p: int, result: Evaluation) -> list[str]:
        if clause.and_ is not None:
            return [r for child in clause.and_ for r in self._why(child, p, result)]
        if clause.or_ is not None:
            for child in clause.or_:
                if result.masks[id(child)][p]:
                    return self._why(child, p, result)
            return []
        if clause.not_ is not None:
            return [f"not ({describe(clause.not_)})"]
        inner = clause.household_member_of or clause.referred_by
        if inner is not None:
            facts = self._facts[p]
            others = facts.household if clause.household_member_of is not None \
                else facts.referred_by
            word = "household member" if clause.household_member_of is not None \
                else "referred by"
            for other in sorted(others):
                q = self._position[other]
                if result.masks[id(inner)][q]:
                    return [f"{word} {other}: " + "; ".join(self._why(inner, q, result))]
            return []
        return [self._evidence(clause, p, result)]

    def _evidence(self, clause: Clause, p: int, result: Evaluation) -> str:
        facts = self._facts[p]
        if clause.consent is not None:
            return f"marketing consent: {_consent_word(facts.consent)}"
        if clause.attribute is not None:
            name = clause.attribute.name
            value = {"city": facts.city, "gender": facts.gender,
                     "age_band": f"born {facts.birth}"}[name]
            return f"{name.replace('_', ' ')} {value}"
        segment = self._segments()[1 if p in self._dirty else 0][0]
        rows = next(r for s, r in result.rows[id(clause)] if s is segment)
        if clause.vehicle is not None:
            mine = np.flatnonzero(rows & (segment.vehicle_p == p))
            return _vehicle_words(segment, int(mine[0]), self.words) if len(mine) else ""
        p_col, code_col = ((segment.tag_p, segment.tag_code) if clause.tag is not None else
                           (segment.dealer_p, segment.dealer_code) if clause.dealer is not None
                           else (segment.source_p, segment.source_code))
        mine = np.flatnonzero(rows & (p_col == p))
        if not len(mine):
            return ""
        word = self.words.words[int(code_col[mine[0]])]
        if clause.tag is not None:
            return f"tagged {word}"
        if clause.dealer is not None:
            return f"known to dealer {word}"
        last = datetime.fromtimestamp(int(segment.source_last[mine[0]]) / 1000, UTC)
        return f"seen in {word} on {last:%Y-%m-%d}"


def _consent_word(consent: bool | None) -> str:
    return "never stated" if consent is None else "given" if consent else "withdrawn"


def _vehicle_words(s: Segment, row: int, words: Vocabulary) -> str:
    col = s.vehicle
    relation = RELATIONS[int(col["relation"][row])]
    verb = {"OWNER": "owns" if col["current"][row] else "owned", "DRIVER": "drives",
            "INTERESTED": "interested in", "TEST_DRIVE": "test-drove",
            "SERVICE": "serviced"}.get(relation, "has")
    model = words.words[int(col["model"][row])] or "a car"
    extra = [x for x in (words.words[int(col["vin"][row])],
                         str(int(col["year"][row])) if col["year"][row] else "") if x]
    since = int(col["since"][row])
    when = (f" since {datetime.fromtimestamp(since / 1000, UTC):%Y-%m-%d}"
            if since != NO_TIME else "")
    return f"{verb} {model}" + (f" ({', '.join(extra)})" if extra else "") + when
