"""Maintainers' loop in the console (issue 12): misunderstood inbox, training
data change set, training jobs, model bank (compare, activate, roll back).

A web layer over `training.*`: every decision is audited in the same unit of
work (`training.label`, `training.ignore`, `training.alias`, `training.export`,
`training.job`, `model.activate`, `model.rollback`). Trainers never see
personal data: inbox texts are stored scrubbed and context lines are scrubbed
again before display.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import audit
from console.catalog_names import procedure_name
from console.web import NavItem, client_ip, db_session, form_value, redirect_to, render, requires
from training import bank, inbox, jobs
from training.aliases import AliasError, add_alias
from training.export import change_set, export_examples
from training.orm import InboxItem, ModelVersion, TrainingJob
from training.scrub import scrub
from training.settings import TrainingSettings

log = logging.getLogger(__name__)

bp = Blueprint("training", url_prefix="/training")
NAV = [NavItem("Huấn luyện", "/training", "training.manage", order=60)]
PAGE_SIZE = 50
STATUS_LABELS_VI = {
    "new": "Chưa xử lý",
    "labelled": "Đã gán nhãn",
    "ignored": "Bỏ qua",
    "aliased": "Đã thêm tên gọi",
}


def _settings(request: Request) -> TrainingSettings:
    settings = getattr(request.app.ctx, "training_settings", None)
    if settings is None:
        settings = request.app.ctx.training_settings = TrainingSettings.from_env()
    return settings


def _collect(request: Request) -> inbox.CollectStats | None:
    """Bring the inbox up to date from the tracker store (cheap: new events only)."""
    tracker = getattr(request.app.ctx, "tracker", None)
    if tracker is None or not tracker.available():
        return None
    with db_session(request) as db:
        return inbox.collect(db, tracker.engine, inbox.InboxSettings.from_env())


def _int_arg(request: Request, name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name) or default))
    except ValueError:
        return default


@bp.get("/")
@requires("training.manage")
async def inbox_page(request: Request) -> HTTPResponse:
    _collect(request)
    status = request.args.get("status", "new")
    status = status if status in STATUS_LABELS_VI or status == "" else "new"
    reason = request.args.get("reason", "")
    reason = reason if reason in inbox.REASONS else ""
    q = (request.args.get("q") or "")[:200]
    page = _int_arg(request, "page")
    with db_session(request) as db:
        items, total = inbox.list_items(
            db,
            status=status,
            reason=reason,
            q=q,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        counts = inbox.counts_by_status(db)
        rows = [
            {
                "item": item,
                "procedure_name": procedure_name(db, item.procedure or item.predicted_procedure),
            }
            for item in items
        ]
    return render(
        request,
        "training/inbox.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        status_filter=status,
        reason=reason,
        q=q,
        counts=counts,
        statuses=STATUS_LABELS_VI,
        reasons=inbox.REASON_LABELS_VI,
        msg=request.args.get("msg", ""),
    )


def _context(request: Request, item: InboxItem) -> list[dict[str, Any]]:
    """The conversation around the item's latest occurrence, scrubbed."""
    tracker = getattr(request.app.ctx, "tracker", None)
    if tracker is None or not item.sender_id:
        return []
    transcript = tracker.transcript(item.sender_id, reveal=False)
    if transcript is None:
        return []
    lines = [
        {
            "kind": m.kind,
            "text": scrub(m.text),
            "at": m.at,
            "intent": m.intent,
            "confidence": m.confidence,
            "buttons": m.buttons,
        }
        for m in transcript.messages
    ]
    index = next(
        (
            i
            for i in range(len(lines) - 1, -1, -1)
            if lines[i]["kind"] == "user" and lines[i]["text"] == item.text
        ),
        len(lines) - 1,
    )
    for i, line in enumerate(lines):
        line["current"] = i == index
    return lines[max(0, index - 6) : index + 5]


@bp.get("/items/<item_id:int>")
@requires("training.manage")
async def item_page(request: Request, item_id: int) -> HTTPResponse:
    with db_session(request) as db:
        item = db.get(InboxItem, item_id)
        if item is None:
            # 200 with a notice: the list is one click away
            return render(request, "training/item.html", item=None, missing=item_id)
        names = {
            code: procedure_name(db, code)
            for code in (item.procedure, item.predicted_procedure)
            if code
        }
        db.expunge(item)
    return render(
        request,
        "training/item.html",
        item=item,
        missing=None,
        names=names,
        context=_context(request, item),
        intents=[i for i in inbox.known_intents() if i not in {"faq", "nlu_fallback"}],
        reasons=inbox.REASON_LABELS_VI,
        statuses=STATUS_LABELS_VI,
        msg=request.args.get("msg", ""),
        error=request.args.get("error", ""),
    )


