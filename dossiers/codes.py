"""Dossier codes: ours ("HS-XXXX-XXXX") and the one-stop-shop's national
format ("000.00.10.H12-251120-0003": agency code, yymmdd, sequence number).

The code is what a citizen reads over the phone, types on a feature phone
and pastes into chat, so it uses Crockford's base-32 alphabet (no I, L, O, U:
nothing to confuse with 1, 0 or V) and tolerates the usual typos. It is also
the lookup key, so it must be unguessable: 40 bits from `secrets`, never
derived from the row id or the clock (sequential codes would let anyone
enumerate other people's dossiers). Access control in `service.get_dossier`
is the second line of defence.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from core.vietnamese import DASHES, DOSSIER_CODE_PATTERN, NATIONAL_CODE_PATTERN, normalize_dashes

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_PREFIX = "HS"
RANDOM_BITS = 40  # 8 symbols x 5 bits

# The patterns that find codes in free text (`DOSSIER_CODE_PATTERN`,
# `NATIONAL_CODE_PATTERN`, also used by the NLU) are `core.vietnamese`'s.
_CANONICAL_RE = re.compile(
    rf"^{CODE_PREFIX}-[{CROCKFORD_ALPHABET}]{{4}}-[{CROCKFORD_ALPHABET}]{{4}}$"
)
_TYPO_MAP = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS_RE = re.compile(rf"[\s\-_.{DASHES}]+")

# National one-stop-shop codes in canonical form ("000.00.10.H12-251120-0003").
_NATIONAL_CANONICAL_RE = re.compile(r"^(?:[0-9A-Z]{2,3}\.){2,5}[0-9A-Z]{2,3}-\d{6}-\d{3,6}$")


def new_code() -> str:
    """A fresh random code, e.g. "HS-7K2M-Q9XD"."""
    value = secrets.randbits(RANDOM_BITS)
    symbols = [CROCKFORD_ALPHABET[(value >> shift) & 0x1F] for shift in range(35, -1, -5)]
    return f"{CODE_PREFIX}-{''.join(symbols[:4])}-{''.join(symbols[4:])}"


def is_canonical(code: object) -> bool:
    return isinstance(code, str) and bool(_CANONICAL_RE.match(code))


def normalize_code(text: object) -> str | None:
    """Canonical "HS-XXXX-XXXX" from what a citizen typed, or None.

    Accepts lowercase, missing or extra dashes/spaces, a missing "HS" prefix,
    full-width characters, and the typos O->0, I->1, L->1.
    """
    if not isinstance(text, str) or len(text) > 64:
        return None
    compact = _SEPARATORS_RE.sub("", unicodedata.normalize("NFKC", text)).upper()
    if len(compact) == 10 and compact.startswith(CODE_PREFIX):
        compact = compact[2:]
    if len(compact) != 8:
        return None
    body = compact.translate(_TYPO_MAP)
    if any(ch not in CROCKFORD_ALPHABET for ch in body):
        return None
    return f"{CODE_PREFIX}-{body[:4]}-{body[4:]}"


def normalize_national_code(text: object) -> str | None:
    """Canonical national code ("000.00.10.H12-251120-0003") from what a
    citizen typed (lower case, spaces, en dashes), or None."""
    if not isinstance(text, str) or len(text) > 80:
        return None
    compact = normalize_dashes(unicodedata.normalize("NFKC", text))
    compact = re.sub(r"\s+", "", compact).upper()
    return compact if _NATIONAL_CANONICAL_RE.match(compact) else None


def parse_any_code(text: object) -> tuple[str, str] | None:
    """("ours", "HS-XXXX-XXXX") or ("national", "000.00.10.H12-...") for the
    first code in a message (ours needs its "HS" prefix here, so "cảm ơn bạn"
    is never read as a code); None when there is none."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text[:5000])
    for kind, pattern, normalize in (
        ("national", NATIONAL_CODE_PATTERN, normalize_national_code),
        ("ours", DOSSIER_CODE_PATTERN, normalize_code),
    ):
        match = pattern.search(text)
        if match:
            value = normalize(match.group(0))
            if value:
                return kind, value
    return None


def find_codes(text: object) -> list[str]:
    """All dossier codes mentioned in a message, normalised, in order, unique."""
    if not isinstance(text, str):
        return []
    found: list[str] = []
    for match in DOSSIER_CODE_PATTERN.finditer(unicodedata.normalize("NFKC", text[:5000])):
        code = normalize_code(match.group(0))
        if code and code not in found:
            found.append(code)
    return found
