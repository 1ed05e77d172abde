"""The conversation and dossier lists share one filter/export form macro
(console/templates/_filters.html) and render the same markup from it."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from markupsafe import Markup

from console.conversations import ConversationFilter
from console.dossier_queries import DossierFilter
from console.web import TEMPLATES_DIR, build_templates


def _render(template: str, **context: Any) -> str:
    staff = SimpleNamespace(can=lambda _perm: True, agency=None, display_name="x", username="x",
                            role="supervisor")
    base = {"staff": staff, "nav": [], "csrf_token": "t", "request": None, "is_htmx": True,
            "csrf_field": lambda: Markup('<input type="hidden" name="csrf_token" value="t">'),
            "rows": [], "total": 0, "page": 1, "pages": 1, "page_query": str, "available": True,
            "overdue_count": 0}
    return build_templates().get_template(template).render(**base, **context)


def _forms(html: str) -> list[str]:
    return re.findall(r'<form class="filters".*?</form>', html, re.S)


def test_both_lists_use_the_shared_macro() -> None:
    for name in ("conversations/list.html", "dossiers/list.html"):
        source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        assert '{% import "_filters.html"' in source and '<form class="filters"' not in source


def test_filter_forms_render_values_and_selection() -> None:
    conversations = _render(
        "conversations/list.html",
        filters=ConversationFilter(q="hộ chiếu", channel="rest", fallback=True),
        intents=["ask_fee"], channels=["rest", "telegram"], query={"q": "hộ chiếu"},
    )
    dossiers = _render(
        "dossiers/list.html",
        filters=DossierFilter.from_params({"status": "processing", "overdue": "1"}),
        statuses=[("processing", "Đang xử lý"), ("completed", "Đã có kết quả")],
        agencies=["Cấp xã"], query={"status": "processing"},
    )
    (conv_form,), (doss_form,) = _forms(conversations), _forms(dossiers)
    assert 'name="q" value="hộ chiếu"' in conv_form
    assert "<option selected>rest</option>" in conv_form
    assert 'name="fallback" value="1" checked' in conv_form
    assert '<option value="processing" selected>Đang xử lý</option>' in doss_form
    assert 'name="overdue" value="1" checked' in doss_form
    for form, action in ((conv_form, "/conversations"), (doss_form, "/dossiers")):
        assert f'action="{action}"' in form and f'href="{action}">Xoá lọc</a>' in form
    for html, action in ((conversations, "/conversations/export"), (dossiers, "/dossiers/export")):
        assert f'action="{action}"' in html and 'value="xlsx"' in html
        assert 'name="csrf_token"' in html