@bp.get("/procedures")
@requires("training.manage")
async def procedure_search(request: Request) -> HTTPResponse:
    """htmx fragment: catalog procedures matching `q` (radio buttons named `procedure`)."""
    q = (request.args.get("q") or request.args.get("procedure_q") or "")[:100]
    with db_session(request) as db:
        hits = inbox.search_procedures(db, q) if q.strip() else []
    return render(request, "training/_procedures.html", hits=hits, q=q)


def _audit_item(db: Session, request: Request, action: str, item_id: int, **detail: Any) -> None:
    """Audit the officer's decision on inbox item `item_id`, in the same unit of work."""
    audit.record(
        db, request.ctx.staff, action, "inbox_item", item_id, ip=client_ip(request), **detail
    )


def _item_refused(item_id: int, exc: Exception) -> HTTPResponse:
    """Back to the inbox item, showing why the decision was refused."""
    return redirect_to(f"/training/items/{item_id}", error=str(exc))


@bp.post("/items/<item_id:int>/label")
@requires("training.manage")
async def label_item(request: Request, item_id: int) -> HTTPResponse:
    intent = form_value(request, "intent")
    procedure = form_value(request, "procedure")
    try:
        with db_session(request) as db:
            inbox.label(db, item_id, intent, procedure, request.ctx.staff.username)
            _audit_item(db, request, "training.label", item_id, intent=intent,
                        procedure=procedure or None)
    except inbox.InboxError as exc:
        return _item_refused(item_id, exc)
    return redirect_to("/training", msg=f"Đã gán nhãn mục {item_id}.")


@bp.post("/items/<item_id:int>/ignore")
@requires("training.manage")
async def ignore_item(request: Request, item_id: int) -> HTTPResponse:
    try:
        with db_session(request) as db:
            inbox.ignore(db, item_id, request.ctx.staff.username)
            _audit_item(db, request, "training.ignore", item_id)
    except inbox.InboxError as exc:
        return _item_refused(item_id, exc)
    return redirect_to("/training", msg=f"Đã bỏ qua mục {item_id} (vĩnh viễn).")


@bp.post("/items/<item_id:int>/alias")
@requires("training.manage")
async def alias_item(request: Request, item_id: int) -> HTTPResponse:
    procedure = form_value(request, "procedure")
    alias = form_value(request, "alias")
    settings = _settings(request)
    try:
        with db_session(request) as db:
            if db.get(InboxItem, item_id) is None:
                raise inbox.InboxError(f"Không có mục số {item_id}.")
            if not procedure_name(db, procedure):
                raise inbox.InboxError("Hãy chọn một thủ tục trong danh mục.")
            alias = scrub(alias)
            added = add_alias(procedure, alias, settings.overrides_file)
            inbox.mark_aliased(db, item_id, procedure, alias, request.ctx.staff.username)
            _audit_item(db, request, "training.alias", item_id, procedure=procedure, alias=alias,
                        added=added)
    except (inbox.InboxError, AliasError) as exc:
        return _item_refused(item_id, exc)
    note = "đã thêm" if added else "đã có sẵn"
    return redirect_to("/training", msg=f"Tên gọi “{alias}” cho {procedure}: {note}.")


@bp.get("/changes")
@requires("training.manage")
async def changes_page(request: Request) -> HTTPResponse:
    settings = _settings(request)
    diff, _ = change_set((settings.nlu_file, settings.overrides_file))
    return render(
        request,
        "training/changes.html",
        diff=diff,
        nlu_file=settings.nlu_file,
        msg=request.args.get("msg", ""),
    )


@bp.post("/changes/write")
@requires("training.manage")
async def write_changes(request: Request) -> HTTPResponse:
    settings = _settings(request)
    with db_session(request) as db:
        result = export_examples(db, settings.nlu_file)
        audit.record(
            db,
            request.ctx.staff,
            "training.export",
            "nlu_file",
            settings.nlu_file.name,
            ip=client_ip(request),
            examples=result.total,
            excluded=len(result.excluded),
            changed=result.changed,
        )
    message = f"Đã ghi {result.total} câu mẫu"
    if result.excluded:
        message += f"; bỏ {len(result.excluded)} câu trùng bộ đánh giá"
    return redirect_to("/training/changes", msg=message + ".")


@bp.get("/changes.zip")
@requires("training.manage")
async def download_changes(request: Request) -> HTTPResponse:
    settings = _settings(request)
    _, archive = change_set((settings.nlu_file, settings.overrides_file))
    return raw(
        archive,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="training-changes.zip"'},
    )


# ------------------------------------------------------------------ jobs and the model bank


