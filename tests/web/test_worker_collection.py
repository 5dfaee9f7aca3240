"""A worker's long-lived objects are left out of the collector's full passes."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from hub.web.app import create_app


def collected(thing: object) -> bool:
    """Whether a full collection walks ``thing`` (a frozen object it does not)."""
    return gc.is_tracked(thing) and any(o is thing for o in gc.get_objects())


def test_what_a_worker_loads_is_frozen_once_loaded(feed_db, geo_folder):
    """The app when it starts, the geography when a search by place first
    loads it: a full collection then walks only what requests made."""
    app = create_app(feed_db.url, geo_dir=str(geo_folder), feed_version_seconds=0)
    gc.unfreeze()
    assert collected(app)
    try:
        with TestClient(app) as client:
            assert not collected(app)
            answer = client.get("/opportunities?region=North East")
            assert answer.status_code == 200
            gazetteer = app.state.hub.gazetteer()

            assert gazetteer is not None and not collected(gazetteer)
    finally:
        app.state.hub.close()
