"""OneID values: time-ordered (ULID layout), so the older of two OneIDs also sorts first."""

from __future__ import annotations

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "oid_"


def format_one_id(unix_ms: int, entropy: bytes) -> str:
    """A OneID from a millisecond timestamp and 10 random bytes: ``oid_`` + 26 characters."""
    if len(entropy) != 10:
        raise ValueError("a OneID takes 10 bytes of entropy")
    number = (unix_ms & ((1 << 48) - 1)) << 80 | int.from_bytes(entropy, "big")
    chars = []
    for _ in range(26):
        number, digit = divmod(number, 32)
        chars.append(_CROCKFORD[digit])
    return PREFIX + "".join(reversed(chars))


def looks_like_one_id(value: str) -> bool:
    """Cheap shape check before a OneID is looked up."""
    body = value[len(PREFIX):]
    return value.startswith(PREFIX) and len(body) == 26 and all(c in _CROCKFORD for c in body)
