"""Applicants' answers to the dossier form, as citizens type them: one per
procedure the end-to-end tests and the load benchmark file. Plain data (no
pytest), so benchmarks/conversation_load.py drives the same conversation."""

from __future__ import annotations

# Đăng ký tạm trú (1.004194).
TEMPORARY_RESIDENCE = {
    "full_name": "Lê Văn Hùng",
    "date_of_birth": "2/9/1985",
    "citizen_id": "079085012345",
    "phone": "0987654321",
    "address": "12 Nguyễn Huệ, phường Sài Gòn, TP Hồ Chí Minh",
    "temporary_address": "45 Lý Thường Kiệt, phường Cửa Nam, Hà Nội",
    "stay_duration": "Từ 6 đến 12 tháng",
    "stay_reason": "Lao động/làm việc",
    "landlord_name": "Phạm Thị Mai",
}

# Đăng ký khai sinh: every slot the birth-registration form may ask.
BIRTH_REGISTRATION = {
    "full_name": "Nguyễn Thị Lan",
    "date_of_birth": "15/3/1990",
    "citizen_id": "001190012345",
    "phone": "0912345678",
    "address": "Số 12 ngõ 34 phố Huế, phường Hai Bà Trưng, Hà Nội",
    "child_name": "Trần Minh An",
    "child_date_of_birth": "05/01/2025",
    "child_sex": "Nam",
    "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội",
    "father_name": "Trần Văn Bình",
    "mother_name": "Nguyễn Thị Lan",
    "relationship_to_child": "Mẹ",
}
