"""Form fields of a dossier, per procedure.

Which questions to ask for which procedure is DATA (`form_fields.yml`), so a
civil servant can add a procedure without touching code. The common applicant
fields (`COMMON_FIELDS`) are defined here because they map onto real columns
of the `dossiers` table; they are always asked first and never repeated in
the YAML.

`validate_field` is the single entry point the chat form uses: it turns the
citizen's raw answer into a typed value (str or `datetime.date`) or raises
`ValidationError` with the Vietnamese re-ask.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Extra, StrictBool, constr, root_validator, validator
from pydantic import ValidationError as PydanticError

from core.vietnamese import fold, is_procedure_code, mask_citizen_id, mask_phone, nfc
from core.wording import say
from dossiers import validation as v
from dossiers.validation import ValidationError

FORM_FIELDS_PATH = Path(__file__).with_name("form_fields.yml")
FIELD_TYPES: tuple[str, ...] = (
    "text",
    "name",
    "date",
    "citizen_id",
    "phone",
    "address",
    "choice",
)
_FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,48}$")
# Answers meaning "skip this optional question" (compared after folding diacritics).
SKIP_ANSWERS = frozenset(
    {
        "bo qua",
        "khong",
        "khong co",
        "khong ro",
        "khong biet",
        "chua co",
        "chua xac dinh",
        "skip",
        "-",
        "k",
        "ko",
    }
)


class FormDataError(ValueError):
    """`form_fields.yml` is malformed (raised at load time, names the spot)."""


@dataclass(frozen=True)
class FieldSpec:
    """One question of the dossier form."""

    name: str
    label: str
    prompt: str
    type: str
    required: bool = True
    choices: tuple[str, ...] = ()
    allow_future: bool = False
    # citizen_id: field with the same person's birth date (cross-check digits 4-6).
    date_of_birth_field: str | None = None
    # date: the answer must not be earlier than this field's date.
    not_before_field: str | None = None


COMMON_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="full_name",
        label="Họ và tên người nộp hồ sơ",
        prompt="Cho tôi xin họ và tên đầy đủ của bạn (người nộp hồ sơ)?",
        type="name",
    ),
    FieldSpec(
        name="date_of_birth",
        label="Ngày sinh",
        prompt="Bạn sinh ngày nào? (ví dụ 15/03/1990)",
        type="date",
    ),
    FieldSpec(
        name="citizen_id",
        label="Số căn cước công dân",
        prompt="Số căn cước công dân (số định danh cá nhân, 12 chữ số) của bạn là gì?",
        type="citizen_id",
        date_of_birth_field="date_of_birth",
    ),
    FieldSpec(
        name="phone",
        label="Số điện thoại",
        prompt="Số điện thoại di động để cơ quan liên hệ với bạn là gì?",
        type="phone",
    ),
    FieldSpec(
        name="address",
        label="Địa chỉ liên hệ",
        prompt="Địa chỉ nơi ở hiện tại của bạn là gì? (số nhà, đường, xã/phường, tỉnh/thành phố)",
        type="address",
    ),
)
COMMON_FIELD_NAMES: frozenset[str] = frozenset(spec.name for spec in COMMON_FIELDS)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


# mypy cannot read pydantic v1's constrained-type calls as annotations; it sees
# the plain types they constrain (pydantic's documented TYPE_CHECKING pattern).
if TYPE_CHECKING:
    _FieldName = str
    _Text = str
    _StrictStr = str
else:
    _FieldName = constr(strict=True, regex=_FIELD_NAME_RE.pattern)
    _Text = constr(strict=True, strip_whitespace=True, min_length=1)
    _StrictStr = constr(strict=True)


class _FieldModel(BaseModel):
    """One field entry of `form_fields.yml` as written (pydantic v1, shipped
    with Rasa): unknown keys refused, strict booleans, per-type rules. Rules
    that need the other fields (duplicates, references) are in `_parse_field`."""

    class Config:
        extra = Extra.forbid

    name: _FieldName
    label: _Text
    prompt: _Text
    type: _StrictStr
    choices: list[Any] | None = None
    required: StrictBool = True
    allow_future: StrictBool = False
    date_of_birth_field: str | None = None
    not_before_field: str | None = None

    @validator("type")
    def _known_type(cls, value: str) -> str:
        if value not in FIELD_TYPES:
            raise ValueError(f"must be one of {FIELD_TYPES}")
        return value

    @validator("choices")
    def _unique_choices(cls, value: list[Any] | None) -> list[str] | None:
        if value is None:
            return None
        # Numbers are choices too ("copies": [1, 2, 3]).
        choices = [str(choice).strip() for choice in value]
        if not choices or any(not c for c in choices) or len(set(choices)) != len(choices):
            raise ValueError("choices must be a non-empty list of non-empty, unique answers")
        return choices

    @root_validator(skip_on_failure=True)
    def _options_fit_the_type(cls, values: dict[str, Any]) -> dict[str, Any]:
        field_type = values["type"]
        if field_type == "choice" and not values.get("choices"):
            raise ValueError("a choice field needs a non-empty 'choices' list")
        if field_type != "choice" and values.get("choices") is not None:
            raise ValueError("'choices' is only for type choice")
        for key, applies_to in (
            ("date_of_birth_field", "citizen_id"),
            ("not_before_field", "date"),
            ("allow_future", "date"),
        ):
            if values.get(key) and field_type != applies_to:
                raise ValueError(f"'{key}' only applies to type {applies_to}")
        return values


def _parse_field(raw: object, where: str, known: dict[str, FieldSpec]) -> FieldSpec:
    if not isinstance(raw, dict):
        raise FormDataError(f"{where}: each field must be a mapping")
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    try:
        entry = _FieldModel.parse_obj(raw)
    except PydanticError as exc:
        problems = [
            e["msg"] if e["loc"] == ("__root__",)
            else f"'{'.'.join(map(str, e['loc']))}': "
            + ("unknown key" if e["type"] == "value_error.extra" else e["msg"])
            for e in exc.errors()
        ]
        raise FormDataError(f"{where}: {'; '.join(problems)}") from None
    if entry.name in COMMON_FIELD_NAMES:
        raise FormDataError(f"{where}: common applicant field, do not repeat it")
    if entry.name in known:
        raise FormDataError(f"{where}: duplicate field name")
    for key in ("date_of_birth_field", "not_before_field"):
        ref = getattr(entry, key)
        if ref is None:
            continue
        target = known.get(ref) or next((s for s in COMMON_FIELDS if s.name == ref), None)
        if target is None or target.type != "date":
            raise FormDataError(f"{where}: '{key}' must name an earlier date field")
    return FieldSpec(
        name=entry.name,
        label=entry.label,
        prompt=entry.prompt,
        type=entry.type,
        required=entry.required,
        choices=tuple(entry.choices or ()),
        allow_future=entry.allow_future,
        date_of_birth_field=entry.date_of_birth_field,
        not_before_field=entry.not_before_field,
    )


def _load(path: Path) -> tuple[dict[str, list[FieldSpec]], dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormDataError(f"{path}: cannot read form fields: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("procedures"), dict):
        raise FormDataError(f"{path}: expected a mapping with a 'procedures' mapping")
    fields: dict[str, list[FieldSpec]] = {}
    names: dict[str, str] = {}
    for code, entry in data["procedures"].items():
        # An unquoted 3.000330 would load as a float and lose its trailing zero.
        if not is_procedure_code(code, loose=True) or code != code.strip():
            raise FormDataError(f"{path}: procedure code {code!r} must be a quoted string")
        if not isinstance(entry, dict) or not isinstance(entry.get("fields"), list):
            raise FormDataError(f"{path}: {code}: expected 'fields' list")
        known: dict[str, FieldSpec] = {}
        for index, raw in enumerate(entry["fields"]):
            spec = _parse_field(raw, f"{path}: {code} field #{index + 1}", known)
            known[spec.name] = spec
        fields[code] = list(known.values())
        names[code] = str(entry.get("name") or "").strip()
    return fields, names


def load_form_fields(path: str | Path | None = None) -> dict[str, list[FieldSpec]]:
    """Procedure code -> its specific fields (common applicant fields excluded).

    Raises `FormDataError` naming the offending entry when the file is bad.
    """
    if path is None:
        return {code: list(specs) for code, specs in _default_data()[0].items()}
    return _load(Path(path))[0]


@lru_cache(maxsize=1)
def _default_data() -> tuple[dict[str, list[FieldSpec]], dict[str, str]]:
    return _load(FORM_FIELDS_PATH)


def form_procedures() -> dict[str, str]:
    """Procedure codes that have a specific form -> short Vietnamese name."""
    return dict(_default_data()[1])


def fields_for(code: str) -> list[FieldSpec]:
    """All fields to ask for `code`, in order: common applicant fields first,
    then the procedure's own. An unknown procedure gets the common fields."""
    specific = _default_data()[0].get(str(code).strip(), [])
    return [*COMMON_FIELDS, *specific]


