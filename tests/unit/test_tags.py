"""The tag hierarchy and the tags data gives people and vehicles (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from idgraph.domain.profile import (
    AssignedTag,
    GoldenAttribute,
    Profile,
    ProfileVehicle,
    Relationship,
    RelationType,
    StoredRecord,
    StoredVehicle,
)
from idgraph.domain.tags import load_tags, person_tags, vehicle_tags
from idgraph.domain.vehicles import vehicle_history
from idgraph.errors import ConfigError

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def day(year: int, month: int = 1) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def profile(*vehicles: tuple[str, datetime | None, datetime | None], sources: tuple[str, ...]
            = ("crm",), consent: str = "", relationships: tuple[Relationship, ...] = ()
            ) -> Profile:
    records = tuple(StoredRecord(s, str(n), day(2020), day(2020), {}, (), ())
                    for n, s in enumerate(sources))
    attributes = (GoldenAttribute("consent_marketing", consent, "app", "1", day(2020), ""),
                  ) if consent else ()
    return Profile("oid_x", day(2020), day(2020), attributes, (), records,
                   tuple(ProfileVehicle(StoredVehicle("V", "", "", relation, since, until),
                                        "dms", "1") for relation, since, until in vehicles),
                   (), relationships)


def paths(tags: tuple[AssignedTag, ...]) -> list[str]:
    return [t.path for t in tags]


def test_the_shipped_hierarchy_loads_and_every_path_has_three_levels() -> None:
    hierarchy = load_tags()
    assert "lifecycle.owner.owner_3y_plus" in hierarchy.person
    assert all(len(p.split(".")) == 3 for p in [*hierarchy.person, *hierarchy.vehicle])


def test_a_tag_without_three_levels_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "tags.toml"
    path.write_text('[person."lifecycle.owner"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="three levels"):
        load_tags(path)
    path.write_text('[person."a.b.c"]\nwhen = { owns_since = 3 }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="owns_since"):
        load_tags(path)


def test_owners_by_how_long_they_have_owned() -> None:
    hierarchy = load_tags()
    old = paths(person_tags(profile(("OWNER", day(2022), None)), hierarchy, NOW))
    assert old == ["lifecycle.owner.owner_3y_plus"]
    new = paths(person_tags(profile(("OWNER", day(2026, 6), None)), hierarchy, NOW))
    assert new == ["lifecycle.owner.new_owner"]
    sold = paths(person_tags(profile(("OWNER", day(2018), day(2021))), hierarchy, NOW))
    assert sold == []  # a past owner owns nothing now


def test_prospects_consent_and_referrers() -> None:
    hierarchy = load_tags()
    lead = person_tags(profile(("TEST_DRIVE", day(2026), day(2026)),
                               sources=("test_drive",), consent="false",
                               relationships=(Relationship(RelationType.REFERRED, "oid_y",
                                                           "", None),)), hierarchy, NOW)
    assert paths(lead) == ["lifecycle.prospect.lead",
                           "lifecycle.prospect.test_drive_no_purchase",
                           "marketing.consent.withdrawn", "relationship.referral.referrer"]
    assert all(t.from_rule for t in lead)
    assert "marketing.consent.withdrawn" not in paths(
        person_tags(profile(consent="true"), hierarchy, NOW))


def test_an_assigned_tag_shows_once_with_its_source() -> None:
    hierarchy = load_tags()
    vip = AssignedTag("value.segment.vip", "crm-export", "writer-bot", day(2026))
    also = AssignedTag("lifecycle.owner.owner_3y_plus", "dealer", "writer-bot", day(2026))
    tags = person_tags(profile(("OWNER", day(2020), None)), hierarchy, NOW, [vip, also])
    assert [(t.path, t.source) for t in tags] == [
        ("lifecycle.owner.owner_3y_plus", "dealer"), ("value.segment.vip", "crm-export")]


def test_vehicle_tags_by_model_year_and_ownership() -> None:
    hierarchy = load_tags()
    old = vehicle_history("LSVAA4183E2000001", "", "", [], NOW)  # model year 2014, no owner
    assert paths(vehicle_tags(old, hierarchy, NOW)) == ["age.bucket.over_3y",
                                                         "ownership.status.unowned"]
    new = vehicle_history("LSVAA4187T2000001", "", "", [], NOW)  # 2026
    assert paths(vehicle_tags(new, hierarchy, NOW)) == ["age.bucket.new",
                                                         "ownership.status.unowned"]
