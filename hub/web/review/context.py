"""What the review routes share: settings, re-clustering, templates, the session.

The database comes from the feed app's context (``request.app.state.hub``);
the review context is made on first use from the environment, unless
:func:`install_review` set one up with settings of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session, sessionmaker

from hub.web.review.accounts import Reviewer
from hub.web.review.recluster import Reclusterer
from hub.web.review.security import Forbidden, SignInRequired, safe_url
from hub.web.review.sessions import ActiveSession, load_session
from hub.web.review.settings import COOKIE_NAME, ReviewSettings

TEMPLATES = Path(__file__).parent / "templates"
_lock = threading.Lock()
_NO_SESSION = object()


@dataclass
class ReviewContext:
    factory: sessionmaker[Session]
    settings: ReviewSettings
    reclusterer: Reclusterer
    templates: Environment


def install_review(app: FastAPI, settings: ReviewSettings) -> ReviewContext:
    """Give ``app`` (whose ``state.hub`` holds the database) a review context."""
    factory: sessionmaker[Session] = app.state.hub.factory
    context = ReviewContext(
        factory=factory,
        settings=settings,
        reclusterer=Reclusterer(factory, settings.recluster),
        templates=make_templates(),
    )
    app.state.review = context
    return context


def make_templates() -> Environment:
    """Jinja2 with autoescape on for everything: scraped text is never markup."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["safe_url"] = safe_url
    environment.filters["stamp"] = _stamp
    return environment


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def get_review(request: Request) -> ReviewContext:
    state = request.app.state
    context: ReviewContext | None = getattr(state, "review", None)
    if context is None:
        with _lock:
            context = getattr(state, "review", None)
            if context is None:
                context = install_review(request.app, ReviewSettings.from_env())
    return context


def current_session(request: Request) -> ActiveSession | None:
    """The request's unexpired session (looked up once per request)."""
    found = getattr(request.state, "review_session", _NO_SESSION)
    if found is _NO_SESSION:
        context = get_review(request)
        with context.factory() as session:
            found = load_session(session, request.cookies.get(COOKIE_NAME))
        request.state.review_session = found
    return found  # type: ignore[return-value]


def require_session(request: Request) -> ActiveSession:
    active = current_session(request)
    if active is None or active.reviewer is None:
        raise SignInRequired()
    return active


def require_admin(request: Request) -> ActiveSession:
    active = require_session(request)
    if not active.reviewer or not active.reviewer.is_admin:
        raise Forbidden("only an admin may do this")
    return active


Review = Annotated[ReviewContext, Depends(get_review)]
Signed = Annotated[ActiveSession, Depends(require_session)]
Admin = Annotated[ActiveSession, Depends(require_admin)]


def render(
    request: Request,
    name: str,
    values: dict[str, Any],
    status_code: int = 200,
    active: ActiveSession | None = None,
) -> HTMLResponse:
    """A page of ``templates/``; ``active`` stands in for a session just made."""
    context = get_review(request)
    active = active or current_session(request)
    reviewer: Reviewer | None = active.reviewer if active else None
    page = context.templates.get_template(name).render(
        csrf_token=active.csrf_token if active else "",
        reviewer=reviewer,
        recluster=context.reclusterer,
        **values,
    )
    return HTMLResponse(page, status_code=status_code)
