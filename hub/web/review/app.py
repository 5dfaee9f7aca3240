"""A small app factory: the feed app with the review pages, for tests and trials.

``hub serve`` uses ``hub.web.app.create_app``; until that includes
:data:`hub.web.review.router`, this builds the same app with it added (or the
review pages alone when the feed app is not there).
"""

from __future__ import annotations

from fastapi import FastAPI

from hub.web.context import FeedContext
from hub.web.review import router
from hub.web.review.context import install_review
from hub.web.review.settings import ReviewSettings
from storage.session import make_engine, session_factory


def build_review_app(
    database_url: str, settings: ReviewSettings | None = None
) -> FastAPI:
    """The feed app over ``database_url`` (migrated already), plus the review
    pages with ``settings`` (default: from the environment)."""
    app = _feed_app(database_url)
    if not any(getattr(route, "path", "") == "/review" for route in app.routes):
        app.include_router(router)
    install_review(app, settings or ReviewSettings.from_env())
    return app


def _feed_app(database_url: str) -> FastAPI:
    try:
        from hub.web.app import create_app
    except ImportError:
        app = FastAPI()
        engine = make_engine(database_url)
        app.state.hub = FeedContext(engine=engine, factory=session_factory(engine))
        return app
    return create_app(database_url)
