"""Reviewers' accounts: argon2 password hashes, sign-in and its backoff.

Failed sign-ins are counted per (user name, client address). The first
``FREE_FAILURES`` cost nothing; each later one blocks that name from that
address for twice as long as the one before (2 s, 4 s, ... at most
``MAX_BLOCK``), during which a sign-in is refused without the password being
checked. A success clears the count; so do ``FORGET_AFTER`` without failures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import utcnow
from storage.models_review import SigninFailure, User

logger = logging.getLogger(__name__)

ROLES = ("reviewer", "admin")
FREE_FAILURES = 3
MAX_BLOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# verified when the name is unknown, so both answers take as long
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    """A user cannot be added as asked (role, name or password)."""


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class SigninResult:
    reviewer: Reviewer | None
    retry_after: int = 0


def add_user(session: Session, name: str, role: str, password: str) -> User:
    """A new reviewer or admin; the password is kept only as an argon2 hash."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not name or len(name) > 100 or name != name.strip():
        raise AccountError("a user name is 1-100 characters without outer spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def sign_in(session: Session, name: str, password: str, address: str) -> SigninResult:
    """Check a password, counting failures per (name, address)."""
    now = utcnow()
    failure = session.get(SigninFailure, (name[:100], address[:64]))
    if failure is not None and failure.blocked_until and failure.blocked_until > now:
        wait = (failure.blocked_until - now).total_seconds()
        return SigninResult(None, retry_after=max(1, round(wait)))
    user = session.scalar(select(User).where(User.name == name, User.active))
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or not user:
        return SigninResult(None, retry_after=_fail(session, failure, name, address))
    if failure is not None:
        session.delete(failure)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return SigninResult(Reviewer(user.id, user.name, user.role))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _fail(
    session: Session, failure: SigninFailure | None, name: str, address: str
) -> int:
    now = utcnow()
    if failure is None:
        failure = SigninFailure(name=name[:100], address=address[:64], failures=0)
        session.add(failure)
    elif now - failure.last_failure > FORGET_AFTER:
        failure.failures = 0
    failure.failures += 1
    failure.last_failure = now
    block = backoff(failure.failures)
    failure.blocked_until = now + block if block else None
    logger.info("Failed sign-in %d for %r from %s", failure.failures, name, address)
    return round(block.total_seconds())


def backoff(failures: int) -> timedelta:
    """How long a name is blocked from one address after ``failures`` in a row."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    exponent = min(failures - FREE_FAILURES, 16)
    return min(timedelta(seconds=2**exponent), MAX_BLOCK)
