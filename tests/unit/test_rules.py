"""The rules file: the default loads, bad files are refused with the reason."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from idgraph.config import Settings
from idgraph.domain.rules import DEFAULT_RULES_PATH, Rules, load_rules
from idgraph.errors import ConfigError


def default_data() -> dict[str, Any]:
    with DEFAULT_RULES_PATH.open("rb") as handle:
        return tomllib.load(handle)


def test_default_rules_cover_every_domain_type() -> None:
    rules = load_rules()
    assert set(rules.identifier_types) >= {
        "phone", "landline", "email", "wechat_openid", "wechat_unionid", "app_user_id",
        "crm_id", "dms_customer_id", "id_card", "device_id", "vin", "plate"}
    assert rules.identifier_types["id_card"].hashed
    assert rules.identifier_types["wechat_openid"].scoped
    assert "13800138000" in rules.identifier_types["phone"].blocklist
    # A VIN counts only with an agreeing full name; plates never count.
    assert rules.identifier_types["vin"].counts_with == {"name"}
    assert not rules.identifier_types["plate"].evidence
    assert rules.identifier_types["ownership"].format.value == "ownership"


@pytest.mark.parametrize(("path", "value", "message"), [
    (("thresholds", "review"), 0.999, "must not exceed"),
    (("thresholds", "link"), 12.0, "less than or equal to 1"),
    (("identifier_types", "phone", "m"), None, "needs m and u, or a weight"),
    (("attributes", "birth_date", "levels", "exact"), {"m": 0.9}, "needs m and u"),
    (("identifier_types", "id_card", "hashed"), False, "hashed"),
    (("attributes", "name", "levels"), {"exact": 1.0, "bogus": 2.0}, "bogus"),
    (("identifier_types", "phone", "format"), "telex", "format"),
    (("blocking_keys",), [["name", "shoe_size"]], "shoe_size"),
    (("identifier_types", "landline", "implies"), ["address", "floor"], "floor"),
    (("attribute_links",), [{"name": ["exact"], "shoe_size": ["exact"]}], "shoe_size"),
    (("attribute_reviews",), [{"name": ["exact", "nearly"]}], "nearly"),
])
def test_invalid_rules_are_refused(path: tuple[str, ...], value: object, message: str) -> None:
    data = default_data()
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ValidationError, match=message):
        Rules.model_validate(data)


def test_settings_report_a_broken_rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    broken = tmp_path / "rules.toml"
    broken.write_text("[thresholds]\nlink = 1\n")
    monkeypatch.setenv("IDGRAPH_RULES_FILE", str(broken))
    with pytest.raises(ConfigError, match="identifier_types"):
        Settings().load_rules()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDGRAPH_GRPC_ADDR", "0.0.0.0:6000")
    monkeypatch.setenv("IDGRAPH_MAX_IDENTIFIERS", "8")
    settings = Settings()
    assert settings.grpc_addr == "0.0.0.0:6000"
    assert settings.limits.max_identifiers == 8


def test_a_blocking_only_attribute_finds_candidates_and_is_never_compared() -> None:
    """The dealer code blocks (a test drive with a name and a dealer and no city) but adds no
    weight, and the trainer neither compares it nor builds a deterministic rule on it."""
    rules = load_rules()
    assert "dealer" in rules.blocking_attributes and "dealer" not in rules.attributes
    assert ["name:pinyin", "dealer"] in rules.blocking_keys
    assert ["name:pinyin", "dealer"] not in rules.scored_blocking_keys()
    data = default_data()
    data["blocking_attributes"] = []
    with pytest.raises(ValidationError, match="dealer"):
        Rules.model_validate(data)

