"""OneIDs: time-ordered, and strictly increasing even within one millisecond."""

from __future__ import annotations

from datetime import UTC, datetime

from idgraph.domain.oneid import format_one_id, looks_like_one_id
from idgraph.domain.rules import load_rules
from idgraph.engine import IdentityEngine


def test_format_sorts_by_time() -> None:
    early = format_one_id(1_000, b"\xff" * 10)
    late = format_one_id(1_001, b"\x00" * 10)
    assert early < late and looks_like_one_id(early) and len(early) == 30
    assert not looks_like_one_id("oid_" + "I" * 26)  # not Crockford base32


def test_minting_is_monotonic_within_a_millisecond() -> None:
    engine = IdentityEngine(store=None, rules=load_rules(), secret=b"s",  # type: ignore[arg-type]
                            entropy=lambda n: b"\x00" * n)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    minted = [engine.core.mint_one_id(now) for _ in range(5)]
    assert minted == sorted(minted) and len(set(minted)) == 5
    earlier_clock = engine.core.mint_one_id(datetime(2025, 1, 1, tzinfo=UTC))
    assert earlier_clock > minted[-1]  # a clock step back never breaks the order
