"""Staff accounts, passwords, login throttling and server-side sessions.

Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, its
default RFC 9106 low-memory profile); hashes are re-computed on login when the
parameters change. Sessions live in the database (`console_sessions`), so any
console process behind a proxy can serve any request; the cookie carries a
random 256-bit token and the table only its sha256.

Login defence, in order:
1. per client address: more than `ip_attempts_per_window` failed attempts in
   the last `lockout_minutes` -> refused without checking the password;
2. per account: `max_failed_logins` consecutive failures lock the account for
   `lockout_minutes` (audited as auth.lockout); a success resets the count;
3. unknown users cost the same argon2 verification as known ones, and every
   refusal shows the same message, so usernames cannot be probed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from console import audit
from console.orm import ROLES, LoginAttempt, StaffMember, StaffSession
from console.roles import permissions_of
from console.settings import ConsoleSettings
from core.db import utcnow

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD_LENGTH = 10
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class StaffError(ValueError):
    """A staff account operation was refused; the message is shown as is (Vietnamese)."""


@dataclass(frozen=True)
class StaffView:
    """The logged-in staff member as routes see it (`request.ctx.staff`)."""

    id: int
    username: str
    display_name: str
    role: str
    agency: str | None
    permissions: frozenset[str]
    must_change_password: bool = False

    def can(self, permission: str) -> bool:
        """True when this member's role holds `permission`."""
        return permission in self.permissions

    @classmethod
    def of(cls, member: StaffMember) -> StaffView:
        return cls(
            id=member.id,
            username=member.username,
            display_name=member.display_name or member.username,
            role=member.role,
            agency=member.agency,
            permissions=permissions_of(member.role),
            must_change_password=bool(member.must_change_password),
        )


def hash_password(password: str) -> str:
    """argon2id PHC string for `password`. Raises StaffError if it is too weak."""
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """At least MIN_PASSWORD_LENGTH characters, not all the same class (digits only...)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    if password.isdigit() or password.isalpha():
        raise StaffError("Mật khẩu phải có cả chữ và số hoặc ký tự khác.")


def normalize_username(username: str) -> str:
    """Lower-cased, stripped; raises StaffError unless 3-64 chars of a-z 0-9 . _ -."""
    name = username.strip().lower()
    if not 3 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise StaffError("Tên đăng nhập gồm 3-64 ký tự a-z, 0-9, dấu chấm, gạch dưới, gạch ngang.")
    return name


def find_staff(db: Session, username: str) -> StaffMember | None:
    return db.execute(
        select(StaffMember).where(StaffMember.username == username.strip().lower())
    ).scalar_one_or_none()


def add_staff(
    db: Session,
    actor: audit.Actor,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    agency: str | None = None,
    ip: str = "",
) -> StaffMember:
    """Create an account (audited as staff.add). Raises StaffError on a bad
    username/role/password or an existing username."""
    name = normalize_username(username)
    if role not in ROLES:
        raise StaffError(f"Vai trò không hợp lệ: {role!r} (một trong {', '.join(ROLES)}).")
    if find_staff(db, name) is not None:
        raise StaffError(f"Tài khoản {name!r} đã tồn tại.")
    member = StaffMember(
        username=name,
        display_name=display_name.strip()[:100],
        role=role,
        agency=(agency or "").strip()[:200] or None,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
        must_change_password=False,
    )
    db.add(member)
    db.flush()
    audit.record(db, actor, "staff.add", "staff", name, ip=ip, role=role, agency=member.agency)
    return member


def _require(db: Session, username: str) -> StaffMember:
    member = find_staff(db, username)
    if member is None:
        raise StaffError(f"Không có tài khoản {username.strip().lower()!r}.")
    return member


def set_active(
    db: Session, actor: audit.Actor, username: str, active: bool, *, ip: str = ""
) -> StaffMember:
    """Disable (or re-enable) an account; disabling ends its sessions. Audited."""
    member = _require(db, username)
    member.active = active
    member.updated_at = utcnow()
    if not active:
        db.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))
    else:
        member.failed_logins = 0
        member.locked_until = None
    audit.record(
        db, actor, "staff.enable" if active else "staff.disable", "staff", member.username, ip=ip
    )
    return member


def reset_password(
    db: Session,
    actor: audit.Actor,
    username: str,
    password: str,
    *,
    must_change: bool = True,
    ip: str = "",
) -> StaffMember:
    """Set a new password, clear the lockout, end the account's sessions. Audited."""
    member = _require(db, username)
    member.password_hash = hash_password(password)
    member.failed_logins = 0
    member.locked_until = None
    member.must_change_password = must_change
    member.updated_at = utcnow()
    db.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))
    audit.record(db, actor, "staff.reset_password", "staff", member.username, ip=ip)
    return member


