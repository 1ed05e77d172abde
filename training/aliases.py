"""Adding a colloquial name to the curation overlay (`catalog/overrides.yml`).

The overlay is a hand-kept, commented, shared file: re-dumping it through a
YAML library would re-wrap every list and drop nothing but make a 300-line
diff. `add_alias` therefore edits the text in place, touching only the lines
of one procedure:

- the code has a flow list `aliases: [..., "x"]` (the file's style, possibly
  wrapped over several lines): the alias is inserted before the closing `]`,
  on a new continuation line when the last line would pass 100 characters;
- the code has no aliases: an `aliases: ["x"]` line is inserted under it;
- the code is absent: a new `"code":` entry is appended at the end of the
  `procedures:` section.

The result is validated with `catalog.overrides.parse_overrides` (strict) and
must equal the old data plus the alias; otherwise nothing is written and
`AliasError` is raised. Writes are atomic (temporary file + rename) and
serialised by an exclusive `fcntl` lock (a file in the temporary directory), so two console
workers cannot interleave edits.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from catalog.overrides import DEFAULT_OVERRIDES_PATH, OverridesError, parse_overrides
from core.vietnamese import PROCEDURE_CODE_RE, fold
from training.scrub import PLACEHOLDERS, scrub

__all__ = ["AliasError", "add_alias"]

MAX_LINE = 100


class AliasError(ValueError):
    """The alias cannot be added (bad code or alias, or the edit would break the file)."""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"tthc-overrides-{digest}.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _block(lines: list[str], code: str) -> tuple[int, int] | None:
    """(start, end) line indexes of procedure `code`'s block (end exclusive), or None."""
    header = f'  "{code}":'
    for start, line in enumerate(lines):
        if line.rstrip() == header:
            end = start + 1
            while end < len(lines):
                text = lines[end]
                if text.strip() and (len(text) - len(text.lstrip())) <= 2:
                    break
                end += 1
            return start, end
    return None


def _section_end(lines: list[str]) -> int:
    """Index of the line after the `procedures:` section (before the next top-level key)."""
    inside = False
    for index, line in enumerate(lines):
        if line.startswith("procedures:"):
            inside = True
            continue
        if inside and line.strip() and not line.startswith((" ", "#")):
            # step back over blank and comment lines that introduce the next section
            while index > 0 and (not lines[index - 1].strip() or lines[index - 1].startswith("#")):
                index -= 1
            return index
    return len(lines)


def _insert_in_flow_list(lines: list[str], start: int, end: int, quoted: str) -> bool:
    for index in range(start + 1, end):
        if lines[index].lstrip().startswith("aliases:"):
            if not lines[index].rstrip().endswith("[") and "[" not in lines[index]:
                return False  # block-style list: not used in this file
            close = index
            while close < end and not lines[close].rstrip().endswith("]"):
                close += 1
            if close == end:
                return False
            last = lines[close].rstrip()
            candidate = last[:-1] + f", {quoted}]"
            if len(candidate) <= MAX_LINE:
                lines[close] = candidate + "\n"
            else:
                indent = lines[index].index("[") + 1
                lines[close] = last[:-1] + ",\n"
                lines.insert(close + 1, " " * indent + f"{quoted}]\n")
            return True
    lines.insert(start + 1, f"    aliases: [{quoted}]\n")
    return True


def add_alias(code: str, alias: str, path: Path = DEFAULT_OVERRIDES_PATH) -> bool:
    """Add `alias` (scrubbed of personal data, stripped) to procedure `code` in the
    overlay at `path`. Returns False when the procedure already has that alias
    (compared accent-folded), True when the file was changed.

    Raises AliasError for a malformed code, an empty alias, one that still
    contains personal data placeholders, or an edit that fails validation.
    """
    code = (code or "").strip()
    if not PROCEDURE_CODE_RE.match(code):
        raise AliasError(f"Mã thủ tục không hợp lệ: {code!r}")
    alias = " ".join((alias or "").split())
    if not alias or len(alias) > 200:
        raise AliasError("Tên gọi phải có từ 1 đến 200 ký tự.")
    if scrub(alias) != alias or any(p in alias for p in PLACEHOLDERS):
        raise AliasError("Tên gọi có thông tin cá nhân; hãy bỏ đi.")
    with _locked(path):
        original = path.read_text(encoding="utf-8")
        before = yaml.safe_load(original) or {}
        procedures = before.get("procedures") or {}
        existing = (procedures.get(code) or {}).get("aliases") or []
        if fold(alias) in {fold(str(a)) for a in existing}:
            return False
        quoted = json.dumps(alias, ensure_ascii=False)
        lines = original.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        block = _block(lines, code)
        if block is None:
            at = _section_end(lines)
            lines[at:at] = [f'  "{code}":\n', f"    aliases: [{quoted}]\n"]
        elif not _insert_in_flow_list(lines, *block, quoted):
            raise AliasError(f"Không sửa được danh sách tên gọi của {code} (định dạng lạ).")
        updated = "".join(lines)
        expected = copy.deepcopy(before)
        entry = expected.setdefault("procedures", {}).setdefault(code, {}) or {}
        expected["procedures"][code] = entry
        entry["aliases"] = [*existing, alias]
        try:
            after = yaml.safe_load(updated)
            parse_overrides(after, origin=str(path), path=path)
        except (yaml.YAMLError, OverridesError) as exc:
            raise AliasError(f"Sửa tệp bị lỗi, không ghi: {exc}") from exc
        if after != expected:
            raise AliasError("Sửa tệp làm thay đổi nội dung khác, không ghi.")
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".overrides-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(updated)
            os.chmod(temporary, os.stat(path).st_mode & 0o777)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    return True
