"""The reviewers' pages: the queue of uncertain pairs, the pair view, decisions
(and their undo), clusters and splitting, the audit log, export and import of
decisions, and the accuracy panel. Server-rendered; every page needs a signed-in
reviewer, while the feed stays public.

Add them to the feed app with ``app.include_router(hub.web.review.router)``
(settings come from the environment, see :mod:`hub.web.review.settings`).
"""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.review import auth_routes, pair_routes, record_routes

router = APIRouter(include_in_schema=False)
for _part in (auth_routes, pair_routes, record_routes):
    router.include_router(_part.router)

__all__ = ["router"]
