"""Form field data and per-field validation."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from dossiers import forms
from dossiers.forms import (
    COMMON_FIELDS,
    FIELD_TYPES,
    FieldSpec,
    FormDataError,
    fields_for,
    load_form_fields,
    validate_field,
)
from dossiers.validation import ValidationError

REQUIRED_CODES = [
    "1.001193",  # khai sinh
    "1.000894",  # kết hôn
    "1.000656",  # khai tử
    "1.004873",  # xác nhận tình trạng hôn nhân
    "3.000333",  # lý lịch tư pháp
    "1.004222",  # thường trú
    "1.004194",  # tạm trú
    "1.014061",  # thẻ căn cước
    "1.001456",  # hộ chiếu
    "3.000347",  # đổi GPLX
    "1.001612",  # hộ kinh doanh
]
VIETNAMESE = re.compile(
    r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE
)


def test_all_required_procedures_have_fields() -> None:
    data = load_form_fields()
    for code in REQUIRED_CODES:
        assert data.get(code), code
        assert forms.form_procedures()[code]


@pytest.mark.parametrize("code", REQUIRED_CODES)
def test_field_specs_are_well_formed(code: str) -> None:
    specs = load_form_fields()[code]
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert re.fullmatch(r"[a-z][a-z0-9_]+", spec.name)
        assert spec.name not in forms.COMMON_FIELD_NAMES
        assert spec.type in FIELD_TYPES
        assert VIETNAMESE.search(spec.label) and VIETNAMESE.search(spec.prompt), spec
        assert "?" in spec.prompt  # it is asked as a question
        assert bool(spec.choices) == (spec.type == "choice")


def test_birth_registration_fields() -> None:
    names = [spec.name for spec in load_form_fields()["1.001193"]]
    for expected in (
        "child_name",
        "child_date_of_birth",
        "child_place_of_birth",
        "father_name",
        "mother_name",
    ):
        assert expected in names


def test_fields_for_puts_common_fields_first() -> None:
    specs = fields_for("1.001193")
    assert [s.name for s in specs[:5]] == [
        "full_name",
        "date_of_birth",
        "citizen_id",
        "phone",
        "address",
    ]
    assert specs[5:] == load_form_fields()["1.001193"]
    assert fields_for("9.999999") == list(COMMON_FIELDS)
    assert forms.field_by_name("1.001193", "mother_name").type == "name"
    assert forms.field_by_name("1.001193", "nope") is None


def test_load_returns_copies() -> None:
    load_form_fields()["1.001193"].clear()
    assert load_form_fields()["1.001193"]


def _spec(name: str, code: str = "1.001193") -> FieldSpec:
    spec = forms.field_by_name(code, name)
    assert spec is not None
    return spec


def test_validate_field_dispatch() -> None:
    assert validate_field(_spec("full_name"), "nguyễn văn an") == "Nguyễn Văn An"
    assert validate_field(_spec("date_of_birth"), "15/3/1990") == date(1990, 3, 15)
    assert validate_field(_spec("phone"), "+84 912 345 678") == "0912345678"
    assert validate_field(_spec("address"), "Số 1 Tràng Tiền, Hà Nội") == "Số 1 Tràng Tiền, Hà Nội"
    assert validate_field(_spec("business_name", "1.001612"), " Quán   Cơm Bình Dân ") == (
        "Quán Cơm Bình Dân"
    )
    assert validate_field(_spec("child_sex"), "nu") == "Nữ"


def test_citizen_id_cross_checks_birth_date_from_context() -> None:
    spec = _spec("citizen_id")
    assert validate_field(spec, "001090012345", {"date_of_birth": date(1990, 3, 15)})
    assert validate_field(spec, "001090012345", {"date_of_birth": "1990-03-15"})  # slot form
    with pytest.raises(ValidationError, match="5 và 6"):
        validate_field(spec, "001091012345", {"date_of_birth": "1990-03-15"})
    spouse = _spec("spouse_citizen_id", "1.000894")
    with pytest.raises(ValidationError, match="5 và 6"):
        validate_field(
            spouse,
            "001091012345",
            {"spouse_date_of_birth": "1990-01-01", "date_of_birth": "1991-01-01"},
        )


def test_not_before_field() -> None:
    spec = _spec("date_of_death", "1.000656")
    context = {"deceased_date_of_birth": "1950-05-05"}
    assert validate_field(spec, "1/1/2020", context) == date(2020, 1, 1)
    with pytest.raises(ValidationError, match="không thể sớm hơn"):
        validate_field(spec, "1/1/1940", context)
    assert validate_field(spec, "1/1/1940", {"deceased_date_of_birth": None})


def test_allow_future_for_expiry_dates() -> None:
    spec = _spec("licence_expiry_date", "3.000347")
    assert validate_field(spec, "1/1/2099") == date(2099, 1, 1)
    with pytest.raises(ValidationError, match="tương lai"):
        validate_field(_spec("date_of_birth"), "1/1/2099")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Phiếu số 2", "Phiếu số 2"),
        ("phieu so 2", "Phiếu số 2"),
        ("2", "Phiếu số 2"),
        ("số 1", "Phiếu số 1"),
        ("tôi cần phiếu số 1 ạ", "Phiếu số 1"),
    ],
)
def test_choice_matching(answer: str, expected: str) -> None:
    assert validate_field(_spec("record_type", "3.000333"), answer) == expected


def test_choice_matching_licence_classes_and_numbers() -> None:
    licence = _spec("licence_class", "3.000347")
    assert validate_field(licence, "b2") == "B2"
    assert validate_field(licence, "hạng B2") == "B2"
    assert validate_field(licence, "B") == "B"
    copies = _spec("copies", "3.000333")
    assert validate_field(copies, "3") == "3"
    assert validate_field(copies, "2 bản") == "2"


@pytest.mark.parametrize("answer", ["phiếu", "9", "không biết nữa", "😀", None, "x" * 10_000])
def test_choice_rejects_unclear_answers(answer: object) -> None:
    with pytest.raises(ValidationError) as info:
        validate_field(_spec("record_type", "3.000333"), answer)
    assert "1. Phiếu số 1" in info.value.message_vi or answer is None or len(str(answer)) > 500


@pytest.mark.parametrize("answer", ["bỏ qua", "Bo qua", "không có", "không", "-", "  "])
def test_optional_field_can_be_skipped(answer: str) -> None:
    assert validate_field(_spec("father_name"), answer) is None


@pytest.mark.parametrize("answer", ["bỏ qua", "không", "", None])
def test_required_field_cannot_be_skipped(answer: object) -> None:
    with pytest.raises(ValidationError):
        validate_field(_spec("mother_name"), answer)


def test_required_skip_message_names_the_field() -> None:
    with pytest.raises(ValidationError, match="Họ và tên mẹ"):
        validate_field(_spec("mother_name"), "bỏ qua")


def test_serialize_and_mask_values() -> None:
    assert forms.serialize_value(date(2020, 1, 2)) == "2020-01-02"
    assert forms.serialize_value("x") == "x"
    assert forms.mask_value("citizen_id", "001090012345") == "********2345"
    assert forms.mask_value("date", "2020-01-02") == "**/**/2020"
    assert forms.mask_value("name", "Nguyễn Văn An") == "N. V. A."
    assert forms.mask_value("choice", "Nam") == "Nam"


BAD_FILES = {
    "not a mapping": "- a\n- b\n",
    "unquoted code": "procedures:\n  1.001193:\n    fields: []\n",
    "unknown type": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: number}\n"
    ),
    "choice without choices": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: choice}\n"
    ),
    "duplicate": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: text}\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: text}\n"
    ),
    "repeats common": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: phone, label: Tên, prompt: Hỏi?, type: phone}\n"
    ),
    "bad name": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: ChildName, label: Tên, prompt: Hỏi?, type: text}\n"
    ),
    "unknown key": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: text, requird: false}\n"
    ),
    "dangling reference": (
        "procedures:\n  '1.000001':\n    fields:\n"
        "      - {name: x_y, label: Tên, prompt: Hỏi?, type: citizen_id,"
        " date_of_birth_field: nowhere}\n"
    ),
    "bad yaml": "procedures: [\n",
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_form_files_fail_clearly(tmp_path: Path, content: str) -> None:
    path = tmp_path / "fields.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FormDataError):
        load_form_fields(path)


def test_missing_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FormDataError):
        load_form_fields(tmp_path / "missing.yml")
