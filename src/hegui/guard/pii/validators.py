"""Check characters and checksums of Chinese and international identifiers.

Pure functions on already-extracted candidates (separators removed). They must never raise on odd
input: a candidate that cannot be validated is simply not valid.
"""

from __future__ import annotations

import datetime
import ipaddress

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

#: GB 32100-2015: the 31 characters of the unified social credit code (no I, O, Z, S, V).
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id_valid(candidate: str) -> bool:
    """GB 11643-1999: 17 digits (region, birth date, sequence) and an ISO 7064 MOD 11-2 check character."""
    if len(candidate) != 18 or not candidate[:17].isdigit() or candidate[0] == "0":
        return False
    try:
        born = datetime.date(int(candidate[6:10]), int(candidate[10:12]), int(candidate[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def uscc_valid(candidate: str) -> bool:
    """GB 32100-2015: 17 characters and a MOD 31 check character."""
    if len(candidate) != 18 or any(c not in USCC_CHARS for c in candidate):
        return False
    if not candidate[2:8].isdigit():
        return False  # the administrative-division code
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(candidate[:17], _USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31] == candidate[17]


def ipv4_valid(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return True


def ipv6_valid(candidate: str) -> bool:
    if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def email_valid(candidate: str) -> bool:
    local, _, domain = candidate.rpartition("@")
    return (
        0 < len(local) <= 64
        and len(candidate) <= 254
        and ".." not in candidate
        and not local.startswith(".")
        and not local.endswith(".")
        and all(0 < len(label) <= 63 and not label.startswith("-") for label in domain.split("."))
    )
