"""Server-side sessions: a random cookie token, its SHA-256 in ``sessions``.

Each session carries its own CSRF token, which every form posts back. Signing
in starts a new session (a fresh token) and ends the pre-sign-in one, so a
token planted before sign-in is worth nothing after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.web.review.accounts import Reviewer
from storage.models import utcnow
from storage.models_review import User, UserSession


@dataclass(frozen=True)
class ActiveSession:
    id: int
    csrf_token: str
    reviewer: Reviewer | None
    skipped: tuple[str, ...]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user_id: int | None, lifetime: timedelta
) -> tuple[str, UserSession]:
    """A new session; the cookie gets the returned token, the database its hash."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        expires=utcnow() + lifetime,
        skipped=[],
    )
    session.add(row)
    session.flush()
    return token, row


def load_session(session: Session, token: str | None) -> ActiveSession | None:
    """The unexpired session of a cookie token, with its reviewer if signed in."""
    if not token:
        return None
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == token_hash(token))
    )
    if row is None or row.expires <= utcnow():
        return None
    reviewer = None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        reviewer = Reviewer(user.id, user.name, user.role)
    return ActiveSession(row.id, row.csrf_token, reviewer, tuple(row.skipped or ()))


def end_session(session: Session, session_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.id == session_id))


def purge_expired(session: Session) -> None:
    session.execute(delete(UserSession).where(UserSession.expires <= utcnow()))


def csrf_matches(active: ActiveSession | None, sent: str | None) -> bool:
    if active is None or not sent:
        return False
    return hmac.compare_digest(active.csrf_token.encode(), sent.encode())


def add_skipped(session: Session, session_id: int, key: str) -> None:
    row = session.get_one(UserSession, session_id)
    if key not in (row.skipped or []):
        row.skipped = [*(row.skipped or []), key]
