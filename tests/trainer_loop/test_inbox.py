"""Misunderstood inbox: fed from a Rasa-shaped tracker store, grouped, decided;
personal data scrubbed before anything is stored; ignoring is permanent;
labelled items become an NLU file that never holds an evaluation text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from catalog.orm import ProcedureRow
from catalog.overrides import load_overrides
from core.vietnamese import fold
from tests.conftest import DATABASE_KINDS, isolated_database
from tests.trainer_loop.tracker import FakeTracker
from training import inbox
from training.aliases import AliasError, add_alias
from training.export import evaluation_keys, export_examples, overlap_key
from training.orm import InboxItem
from training.scrub import scrub

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Personal details of one imaginary citizen; none may survive into stored data.
PII = {
    "id": "001099012345",
    "id_grouped": "079 203 004 567",
    "old_id": "272814455",
    "phone": "0912345678",
    "phone_intl": "+84 987 654 321",
    "name": "Nguyễn Văn Bình",
    "name_lower": "tran thi hoa",
    "street": "số 12 ngõ 34 đường Láng",
    "email": "binh.nguyen@example.vn",
    "birthday": "12/03/1990",
}
PII_MESSAGES = [
    f"tên tôi là {PII['name']}, cccd {PII['id']} bị mất thì làm lại sao",
    f"cmnd cũ {PII['old_id']} và căn cước {PII['id_grouped']} có dùng được không",
    f"sđt của em {PII['phone']} hoặc {PII['phone_intl']} gọi lại giúp",
    f"toi la {PII['name_lower']} o {PII['street']} muon lam so do",
    f"gửi vào {PII['email']} nhé, ngày sinh {PII['birthday']}",
    f"địa chỉ: 15 Lê Lợi, mẹ tôi {PII['name']} mất giấy khai sinh",
]


def _pii_fragments() -> list[str]:
    parts = []
    for value in PII.values():
        parts.append(value)
        parts.extend(word for word in value.split() if len(word) >= 4 and word.isdigit())
    parts += ["Bình", "hoa", "Láng", "binh.nguyen", "Lê Lợi", "12/03"]
    return parts


def _contains(text: str, fragment: str) -> bool:
    """`fragment` occurs in `text` as whole words (case-insensitive), folded or not."""
    pattern = rf"(?<!\w){re.escape(fragment.lower())}(?!\w)"
    return bool(
        re.search(pattern, text.lower())
        or re.search(rf"(?<!\w){re.escape(fold(fragment))}(?!\w)", fold(text))
    )


@pytest.mark.parametrize("message", PII_MESSAGES)
def test_scrub_removes_every_personal_detail(message: str) -> None:
    scrubbed = scrub(message)
    for fragment in _pii_fragments():
        assert not _contains(scrubbed, fragment), (fragment, scrubbed)
    assert scrub(scrubbed) == scrubbed  # idempotent


def test_scrub_keeps_ordinary_questions() -> None:
    for text in (
        "làm căn cước ở đâu",
        "tôi là người nước ngoài muốn kết hôn",
        "đổi bằng lái xe hết hạn cần giấy tờ gì",
        "ra phường làm được không",
        "lệ phí cấp lại sổ đỏ bao nhiêu",
    ):
        assert scrub(text) == text


def _add_procedures(factory) -> None:  # type: ignore[no-untyped-def]
    with factory.begin() as db:
        db.add(ProcedureRow(code="1.001193", name="Thủ tục đăng ký khai sinh"))
        db.add(ProcedureRow(code="1.014061", name="Cấp thẻ căn cước cho người từ đủ 14 tuổi"))


def _conversations(tracker: FakeTracker) -> None:
    # understood well: not in the inbox
    tracker.user(
        "ok",
        "lệ phí làm căn cước bao nhiêu",
        "ask_fee",
        0.97,
        procedure="1.014061",
        candidates=[("1.014061", 95.0)],
    )
    # fallback, the same question with and without diacritics, and with punctuation
    tracker.user("a", "sổ hồng mất thì sao", "nlu_fallback", 0.31)
    tracker.action("a", "action_handle_fallback")
    tracker.user("b", "so hong mat thi sao?", "nlu_fallback", 0.28)
    tracker.user("c", "Sổ hồng mất thì sao!!", "inform", 0.42)
    # low procedure score
    tracker.user(
        "d",
        "giấy tờ nhà bị cháy hết",
        "inform",
        0.9,
        candidates=[("1.001193", 31.0), ("1.014061", 20.0)],
    )
    # choices offered, citizen typed something naming none
    tracker.bot(
        "e",
        "Bạn hỏi thủ tục nào?",
        [
            ("Đăng ký khai sinh", '/inform{"procedure":"1.001193"}'),
            ("Cấp căn cước", '/inform{"procedure":"1.014061"}'),
        ],
    )
    tracker.user("e", "không phải, tôi hỏi chuyện nhập khẩu cho vợ", "inform", 0.88)
    # hand-off after an answer that did not help: the message before is flagged
    tracker.user(
        "f",
        "con tôi sinh ở nước ngoài về đăng ký thế nào",
        "ask_procedure",
        0.93,
        procedure="1.001193",
        candidates=[("1.001193", 70.0)],
    )
    tracker.user("f", "/human_handoff", "human_handoff", 1.0)
    tracker.action("f", "action_human_handoff")
    # bad rating after an answer
    tracker.user(
        "g",
        "khai sinh muộn có bị phạt không",
        "ask_fee",
        0.91,
        procedure="1.001193",
        candidates=[("1.001193", 88.0)],
    )
    tracker.user(
        "g", '/rate{"rating":"1"}', "rate", 1.0, entities=[{"entity": "rating", "value": "1"}]
    )
    # personal data everywhere
    for index, text in enumerate(PII_MESSAGES):
        tracker.user(f"p{index}", text, "nlu_fallback", 0.2)


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_collect_groups_reasons_and_scrubs(kind: str, tmp_path: Path) -> None:
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    _conversations(tracker)
    with isolated_database(kind, tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            stats = inbox.collect(db, tracker.engine)
        assert stats.events > 0
        with factory.begin() as db:
            items = {i.key: i for i in db.execute(select(InboxItem)).scalars()}
            again = inbox.collect(db, tracker.engine)  # nothing new: idempotent
        assert again.occurrences == 0
        # three spellings of one question: one group seen three times
        group = items["so hong mat thi sao"]
        assert group.count == 3
        assert set(group.reasons) == {"fallback", "low_confidence"}
        assert "lệ phí làm căn cước bao nhiêu" not in {i.text for i in items.values()}
        reasons = {i.text: set(i.reasons) for i in items.values()}
        assert "low_procedure_score" in reasons["giấy tờ nhà bị cháy hết"]
        assert "choice_not_picked" in reasons["không phải, tôi hỏi chuyện nhập khẩu cho vợ"]
        assert reasons["con tôi sinh ở nước ngoài về đăng ký thế nào"] == {"handoff"}
        assert reasons["khai sinh muộn có bị phạt không"] == {"bad_rating"}
        assert not any(text.startswith("/") for text in reasons)
        # personal data: nothing stored in any column of any item
        with factory.begin() as db:
            stored = " ".join(
                f"{i.key} {i.text} {i.predicted_intent}"
                for i in db.execute(select(InboxItem)).scalars()
            ).lower()
        for fragment in _pii_fragments():
            assert not _contains(stored, fragment), fragment
        # the test's new tracker events arrive later: only those are read
        tracker.user("h", "sổ hồng mất thì sao", "nlu_fallback", 0.3)
        with factory.begin() as db:
            inbox.collect(db, tracker.engine)
            assert (
                db.execute(
                    select(InboxItem.count).where(InboxItem.key == "so hong mat thi sao")
                ).scalar_one()
                == 4
            )
    tracker.close()


def test_ignore_is_permanent_and_labels_export(tmp_path: Path) -> None:
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    _conversations(tracker)
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        _add_procedures(factory)
        with factory.begin() as db:
            inbox.collect(db, tracker.engine)
            ids = {i.key: i.id for i in db.execute(select(InboxItem)).scalars()}
            ignored = ids["so hong mat thi sao"]
            inbox.ignore(db, ignored, "trainer1")
            inbox.label(
                db, ids["khai sinh muon co bi phat khong"], "ask_fee", "1.001193", "trainer1"
            )
            inbox.label(
                db,
                ids[next(k for k in ids if k.startswith("ten toi la"))],
                "ask_procedure",
                "1.014061",
                "trainer1",
            )
            with pytest.raises(inbox.InboxError):
                inbox.label(db, ignored, "ask_fee", None, "trainer1")
            with pytest.raises(inbox.InboxError):
                inbox.label(db, ids["giay to nha bi chay het"], "no_such_intent", None, "t")
            with pytest.raises(inbox.InboxError):
                inbox.label(db, ids["giay to nha bi chay het"], "inform", "9.999999", "t")
        # the same question keeps coming: the ignored item stays ignored, count grows
        for sender in ("x1", "x2"):
            tracker.user(sender, "SỔ HỒNG mất thì sao ạ", "nlu_fallback", 0.2)
        with factory.begin() as db:
            inbox.collect(db, tracker.engine)
            item = db.get(InboxItem, ignored)
            assert item.status == "ignored" and item.count == 5
            new, _ = inbox.list_items(db, status="new")
            assert ignored not in {i.id for i in new}
        # export: deterministic, project format, no evaluation text, no personal data
        target = tmp_path / "nlu" / "from_console.yml"
        held_out = {overlap_key("khai sinh muộn có bị phạt không")}
        with factory.begin() as db:
            first = export_examples(db, target, excluded_keys=held_out)
            assert first.changed and first.excluded == ["khai sinh muộn có bị phạt không"]
            second = export_examples(db, target, excluded_keys=held_out)
            assert not second.changed
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        assert data["version"] == "3.1"
        assert [block["intent"] for block in data["nlu"]] == ["ask_procedure"]
        text = target.read_text(encoding="utf-8")
        for fragment in _pii_fragments():
            assert not _contains(text, fragment), fragment
        assert "[" not in text.split("nlu:")[1]
    tracker.close()


def test_real_evaluation_sets_are_read() -> None:
    keys = evaluation_keys()
    test_set = yaml.safe_load((PROJECT_ROOT / "tests/nlu/test_set.yml").read_text("utf-8"))
    assert overlap_key(test_set["examples"][0]["text"]) in keys


def test_add_alias_edits_only_one_procedure(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yml"
    original = (PROJECT_ROOT / "catalog" / "overrides.yml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    before = load_overrides(path)
    assert add_alias("1.001193", "khai sinh cho bé mới đẻ", path)
    assert not add_alias("1.001193", "KHAI SINH cho be moi de", path)  # same, folded
    assert add_alias("1.999998", "thủ tục mới tinh", path)  # a code without an entry
    after = load_overrides(path)
    assert "khai sinh cho bé mới đẻ" in after.procedures["1.001193"].aliases
    assert after.procedures["1.999998"].aliases == ("thủ tục mới tinh",) or list(
        after.procedures["1.999998"].aliases
    ) == ["thủ tục mới tinh"]
    for code, entry in before.procedures.items():
        if code != "1.001193":
            assert after.procedures[code] == entry
    changed = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line not in original.splitlines()
    ]
    assert len(changed) <= 4, changed
    with pytest.raises(AliasError):
        add_alias("1.001193", "sđt 0912345678", path)
    with pytest.raises(AliasError):
        add_alias("1.00119", "khai sinh", path)