def field_by_name(code: str, name: str) -> FieldSpec | None:
    return next((spec for spec in fields_for(code) if spec.name == name), None)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _context_date(context: Mapping[str, Any] | None, name: str | None) -> date | None:
    """A date already collected in the form; Rasa slots hold ISO strings."""
    if not context or not name:
        return None
    value = context.get(name)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _tokens(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", fold(text))


def _choices_text(choices: tuple[str, ...]) -> str:
    return "; ".join(f"{index}. {choice}" for index, choice in enumerate(choices, 1))


# Vietnamese number words (folded) -> value, for "hai bản", "một năm", "sáu tháng".
_NUMBER_WORDS: dict[str, int] = {
    "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6,
    "bay": 7, "tam": 8, "chin": 9, "muoi": 10, "muoi mot": 11, "muoi hai": 12,
    "muoi tam": 18, "hai muoi": 20, "hai muoi bon": 24, "hai tu": 24,
}
# Words meaning the same as a choice's words (folded, whole words). Applied to
# the answer before matching, so "con trai" finds "Nam" and "bố" finds "Cha".
CHOICE_SYNONYMS: dict[str, str] = {
    "trai": "nam", "be trai": "nam", "con trai": "nam", "dan ong": "nam",
    "gai": "nu", "be gai": "nu", "con gai": "nu", "phu nu": "nu",
    "bo": "cha", "ba ruot": "cha", "me ruot": "me", "ma": "me", "u": "me",
    "doc than": "chua tung ket hon", "chua ket hon": "chua tung ket hon",
    "chua lap gia dinh": "chua tung ket hon", "chua vo": "chua tung ket hon",
    "chua chong": "chua tung ket hon", "ly di": "da ly hon", "li di": "da ly hon",
    "li hon": "da ly hon", "goa": "vo chong da mat", "da co gia dinh": "dang co vo chong",
    "da ket hon": "dang co vo chong", "co vo": "dang co vo chong",
    "co chong": "dang co vo chong",
    "di hoc": "hoc tap", "sinh vien": "hoc tap", "hoc sinh": "hoc tap",
    "di lam": "lao dong lam viec", "cong nhan": "lao dong lam viec",
    "lam an": "lao dong lam viec",
    "lan dau": "cap lan dau", "lam moi": "cap lan dau",
    "mat": "bi mat", "danh mat": "bi mat", "that lac": "bi mat",
    "het han": "het han", "buu dien": "qua buu dien", "ship": "qua buu dien",
    "gui ve nha": "qua buu dien", "tai nha": "qua buu dien",
    "den lay": "truc tiep", "tu den lay": "truc tiep", "lay truc tiep": "truc tiep",
}
_DURATION_UNITS = {"ngay": 1 / 30, "tuan": 7 / 30, "thang": 1.0, "nam": 12.0}
_DURATION_RE = re.compile(
    r"(?:(\d+(?:[.,]\d+)?)|(nua|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi(?: mot| hai| tam)?))"
    r"\s*(ngay|tuan|thang|nam)(\s*(?:ruoi|\d+ thang))?"
)
_RANGE_BELOW_RE = re.compile(r"^(?:duoi|it hon|chua den) (\d+) (thang|nam)$")
_RANGE_ABOVE_RE = re.compile(
    r"^(?:tren|hon|tu) (\d+) (thang|nam) tro len$|^tren (\d+) (thang|nam)$"
)
_RANGE_BETWEEN_RE = re.compile(r"^tu (\d+) (?:thang |nam )?den (\d+) (thang|nam)$")


def _normalise_answer(folded: str, choices: tuple[str, ...]) -> str:
    """Folded answer with synonyms replaced by the choices' own words (only
    synonyms whose target words occur in one of `choices`)."""
    words = f" {folded} "
    labels = [f" {' '.join(_tokens(choice))} " for choice in choices]
    for phrase in sorted(CHOICE_SYNONYMS, key=len, reverse=True):
        target = f" {CHOICE_SYNONYMS[phrase]} "
        if f" {phrase} " in words and any(target in label for label in labels):
            words = words.replace(f" {phrase} ", f" {CHOICE_SYNONYMS[phrase]} ")
    return words.strip()


def parse_duration_months(text: str) -> float | None:
    """Duration in months out of a folded answer: "12 thang" -> 12, "1 nam" ->
    12, "nua nam" -> 6, "mot nam ruoi" -> 18, "2 tuan" -> 0.47; None when the
    answer names no duration (or names several)."""
    found = []
    for match in _DURATION_RE.finditer(text):
        digits, word, unit, extra = match.groups()
        if digits is not None:
            amount = float(digits.replace(",", "."))
        elif word == "nua":
            amount = 0.5
        else:
            amount = float(_NUMBER_WORDS.get(word, 0))
        months = amount * _DURATION_UNITS[unit]
        if extra and "ruoi" in extra:
            months += 0.5 * _DURATION_UNITS[unit]
        elif extra:
            months += float(re.findall(r"\d+", extra)[0])
        found.append(months)
    return found[0] if len(found) == 1 else None


def _choice_range(choice: str) -> tuple[float, float, bool] | None:
    """(low, high, low_inclusive) in months for labels like "Dưới 6 tháng",
    "Từ 6 đến 12 tháng", "Trên 24 tháng"; None for other labels."""
    folded = " ".join(_tokens(choice))
    scale = {"thang": 1.0, "nam": 12.0}
    if match := _RANGE_BELOW_RE.match(folded):
        return (0.0, float(match.group(1)) * scale[match.group(2)], True)
    if match := _RANGE_BETWEEN_RE.match(folded):
        unit = scale[match.group(3)]
        return (float(match.group(1)) * unit, float(match.group(2)) * unit, True)
    if match := _RANGE_ABOVE_RE.match(folded):
        number, word = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        return (float(number) * scale[word], float("inf"), False)
    return None


def _match_range(spec: FieldSpec, folded: str) -> str | None:
    """The range choice containing the duration the citizen named (the first
    one in order, so "12 tháng" is "Từ 6 đến 12 tháng", not "Từ 12 ...")."""
    ranges = [_choice_range(choice) for choice in spec.choices]
    if not any(ranges):
        return None
    months = parse_duration_months(folded)
    if months is None:
        return None
    for choice, bounds in zip(spec.choices, ranges, strict=True):
        if bounds is None:
            continue
        low, high, low_inclusive = bounds
        above_low = months >= low if low_inclusive else months > low
        below_high = months < high if choice_is_below(choice) else months <= high
        if above_low and below_high:
            return choice
    return None


def choice_is_below(choice: str) -> bool:
    """True for an open upper bound label ("Dưới 6 tháng": 6 is not in it)."""
    return bool(_RANGE_BELOW_RE.match(" ".join(_tokens(choice))))


def _numbers_as_digits(tokens: list[str]) -> list[str]:
    """["hai", "ban"] -> ["2", "ban"] (two-word numbers first)."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        pair = " ".join(tokens[index : index + 2])
        if index + 1 < len(tokens) and pair in _NUMBER_WORDS:
            out.append(str(_NUMBER_WORDS[pair]))
            index += 2
            continue
        word = tokens[index]
        out.append(str(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else word)
        index += 1
    return out


def match_choice(spec: FieldSpec, text: object) -> str:
    """Map an answer to one of `spec.choices` by what it means: exact
    (ignoring case and diacritics), by number ("2", "hai"), by a duration
    inside a range label ("12 tháng", "1 năm", "nửa năm" -> "Từ 6 đến 12
    tháng"), through synonyms ("con trai" -> "Nam", "bố" -> "Cha"), or by a
    unique word overlap ("phiếu 2", "hạng B2"). Raises `ValidationError`
    listing the choices when nothing fits or several do."""
    cleaned = v.clean_text(text, spec.label.lower(), max_chars=500)
    answer = _tokens(cleaned)
    choice_tokens = [_tokens(choice) for choice in spec.choices]
    numeric_choices = all(choice.isdigit() for choice in spec.choices)
    if answer:
        exact = [c for c, toks in zip(spec.choices, choice_tokens, strict=True) if toks == answer]
        if len(exact) == 1:
            return exact[0]
        ranged = _match_range(spec, " ".join(answer))
        if ranged is not None:
            return ranged
        if numeric_choices:
            answer = [t for t in _numbers_as_digits(answer) if t.isdigit()][:1] or answer
        else:
            answer = _normalise_answer(" ".join(answer), spec.choices).split()
            exact = [
                c for c, toks in zip(spec.choices, choice_tokens, strict=True) if toks == answer
            ]
            if len(exact) == 1:
                return exact[0]
        exact = [c for c, toks in zip(spec.choices, choice_tokens, strict=True) if toks == answer]
        if len(exact) == 1:
            return exact[0]
        if len(answer) == 1 and answer[0].isdigit() and not numeric_choices:
            index = int(answer[0])
            if 1 <= index <= len(spec.choices):
                return spec.choices[index - 1]
        answer_set = set(answer)
        narrower = [
            c
            for c, toks in zip(spec.choices, choice_tokens, strict=True)
            if answer_set <= set(toks)
        ]
        if len(narrower) == 1:
            return narrower[0]
        wider = [
            c
            for c, toks in zip(spec.choices, choice_tokens, strict=True)
            if set(toks) <= answer_set
        ]
        if len(wider) == 1:
            return wider[0]
        # Several words in common with exactly one choice ("gửi bưu điện").
        overlaps = [len(answer_set & set(toks)) for toks in choice_tokens]
        best = max(overlaps)
        if best >= 2 and overlaps.count(best) == 1:
            return spec.choices[overlaps.index(best)]
    raise ValidationError(say("form.unclear_choice", choices=_choices_text(spec.choices)))


def is_skip_answer(text: object) -> bool:
    if not isinstance(text, str) or len(text) > 100:
        return False
    try:
        cleaned = v.clean_text(text, say("form.answer_what"), max_chars=100)
    except ValidationError:
        return False
    return " ".join(_tokens(cleaned)) in SKIP_ANSWERS or cleaned.strip() == "-"


def validate_field(
    spec: FieldSpec, text: object, context: Mapping[str, Any] | None = None
) -> str | date | None:
    """Validate the answer `text` to `spec`.

    `context` holds values collected so far (name -> value, dates as `date`
    or ISO string), used for cross-field checks. Returns the normalised value:
    a `date` for date fields, a string otherwise, None for a skipped optional
    field. Raises `ValidationError` with the Vietnamese re-ask.
    """
    if is_skip_answer(text) or (isinstance(text, str) and not text.strip()):
        if spec.required:
            raise ValidationError(say("form.required", label=spec.label, prompt=spec.prompt))
        return None
    if spec.type == "name":
        return v.validate_full_name(text)
    if spec.type == "date":
        value = v.parse_date(text, allow_future=spec.allow_future)
        earliest = _context_date(context, spec.not_before_field)
        if earliest is not None and value < earliest:
            raise ValidationError(
                say(
                    "form.date_before",
                    label=spec.label,
                    value=f"{value:%d/%m/%Y}",
                    earliest=f"{earliest:%d/%m/%Y}",
                )
            )
        return value
    if spec.type == "citizen_id":
        return v.validate_citizen_id(text, _context_date(context, spec.date_of_birth_field))
    if spec.type == "phone":
        return v.validate_phone(text)
    if spec.type == "address":
        return v.validate_address(text)
    if spec.type == "choice":
        return match_choice(spec, text)
    return v.validate_text(text, what=spec.label.lower())


def serialize_value(value: object) -> object:
    """JSON/slot-friendly form of a validated value (dates as ISO strings)."""
    return value.isoformat() if isinstance(value, date) else value


def mask_value(field_type: str, value: object) -> object:
    """Mask a stored value by its field type, for screens and logs."""
    if value is None:
        return None
    if field_type == "citizen_id":
        return mask_citizen_id(value)
    if field_type == "phone":
        return mask_phone(value)
    if field_type == "address":
        return v.mask_address(value)
    if field_type == "name":
        return v.mask_name(value)
    if field_type == "date":
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return "**/**/****"
        return v.mask_date(value)
    return value


# ---------------------------------------------------------------------------
# What an answer means while a field is asked
# ---------------------------------------------------------------------------

# Whole messages that ask to stop the form (folded). "hủy" anywhere also counts,
# but only with its diacritics: a bare "huy" is also a common given name.
CANCEL_PHRASES = frozenset(
    {
        "huy", "huy bo", "huy ho so", "huy nop", "huy di", "dung", "dung lai", "thoi",
        "thoi khong nop nua", "khong nop nua", "khong lam nua", "thoi khong lam nua",
        "cancel", "stop", "thoat", "ket thuc",
    }
)
_CANCEL_WORD_RE = re.compile(r"(?<!\w)(?:hủy|huỷ)(?!\w)")
# "không hủy" anywhere in a short answer: the opposite of a cancel request.
_NEGATED_CANCEL = " khong huy "
# Folded phrases asking for a human officer.
HANDOFF_MARKERS = ("can bo", "nhan vien", "nguoi that", "tong dai", "ho tro truc tiep")
# Folded phrases that make a message a question rather than an answer.
QUESTION_MARKERS = (
    "bao lau", "bao nhieu", "the nao", "nhu nao", "lam sao", "khi nao", "luc nao",
    "may gio", "o dau", "cho nao", "tai sao", "vi sao", "can gi", "giay to gi",
    "phai lam gi", "co duoc khong", "duoc khong", "co can", "co phai", "la gi",
    "gio lam viec",
)
# Anything with "không hủy" in it keeps the form too (`_NEGATED_CANCEL`).
CONTINUE_ANSWERS = frozenset(
    {
        "tiep tuc", "tiep", "tiep tuc nhap", "quay lai", "lam tiep",
        # "không" to "Bạn có chắc muốn hủy hồ sơ này không?" keeps the form.
        "khong", "khong dau",
    }
)
# Folded yes-words every yes/no question of the form accepts; each question adds its own
# (the summary: "xác nhận", "nộp"; the cancel question: "có hủy", "hủy luôn"...).
YES_ANSWERS = frozenset({"co", "dong y", "ok", "oke", "yes", "dung", "dung roi"})
# Folded answers saying yes to the cancel question: the form is cancelled.
CANCEL_CONFIRM_ANSWERS = YES_ANSWERS | {
    "co huy", "co a", "da co", "okay", "u", "uh", "um", "vang", "da", "chac chan", "chac",
    "dung vay", "huy luon",
}


def _folded_words(text: str) -> str:
    return " ".join(_tokens(text))


def is_cancel_request(text: object) -> bool:
    """An explicit request to stop the form: "hủy", "hủy hồ sơ", "thôi không
    nộp nữa", "dừng lại", "/cancel". A name like "Nguyễn Quang Huy" is not."""
    if not isinstance(text, str) or len(text) > 200:
        return False
    stripped = text.strip()
    if stripped.startswith("/cancel"):
        return True
    if _NEGATED_CANCEL in f" {_folded_words(stripped)} ":
        return False  # "thôi không hủy nữa" keeps the form
    lowered = nfc(stripped.lower())
    if _CANCEL_WORD_RE.search(lowered):
        return True
    return _folded_words(stripped) in CANCEL_PHRASES


def is_continue_answer(text: object) -> bool:
    """"tiếp tục", "không hủy", "thôi không hủy nữa": the citizen keeps the
    form after being asked whether to cancel it."""
    if not isinstance(text, str) or len(text) >= 60:
        return False
    words = _folded_words(text)
    return words in CONTINUE_ANSWERS or _NEGATED_CANCEL in f" {words} "


def is_cancel_confirmation(text: object) -> bool:
    """"có", "đồng ý", "chắc chắn": yes to "do you really want to cancel the
    dossier?" (only meaningful while that question waits for its answer)."""
    return (
        isinstance(text, str)
        and len(text) < 60
        and _folded_words(text) in CANCEL_CONFIRM_ANSWERS
    )


def looks_like_question(text: object) -> bool:
    """A message that asks something ("?", "bao lâu", "ở đâu", "giờ làm việc")."""
    if not isinstance(text, str):
        return False
    if "?" in text:
        return True
    folded = f" {_folded_words(text[:500])} "
    return any(f" {marker} " in folded for marker in QUESTION_MARKERS)


def asks_for_officer(text: object) -> bool:
    """A message naming a human officer ("gặp cán bộ", "cho tôi nói với nhân viên")."""
    if not isinstance(text, str):
        return False
    folded = f" {_folded_words(text[:500])} "
    return any(f" {marker} " in folded for marker in HANDOFF_MARKERS)


def answers_field(
    spec: FieldSpec, text: object, context: Mapping[str, Any] | None = None
) -> bool:
    """True when `text` is an answer to `spec`: it validates (a skipped
    optional field included), or it is a skip word on a required field (which
    must be re-asked, never read as "cancel"). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return False
    if is_skip_answer(text):
        return True
    try:
        validate_field(spec, text, context)
    except ValidationError:
        return False
    except Exception:  # hostile input must not break the reading of a message
        return False
    return True
