"""Identifiers as media platforms take them (Tencent Ads, Ocean Engine, Baidu, Kuaishou):
the normalized value, then MD5 or SHA-256 as lower-case hex.

- mobile: the 11-digit mainland number, no +86 (what idgraph stores for a phone);
- IMEI: the 15 digits;
- IDFA: upper case, as Apple issues it;
- OAID: as the phone issues it (lower-case hex or a UUID, as stored).

A device id that is a UUID may be an IDFA (iOS) or an OAID (Huawei, Honor): records do not
say which, so it is given under both kinds and the platform matches the one it knows (a
value under the wrong kind matches nobody). A 16-hex-digit device id is given as an OAID.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum


class MediaKind(StrEnum):
    """The identifier kinds media platforms match audiences on."""

    MOBILE = "mobile"
    IMEI = "imei"
    IDFA = "idfa"
    OAID = "oaid"


class Hash(StrEnum):
    """How an exported value is sent."""

    PLAIN = "plain"
    MD5 = "md5"
    SHA256 = "sha256"


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def media_values(identifier_type: str, identifier_format: str, value: str
                 ) -> list[tuple[MediaKind, str]]:
    """The media kinds a stored identifier gives, each with the value as platforms hash
    it; none for other formats."""
    if identifier_format == "phone":
        return [(MediaKind.MOBILE, value)]
    if identifier_format != "device_id":
        return []
    if value.isdigit() and len(value) == 15:
        return [(MediaKind.IMEI, value)]
    if _UUID.fullmatch(value):
        return [(MediaKind.IDFA, value.upper()), (MediaKind.OAID, value)]
    return [(MediaKind.OAID, value)]


def hashed(value: str, how: Hash) -> str:
    """The value as sent: plain, or the lower-case hex digest of its UTF-8 bytes."""
    if how is Hash.PLAIN:
        return value
    return hashlib.new(how.value, value.encode("utf-8")).hexdigest()
