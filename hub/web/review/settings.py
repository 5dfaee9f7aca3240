"""Settings of the review pages, read from the environment in this one place.

| variable | default | meaning |
| --- | --- | --- |
| ``HUB_REVIEW_SECURE_COOKIE`` | ``0`` | ``1`` marks the session cookie Secure (HTTPS) |
| ``HUB_REVIEW_SESSION_HOURS`` | ``8`` | a session's lifetime from sign-in |
| ``HUB_REVIEW_RECLUSTER`` | ``background`` | or ``inline``, ``off``: see recluster |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

# see hub.web.review.recluster
ReclusterMode = Literal["background", "inline", "off"]

COOKIE_NAME = "hub_review_session"
# the pre-sign-in session only carries the sign-in form's CSRF token
SIGNIN_SESSION = timedelta(minutes=30)


@dataclass(frozen=True)
class ReviewSettings:
    secure_cookie: bool = False
    session_lifetime: timedelta = timedelta(hours=8)
    recluster: ReclusterMode = "background"

    @classmethod
    def from_env(cls) -> ReviewSettings:
        hours = float(os.getenv("HUB_REVIEW_SESSION_HOURS", "8"))
        return cls(
            secure_cookie=os.getenv("HUB_REVIEW_SECURE_COOKIE", "0") == "1",
            session_lifetime=timedelta(hours=hours),
            recluster=_mode(os.getenv("HUB_REVIEW_RECLUSTER", "background")),
        )


def _mode(value: str) -> ReclusterMode:
    if value not in ("background", "inline", "off"):
        raise ValueError(
            f"HUB_REVIEW_RECLUSTER must be background, inline or off, got {value!r}"
        )
    return value  # type: ignore[return-value]
