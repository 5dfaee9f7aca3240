"""The FastAPI app: routers for the feed API and exports, JSON errors, ETags,
HEAD, CORS.

Further pages (reviewers', coverage) are further routers: add one with
``app.include_router(...)`` on the app :func:`create_app` returns, or list it in
``ROUTERS``. Every router reads the database through
``hub.web.context.get_context``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hub.config import Config
from hub.web import coverage, exports, feed_api, review
from hub.web.answers import AnswerCache
from hub.web.context import FEED_LICENCE, FeedContext, keep_out_of_collection
from hub.web.errors import install_error_handlers
from hub.web.etag import ETagMiddleware
from hub.web.head import HeadMiddleware
from hub.web.nosniff import NoSniffMiddleware
from hub.web.nul import NulGuardMiddleware
from storage.session import make_engine, session_factory

# requests a worker answers at once (each a thread holding a connection): as
# many connections stay open, so none is opened and closed per request
REQUEST_THREADS = 16

ROUTERS: tuple[APIRouter, ...] = (
    feed_api.router,
    exports.router,
    coverage.router,
    review.router,
)


def create_app(
    database_url: str,
    *,
    geo_dir: str | None = None,
    licence: str = FEED_LICENCE,
    answer_cache_mb: int | None = None,
    feed_version_seconds: float | None = None,
) -> FastAPI:
    """The consumer feed over ``database_url`` (already migrated: ``hub serve``
    migrates before it starts). ``geo_dir``, ``answer_cache_mb`` (0 keeps
    no answers: :mod:`hub.web.answers`) and ``feed_version_seconds`` (how
    long an answer may lag a change: :class:`hub.web.context.FeedVersion`)
    default to the configuration's."""
    config = Config.from_env()
    app = FastAPI(
        title="Opportunity Hub feed",
        summary="UK social mobility opportunities, merged from many sources.",
        version="1",
        lifespan=_lifespan,
    )
    engine = make_engine(database_url, pool_size=REQUEST_THREADS, parallel=False)
    app.state.hub = FeedContext(
        engine=engine,
        factory=session_factory(engine),
        geo_dir=geo_dir if geo_dir is not None else config.geo_dir,
        licence=licence,
        answers=AnswerCache(
            (config.answer_cache_mb if answer_cache_mb is None else answer_cache_mb)
            << 20
        ),
        version_seconds=(
            config.feed_version_seconds
            if feed_version_seconds is None
            else feed_version_seconds
        ),
    )
    for router in ROUTERS:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(ETagMiddleware)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(NoSniffMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD"],
        allow_headers=["If-None-Match"],
        expose_headers=["ETag"],
    )
    app.add_middleware(HeadMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # the routes are plain functions, run on anyio's threads: no more at once
    # than the pool has connections
    anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
    keep_out_of_collection()
    yield
    app.state.hub.ahead.close()


def app_from_env() -> FastAPI:
    """The app over the configured database, for ``uvicorn --factory``."""
    return create_app(Config.from_env().database_url)