def change_own_password(db: Session, staff: StaffView, old: str, new: str, *, ip: str = "") -> None:
    """The member changes their own password (needs the old one). Raises StaffError."""
    member = db.get(StaffMember, staff.id)
    if member is None:
        raise StaffError("Tài khoản không còn tồn tại.")
    try:
        _hasher.verify(member.password_hash, old)
    except (VerificationError, InvalidHashError) as exc:
        raise StaffError("Mật khẩu hiện tại không đúng.") from exc
    if old == new:
        raise StaffError("Mật khẩu mới phải khác mật khẩu cũ.")
    member.password_hash = hash_password(new)
    member.must_change_password = False
    member.updated_at = utcnow()
    audit.record(db, staff, "staff.change_password", "staff", member.username, ip=ip)


class LoginRefused(Exception):
    """Login failed; `message` is what the user sees (never says which part was wrong)."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.throttled = throttled


GENERIC_LOGIN_ERROR = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị khoá."


def authenticate(
    db: Session, settings: ConsoleSettings, username: str, password: str, *, ip: str
) -> StaffMember:
    """Check a login. Returns the member on success; raises LoginRefused
    otherwise (recording the attempt, the failure count and any lockout)."""
    now = utcnow()
    typed = username.strip().lower()[:64]
    window_start = now - timedelta(minutes=settings.lockout_minutes)
    recent_failures = db.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.success.is_(False))
        .where(LoginAttempt.created_at >= window_start)
    ).scalar_one()
    if recent_failures >= settings.ip_attempts_per_window:
        db.add(LoginAttempt(ip=ip, username=typed, success=False))
        raise LoginRefused(
            "Quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau.", throttled=True
        )
    member = find_staff(db, typed) if typed else None
    password_ok = False
    try:
        _hasher.verify(member.password_hash if member else _DUMMY_HASH, password)
        password_ok = member is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        password_ok = False
    locked = member is not None and member.locked_until is not None and member.locked_until > now
    if member is None or not member.active or locked or not password_ok:
        db.add(LoginAttempt(ip=ip, username=typed, success=False))
        if member is not None and member.active and not locked:
            member.failed_logins = (member.failed_logins or 0) + 1
            if member.failed_logins >= settings.max_failed_logins:
                member.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                member.failed_logins = 0
                audit.record(
                    db, audit.SystemActor("console"), "auth.lockout", "staff", member.username,
                    ip=ip, minutes=settings.lockout_minutes,
                )
        audit.record(
            db, audit.SystemActor("console"), "auth.login_failed", "staff", typed, ip=ip,
            known=member is not None, locked=locked,
        )
        raise LoginRefused(GENERIC_LOGIN_ERROR)
    db.add(LoginAttempt(ip=ip, username=typed, success=True))
    member.failed_logins = 0
    member.locked_until = None
    member.last_login_at = now
    if _hasher.check_needs_rehash(member.password_hash):
        member.password_hash = _hasher.hash(password)
    return member


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, member: StaffMember, *, ip: str, user_agent: str) -> tuple[str, str]:
    """A new server-side session; returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=member.id,
            csrf_token=csrf,
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    return token, csrf


# Refresh `last_seen_at` at most this often: 50 officers polling every few
# seconds must not turn every read into a write.
TOUCH_EVERY = timedelta(seconds=60)


def load_session(
    db: Session, settings: ConsoleSettings, token: str | None
) -> tuple[StaffView, str] | None:
    """(staff, CSRF token) for a live session cookie; None when the token is
    unknown, idle longer than `idle_minutes`, or its account is disabled
    (expired sessions are deleted on the way)."""
    if not token or len(token) > 100:
        return None
    row = db.get(StaffSession, _token_hash(token))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > timedelta(minutes=settings.idle_minutes):
        db.delete(row)
        return None
    member = db.get(StaffMember, row.staff_id)
    if member is None or not member.active:
        db.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return StaffView.of(member), row.csrf_token


def end_session(db: Session, token: str | None) -> None:
    """Log out: delete the session row (no-op for an unknown token)."""
    if token:
        db.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def purge_expired(db: Session, settings: ConsoleSettings) -> int:
    """Delete idle sessions and login attempts older than a day; returns sessions removed."""
    now = utcnow()
    db.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - timedelta(days=1)))
    result = db.execute(
        delete(StaffSession).where(
            StaffSession.last_seen_at < now - timedelta(minutes=settings.idle_minutes)
        )
    )
    return int(result.rowcount or 0)
