"""Plain data classes for one administrative procedure (thủ tục hành chính).

These are the shapes every layer shares: the parser produces them, the
repository stores and loads them, the search index and the chat answers read
them. They know nothing of SQLAlchemy or Rasa.

`Procedure.to_dict()` is the public JSON contract of `tthc catalog show --json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field  # `field` is a Procedure attribute
from datetime import date
from typing import Any

# The three submission channels the portal lists in "Cách thức thực hiện".
CHANNEL_IN_PERSON = "Trực tiếp"
CHANNEL_ONLINE = "Trực tuyến"
CHANNEL_POST = "Dịch vụ bưu chính"
CHANNELS: tuple[str, ...] = (CHANNEL_IN_PERSON, CHANNEL_ONLINE, CHANNEL_POST)


@dataclass(frozen=True)
class ProcessingTime:
    """How long the office takes, as the portal states it.

    `unit` is None when the portal gives a bare number (civil-status records
    do): we never guess a unit the source does not state.
    """

    value: float | None
    unit: str | None
    text: str


@dataclass(frozen=True)
class Fee:
    """A fee cell. `amount_vnd` is set only when the cell states an amount in
    VND; `text` always holds the full cell including the explanatory note, which
    is where the real fee often is ("Miễn phí" cells whose note says 135.000 đ).
    """

    amount_vnd: int | None
    text: str
    note: str = ""


@dataclass(frozen=True)
class FeeRule:
    """One dated fee rule read from a fee cell and its note (see `catalog.fees`).

    `amount_vnd` is what is charged while the rule applies; for a reduction
    ("bằng 50% mức thu") `percent` is the share of the base fee charged and
    `amount_vnd` the computed amount (None when the base is unknown).
    `valid_from`/`valid_until` are inclusive dates, None = open. `online_only`
    is True when the note limits the rule to online submission. `source` is
    the normalised number of the document the note cites for the rule
    ("64/2025/TT-BTC"), `text` the sentence of the note it was read from.
    `kind`: "base" (the cell's or note's standard fee), "window" (a fixed
    amount for a period) or "reduction" (a percentage for a period).
    """

    kind: str
    amount_vnd: int | None
    valid_from: date | None = None
    valid_until: date | None = None
    percent: int | None = None
    online_only: bool = False
    source: str | None = None
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: dates as ISO strings."""
        data = asdict(self)
        for key in ("valid_from", "valid_until"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class SubmissionMethod:
    channel: str
    processing_time: ProcessingTime
    fee: Fee
    description: str = ""
    fee_rules: tuple[FeeRule, ...] = ()


# What a "Thành phần hồ sơ" row is to the citizen (see `catalog.parser.document_kind`).
KIND_DECLARATION = "declaration"  # the application / declaration form to fill in
KIND_SUBMIT = "submit"  # a document to submit that most applicants need
KIND_CONDITIONAL = "conditional"  # a document to submit only in a stated case
KIND_PRESENT = "present"  # a document to show (xuất trình), not to hand in
KIND_NOTE = "note"  # an explanation, heading or "Lưu ý": never a document
DOCUMENT_KINDS: tuple[str, ...] = (
    KIND_DECLARATION,
    KIND_SUBMIT,
    KIND_CONDITIONAL,
    KIND_PRESENT,
    KIND_NOTE,
)


@dataclass(frozen=True)
class Document:
    """One row of "Thành phần hồ sơ". `case` is the portal's group label
    ("* Giấy tờ phải nộp:", "Trường hợp 1: ..."), `kind` one of DOCUMENT_KINDS."""

    name: str
    originals: int
    copies: int
    form: str | None = None
    case: str | None = None
    kind: str = KIND_SUBMIT


@dataclass(frozen=True)
class LegalDocument:
    """One row of "Căn cứ pháp lý". `number` is the normalised number, like
    "123/2015/NĐ-CP" with no "Luật số"/"Nghị định số" prefix (None when the row
    names a document without a number); `doc_type` is the type the row states
    or implies ("Luật", "Nghị định", "Thông tư" ...; "" when unknown)."""

    number: str | None
    title: str
    doc_type: str = ""


@dataclass
class Procedure:
    code: str
    name: str
    field: str = ""
    implementing_level: str = ""
    agencies: list[str] = dataclass_field(default_factory=list)
    competent_authority: str = ""
    url: str = ""
    decision: str = ""
    procedure_type: str = ""
    subjects: str = ""
    steps: str = ""
    requirements: str = ""
    result: str = ""
    source_agency: str = ""
    methods: list[SubmissionMethod] = dataclass_field(default_factory=list)
    documents: list[Document] = dataclass_field(default_factory=list)
    legal_basis: list[LegalDocument] = dataclass_field(default_factory=list)

    @property
    def online(self) -> bool:
        """True when the portal lists online submission (Trực tuyến)."""
        return any(m.channel == CHANNEL_ONLINE for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """The `tthc catalog show --json` contract."""
        return {
            "code": self.code,
            "name": self.name,
            "field": self.field,
            "implementing_level": self.implementing_level,
            "agencies": list(self.agencies),
            "competent_authority": self.competent_authority,
            "url": self.url,
            "decision": self.decision,
            "procedure_type": self.procedure_type,
            "subjects": self.subjects,
            "steps": self.steps,
            "requirements": self.requirements,
            "result": self.result,
            "online": self.online,
            "methods": [
                {
                    "channel": m.channel,
                    "processing_time": asdict(m.processing_time),
                    "fee": asdict(m.fee),
                    "description": m.description,
                    "fee_rules": [rule.to_dict() for rule in m.fee_rules],
                }
                for m in self.methods
            ],
            "documents": [asdict(d) for d in self.documents],
            "legal_basis": [asdict(lb) for lb in self.legal_basis],
        }