def _jobs_and_models(db: Any) -> tuple[list[TrainingJob], list[ModelVersion]]:
    jobs = db.execute(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(20)).scalars()
    models = db.execute(select(ModelVersion).order_by(ModelVersion.id.desc())).scalars()
    return list(jobs), list(models)


@bp.get("/models")
@requires("training.manage")
async def models_page(request: Request) -> HTTPResponse:
    settings = _settings(request)
    with db_session(request) as db:
        jobs, models = _jobs_and_models(db)
        for row in (*jobs, *models):
            db.expunge(row)
    loop = asyncio.get_running_loop()
    workers = []
    for url in settings.rasa_urls:
        status = await loop.run_in_executor(None, bank.worker_status, url, settings.rasa_token, 2.0)
        workers.append(
            {
                "url": url,
                "model": Path(str((status or {}).get("model_file") or "")).name,
                "up": status is not None,
            }
        )
    return render(
        request,
        "training/models.html",
        jobs=jobs,
        models=models,
        workers=workers,
        busy=any(j.status in ("queued", "running") for j in jobs),
        msg=request.args.get("msg", ""),
        error=request.args.get("error", ""),
    )


@bp.post("/jobs")
@requires("training.manage")
async def start_job(request: Request) -> HTTPResponse:
    try:
        with db_session(request) as db:
            job = jobs.enqueue(db, request.ctx.staff.username)
            audit.record(
                db, request.ctx.staff, "training.job", "training_job", job.id, ip=client_ip(request)
            )
            job_id = job.id
    except jobs.JobError as exc:
        return redirect_to("/training/models", error=str(exc))
    return redirect_to(f"/training/jobs/{job_id}")


@bp.get("/jobs/<job_id:int>")
@requires("training.manage")
async def job_page(request: Request, job_id: int) -> HTTPResponse:
    with db_session(request) as db:
        job = db.get(TrainingJob, job_id)
        if job is not None:
            db.expunge(job)
    template = "training/_job.html" if request.headers.get("HX-Request") else "training/job.html"
    return render(request, template, job=job, missing=job_id)


def _gate_view(model: ModelVersion) -> dict[str, Any]:
    gate = model.gate or {}
    return {
        "overall": gate.get("overall") or [],
        "per_intent": gate.get("per_intent") or {},
        "passed": bool(gate.get("passed")),
        "regressions": gate.get("regressions") or [],
        "live_model": gate.get("live_model"),
        "margins": gate.get("margins") or {},
    }


@bp.get("/models/<model_id:int>")
@requires("training.manage")
async def model_page(request: Request, model_id: int) -> HTTPResponse:
    with db_session(request) as db:
        model = db.get(ModelVersion, model_id)
        if model is not None:
            db.expunge(model)
    if model is None:
        return render(request, "training/model.html", model=None, missing=model_id)
    inputs = dict(model.inputs or {})
    return render(
        request,
        "training/model.html",
        model=model,
        gate=_gate_view(model),
        data_files=sorted((inputs.get("data_files") or {}).items()),
        config_text=inputs.get("config") or "",
        command=" ".join(inputs.get("command") or []),
        msg=request.args.get("msg", ""),
        error=request.args.get("error", ""),
    )


@bp.post("/models/<model_id:int>/activate")
@requires("models.activate")
async def activate_model(request: Request, model_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    override = form_value(request, "override") == "1"
    if override and not staff.can("models.override"):
        return redirect_to(
            f"/training/models/{model_id}",
            error="Chỉ quản trị viên được kích hoạt bất chấp kết quả so sánh.",
        )
    settings = _settings(request)
    try:
        with db_session(request) as db:
            before = db.get(ModelVersion, model_id)
            rollback = before is not None and before.activated_at is not None
            model, previous = bank.activate(db, model_id, staff.username, override=override)
            audit.record(
                db,
                staff,
                "model.rollback" if rollback else "model.activate",
                "model",
                model_id,
                ip=client_ip(request),
                model=model.name,
                previous=previous.name if previous else None,
                override=override,
                gate_passed=bool((model.gate or {}).get("passed")),
            )
            path = Path(model.path)
            name = model.name
    except bank.ActivationError as exc:
        return redirect_to(f"/training/models/{model_id}", error=str(exc))
    loop = asyncio.get_running_loop()
    pushed = await loop.run_in_executor(
        None, bank.push_to_workers, path, settings.rasa_urls, settings.rasa_token
    )
    note = f"{name} đang chạy; các tiến trình Rasa tự tải mô hình từ kho mô hình."
    if pushed:
        note += f" PUT /model: {sum(p.ok for p in pushed)}/{len(pushed)} tiến trình nhận ngay."
    return redirect_to("/training/models", msg=note)
