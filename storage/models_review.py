"""Tables of the review pages: reviewers, their sessions, failed sign-ins, and
what the machine thought of each pair when a reviewer decided it.

``users.password_hash`` is an argon2 hash (argon2-cffi), never a password.
``sessions.token_hash`` is the SHA-256 of the cookie's random token, so a copy
of the database holds no usable session. A session with no user is the short
pre-sign-in session that carries the sign-in form's CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # reviewer, admin
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime] = mapped_column(index=True)
    # "listing_a-listing_b" keys this session skipped in the queue
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)


class SigninFailure(Base):
    """Failed sign-ins of one user name from one address, for the backoff."""

    __tablename__ = "signin_failures"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None]


class DecisionEvidence(Base):
    """The machine's view of a pair when a reviewer decided it, and the action.

    ``band`` is auto, review or distinct; None when the pair was not scored
    (two members of one cluster linked only through others). ``action`` groups
    the decisions one reviewer action wrote (a split writes several), so that
    undo takes back the whole action.
    """

    __tablename__ = "decision_evidence"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(10))
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[str | None] = mapped_column(Text)
