"""Synthetic person records with known truth: people, and duplicates with typical errors."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from idgraph.domain.records import Limits, RawRecord, prepare_record
from idgraph.domain.rules import Rules, load_rules
from idgraph.training import train, training_record
from tests.unit.factories import NOW, SECRET

TEMPLATE = Path(__file__).resolve().parent / "data" / "person_rules.toml"

GIVEN = ("james", "jack", "oliver", "william", "thomas", "lachlan", "noah", "ethan", "liam",
         "charlotte", "olivia", "ava", "emily", "mia", "chloe", "sophie", "isabella", "grace",
         "ruby", "zoe", "harrison", "samuel", "joshua", "benjamin", "lucas", "hannah", "ella",
         "matilda", "madison", "jessica", "alexander", "daniel", "riley", "cooper", "jayden")
SURNAMES = ("smith", "jones", "williams", "brown", "wilson", "taylor", "johnson", "white",
            "martin", "anderson", "thompson", "nguyen", "thomas", "walker", "harris", "lee",
            "ryan", "robinson", "kelly", "king", "davis", "wright", "evans", "roberts", "green",
            "hall", "wood", "jackson", "clarke", "patel", "khan", "lewis", "james", "phillips",
            "mitchell", "campbell", "murphy", "oconnor", "baker", "stewart", "turner", "parker")
STREETS = ("main road", "church street", "high street", "park avenue", "station street",
           "victoria road", "george street", "king street", "queen street", "bridge road",
           "wattle place", "banksia crescent", "acacia drive", "gum tree lane", "ocean parade")
SUBURBS = ("richmond", "carlton", "fitzroy", "brunswick", "newtown", "glebe", "manly",
           "bondi", "toowong", "paddington", "subiaco", "fremantle", "glenelg", "hobart")


@dataclass(frozen=True)
class Labeled:
    """A record and the person it truly belongs to."""

    record: RawRecord
    entity: str


def typo(value: str, rng: random.Random) -> str:
    """One keyboard-style error: substitution, deletion, insertion or transposition."""
    if len(value) < 2:
        return value
    i = rng.randrange(len(value) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz0123456789"[: 26 if value.isalpha() else 36])
    if value.isdigit():
        letter = rng.choice("0123456789")
    if kind == 0:
        return value[:i] + letter + value[i + 1:]
    if kind == 1:
        return value[:i] + value[i + 1:]
    if kind == 2:
        return value[:i] + letter + value[i:]
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def dataset(people: int, seed: int = 0, duplicates: float = 1.0) -> list[Labeled]:
    """`people` originals and on average `duplicates` copies of each, in which every field
    independently has a typo (12 %) or is missing (4 %)."""
    rng = random.Random(seed)
    out = []
    for p in range(people):
        truth = {
            "given_name": rng.choice(GIVEN), "surname": rng.choice(SURNAMES),
            "date_of_birth": f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}"
                             f"{rng.randint(1, 28):02d}",
            "postcode": str(rng.randint(2000, 7999)), "suburb": rng.choice(SUBURBS),
            "street_number": str(rng.randint(1, 300)), "address_1": rng.choice(STREETS),
        }
        entity = f"p{p}"
        out.append(Labeled(RawRecord("synthetic", f"{entity}-org", None, (), dict(truth)),
                           entity))
        copies = int(duplicates) + (1 if rng.random() < duplicates % 1 else 0)
        for c in range(copies):
            attributes = dict(truth)
            for field in sorted(attributes):  # each field damaged independently
                chance = rng.random()
                if chance < 0.04:
                    del attributes[field]
                elif chance < 0.16:
                    attributes[field] = typo(attributes[field], rng)
            out.append(Labeled(RawRecord("synthetic", f"{entity}-dup-{c}", None, (),
                                         attributes), entity))
    rng.shuffle(out)
    return out


def trained_rules(data: list[Labeled]) -> Rules:
    """Rules trained on the records (the template in tests/data/person_rules.toml)."""
    template = load_rules(TEMPLATE)
    records = [training_record(prepare_record(d.record, template, Limits(), SECRET, NOW),
                               template) for d in data]
    return train(records, template, seed=1).rules
