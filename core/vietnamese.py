"""Vietnamese text: the one place for Unicode clean-up, diacritic folding, the
procedure- and dossier-code patterns and the masking of personal numbers.

Citizens type from phones and copy from Zalo, Facebook, Word and PDFs, so the
same words arrive precomposed (NFC) or decomposed (NFD: "e" + U+0323 + U+0302
for "ệ"), sprinkled with invisible format characters (zero-width space/joiner,
BOM, soft hyphen, bidi controls) and with dashes that are not "-" (phones turn
"-" into "–"). Every layer needs the same answers to "what does this text say",
so the rules live here once:

- `nfc`, `is_invisible` / `strip_invisible`, `normalize_dashes`: clean-up;
- `fold`: lowercase, no diacritics, đ → d, whitespace collapsed (matching and
  search compare folded text; "căn" and "cần" both become "can", which the
  other words of a sentence disambiguate);
- `PROCEDURE_CODE_*` (national procedure codes "1.001234"), `DOSSIER_CODE_*`
  (ours, "HS-7K3M-9QXP") and `NATIONAL_CODE_*` (the one-stop-shop's
  "000.00.10.H12-251120-0003");
- `mask_*`: personal numbers (citizen ID, phone, sender ids) for logs and
  screens, never more than the last 4 digits.

Vocabulary (abbreviations, teencode, question words of procedure names) is
the catalog's and stays in `catalog/text.py`. This module imports nothing of
the project (see `core/__init__.py`).
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain

__all__ = [
    "DASHES",
    "DOSSIER_CODE_PATTERN",
    "DOSSIER_CODE_REGEX",
    "ID_NUMBER_PATTERN",
    "INVISIBLE_CHARACTERS",
    "NATIONAL_CODE_PATTERN",
    "NATIONAL_CODE_REGEX",
    "PHONE_PATTERN",
    "PROCEDURE_CODE_IN_TEXT",
    "PROCEDURE_CODE_RE",
    "PROCEDURE_CODE_REGEX",
    "fold",
    "is_invisible",
    "is_procedure_code",
    "mask_citizen_id",
    "mask_identifier",
    "mask_numbers",
    "mask_phone",
    "mask_sender",
    "nfc",
    "normalize_dashes",
    "strip_invisible",
    "without_codes",
]

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def nfc(text: str | None) -> str:
    """`text` in NFC ("" for None): decomposed Vietnamese letters composed, so
    "Trực tuyến" typed on an iPhone equals the same words typed elsewhere."""
    if not text:
        return ""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def is_invisible(char: str) -> bool:
    """True for an invisible format character (Unicode category Cf: U+200B..U+200F
    zero-width space/joiners and marks, U+202A..U+202E and U+2066..U+2069 bidi
    controls, U+2060..U+2064, U+FEFF BOM, U+00AD soft hyphen, U+180E...).

    They carry no meaning, survive copy-paste and split or glue words
    invisibly, so every layer drops them (the NLU, the validators, the parser
    of portal records, folding)."""
    return unicodedata.category(char) == "Cf"


# Every code point of category Cf (Unicode 13.0, Python 3.10's `unicodedata`), as
# ranges: scanning the code space at import would cost ~50 ms per process.
# tests/core/test_vietnamese.py checks the list against `unicodedata`.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)


INVISIBLE_CHARACTERS = "".join(
    chr(cp) for first, last in _INVISIBLE_RANGES for cp in range(first, last + 1)
)
_INVISIBLE_TABLE: dict[int, None] = {ord(ch): None for ch in INVISIBLE_CHARACTERS}


def strip_invisible(text: str) -> str:
    """`text` without invisible format characters (see `is_invisible`)."""
    if text.isascii():
        return text
    return text.translate(_INVISIBLE_TABLE)


# Dash-like marks people (and phone keyboards) type for "-": hyphen, non-breaking
# hyphen, figure dash, en dash, em dash, horizontal bar (U+2010..U+2015) and the
# minus sign. A regex character-class body (regex escapes, so patterns built
# from it read the same as before), for patterns that accept any of them.
DASHES = r"\u2010-\u2015\u2212"
_DASHES_RE = re.compile(f"[{DASHES}]")


def normalize_dashes(text: str) -> str:
    """Every dash-like mark (`DASHES`) replaced by an ASCII "-"."""
    return _DASHES_RE.sub("-", text)


# --------------------------------------------------------------------------------------------
# Folding
# --------------------------------------------------------------------------------------------


def _build_fold_table() -> dict[int, str | None]:
    """One `str.translate` table: every precomposed Latin letter with a
    diacritic → its base letter, combining marks → removed, đ/Đ → d,
    invisible characters → removed, control characters → space.

    Built once at import; `translate` with a dict is a single C-level pass,
    which keeps `fold` fast enough to run per token in the NLU pipeline.
    """
    table: dict[int, str | None] = {}
    # Latin-1 Supplement, Latin Extended-A/B and Latin Extended Additional
    # (the last holds most Vietnamese letters: ạ ả ấ ầ ẩ ẫ ậ ... ỹ).
    for cp in chain(range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFD", chr(cp))
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and base.isalpha():
            table[cp] = base.lower()
    # đ/Đ have no canonical decomposition (they are distinct letters), so
    # NFD-based folding such as scikit-learn's strip_accents keeps them.
    table[ord("đ")] = "d"
    table[ord("Đ")] = "d"
    # Stray combining marks (decomposed input that NFC could not recompose).
    for cp in range(0x0300, 0x0370):
        table[cp] = None
    table.update(_INVISIBLE_TABLE)
    # Control characters (binary junk, \x00) become separators, never glue.
    for cp in chain(range(0x00, 0x20), range(0x7F, 0xA0)):
        table[cp] = " "
    return table


_FOLD_TABLE = _build_fold_table()


def fold(text: str | None) -> str:
    """Accent-folded, lowercase form of `text` for matching ("" for None/"").

    NFC-normalises (so decomposed NFD input behaves like precomposed input),
    lowercases, strips every diacritic (every nonspacing mark), maps đ/Đ → d,
    removes invisible characters, turns control characters into spaces and
    collapses runs of whitespace to one space (no leading/trailing space).
    Punctuation and non-Latin characters are kept.

    >>> fold("  Đăng ký  KHAI SINH\\u200b ")
    'dang ky khai sinh'
    """
    if not text:
        return ""
    if text.isascii() and text.isprintable():  # common case (typed without diacritics)
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFC", text).lower().translate(_FOLD_TABLE)
    if not text.isascii():
        # Marks outside U+0300..U+036F (rare: extended and supplementary
        # combining blocks, other scripts' vowel signs) are diacritics too.
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------

# National procedure codes of the public-service portal: one digit, a dot, six
# digits ("1.001234", "2.000123"). Every code in the bundled records has this shape.
PROCEDURE_CODE_REGEX = r"\d\.\d{6}"
# A procedure code inside a sentence ("thủ tục 1.001234 cần gì"), as group 1.
PROCEDURE_CODE_IN_TEXT: re.Pattern[str] = re.compile(rf"\b({PROCEDURE_CODE_REGEX})\b")
# A whole string that is a procedure code (no surrounding spaces allowed).
PROCEDURE_CODE_RE: re.Pattern[str] = re.compile(rf"^{PROCEDURE_CODE_REGEX}$")
_PROCEDURE_CODE_LOOSE_RE = re.compile(r"^\d+\.\d{6}$")


def is_procedure_code(value: object, *, loose: bool = False) -> bool:
    """True for a string that is a procedure code (surrounding spaces ignored).

    `loose` also accepts more than one digit before the dot ("12.000123"): the
    form of the code that slot values and dossier rows are checked against,
    so a mistyped code reaches the catalog lookup (and its "not found") rather
    than being read as a name."""
    if not isinstance(value, str):
        return False
    pattern = _PROCEDURE_CODE_LOOSE_RE if loose else PROCEDURE_CODE_RE
    return bool(pattern.match(value.strip()))


# Our dossier codes: "HS-XXXX-XXXX" in Crockford's base-32 alphabet (no I, L, O,
# U: nothing to confuse with 1, 0 or V); `dossiers.codes` makes and normalises them.
# For extraction from free text (the NLU uses it as a regex feature/entity
# pattern). Written with explicit character classes and no inline flags so
# it works case-insensitively in engines that do not honour re.IGNORECASE.
# The body accepts every letter except U, because typos O/I/L are normalised
# by `dossiers.codes.normalize_code`.
_BODY_CHAR = "[0-9A-TV-Za-tv-z]"
# Between the parts: nothing, spaces, or one dash-like mark (hyphen, en/em
# dash, minus sign, underscore, dot) with optional spaces around it, as typed
# on phones that turn "-" into "–" ("hs–7k3m–9qxp", "HS 7K3M 9QXP").
_SEP = rf"(?:[ \t]*[-{DASHES}_.][ \t]*|[ \t]+)?"
DOSSIER_CODE_REGEX = (
    rf"(?<![0-9A-Za-z])[Hh][Ss]{_SEP}{_BODY_CHAR}{{4}}{_SEP}{_BODY_CHAR}{{4}}(?![0-9A-Za-z])"
)
DOSSIER_CODE_PATTERN: re.Pattern[str] = re.compile(DOSSIER_CODE_REGEX)

# National one-stop-shop codes: 3-6 dot-separated groups of 2-3 letters/digits
# (the agency code, e.g. "000.00.10.H12"), then the receiving date (yymmdd) and
# a sequence number, separated by dashes (typed loosely: en dashes, spaces).
_DASH = rf"[ \t]*[-{DASHES}][ \t]*"
NATIONAL_CODE_REGEX = (
    r"(?<![0-9A-Za-z.])(?:[0-9A-Za-z]{2,3}[ \t]*\.[ \t]*){2,5}[0-9A-Za-z]{2,3}"
    rf"{_DASH}\d{{6}}{_DASH}\d{{3,6}}(?![0-9A-Za-z])"
)
NATIONAL_CODE_PATTERN: re.Pattern[str] = re.compile(NATIONAL_CODE_REGEX)


def without_codes(text: str, limit: int = 500) -> tuple[str, int]:
    """(the first `limit` characters of `text` with every national and "HS-"
    dossier code replaced by a space, how many codes were found): what a message
    says besides its codes, so that a code's own digits ("HS-1234-5678") are
    never read as anything else. National codes first: they may contain
    letters and digits an HS- pattern must not see."""
    rest, national = NATIONAL_CODE_PATTERN.subn(" ", text[:limit])
    rest, ours = DOSSIER_CODE_PATTERN.subn(" ", rest)
    return rest, national + ours

# --------------------------------------------------------------------------------------------
# Personal numbers and their masks
# --------------------------------------------------------------------------------------------

# ID card numbers as a digit run: 12 (citizen ID, CCCD) or 9 (old CMND).
ID_NUMBER_PATTERN: re.Pattern[str] = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
# Phone numbers: 0 or +84 (also "+ 84"), then 9 digits with optional single
# separators ("0912 345 678", "0912.345.678", "+84 912-345-678").
PHONE_PATTERN: re.Pattern[str] = re.compile(r"(?<![\d+])(?:\+\s?84|0)(?:[\s.-]?\d){9}(?!\d)")


def _only_digits(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""  # str(object()) holds a memory address: nothing to show
    return "".join(ch for ch in str(value) if ch.isdigit() and ch.isascii())


def mask_citizen_id(value: object) -> str:
    """ "001090012345" -> "********2345": the last 4 digits. Input with fewer
    than 8 digits (or not a str/int) reveals nothing: "********"."""
    digits = _only_digits(value)
    if len(digits) < 8:
        return "*" * 8
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_phone(value: object) -> str:
    """ "0912345567" -> "*******567": the last 3 digits. Input with fewer than
    7 digits (or not a str/int) reveals nothing: "*******"."""
    digits = _only_digits(value)
    if len(digits) < 7:
        return "*" * 7
    return "*" * (len(digits) - 3) + digits[-3:]


def mask_identifier(value: object) -> str:
    """Chat sender ids and recipients in the dossier store's logs: "…" and the
    last 4 characters ("123456789" -> "…6789"); "****" when 4 or fewer."""
    text = "" if value is None else str(value)
    return "…" + text[-4:] if len(text) > 4 else "****"


def mask_sender(value: object) -> str:
    """A channel-qualified id (chat id, Zalo user id, phone) in the channels'
    logs: the channel prefix and the last 3 characters, e.g.
    "telegram:123456789" -> "telegram:***789"; "***" for 3 or fewer."""
    text = str(value)
    prefix, sep, ident = text.rpartition(":")
    masked = "***" if len(ident) <= 3 else "***" + ident[-3:]
    return f"{prefix}{sep}{masked}"


def mask_numbers(text: str) -> str:
    """`text` with every phone-like and ID-like digit run masked in place
    (`mask_phone`, `mask_citizen_id`): for showing citizens' messages."""
    text = PHONE_PATTERN.sub(lambda m: mask_phone(m.group(0)), text)
    return ID_NUMBER_PATTERN.sub(lambda m: mask_citizen_id(m.group(0)), text)
