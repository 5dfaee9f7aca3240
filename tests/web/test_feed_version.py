"""How long a server worker trusts the feed's change number it last read."""

from __future__ import annotations

import threading

import pytest

from hub.config import Config
from hub.exceptions import ConfigurationError
from hub.web import context as context_module
from hub.web.context import FeedVersion
from storage.feed import record_change
from storage.models import Opportunity
from storage.session import transaction
from tests.web.feed_builders import golden


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(context_module.time, "monotonic", clock)
    return clock


def counting(values: list[int]) -> tuple[FeedVersion, list[int]]:
    """A reader trusting a number for 5 s, whose reads give ``values`` in turn."""
    version = FeedVersion(engine=None, seconds=5.0)  # type: ignore[arg-type]
    reads: list[int] = []

    def read() -> int:
        reads.append(values[len(reads)])
        return reads[-1]

    version._read = read  # type: ignore[method-assign]
    return version, reads


def settle() -> None:
    """Wait for the reads started in the background."""
    for thread in threading.enumerate():
        if thread.name == "feed-version":
            thread.join(10)


def test_a_number_is_trusted_for_its_seconds_then_read_again(clock):
    version, reads = counting([3, 4])

    assert [version() for _ in range(5)] == [3] * 5
    clock.now += 4.9
    assert version() == 3
    clock.now += 0.2
    assert version() == 3  # the one held, while it is read again
    settle()
    assert version() == 4
    assert reads == [3, 4]


def test_the_number_never_goes_back(clock):
    version, _ = counting([7, 6])
    version()
    clock.now += 6
    version()
    settle()

    assert version() == 7


def test_no_request_waits_while_the_number_is_read_again(clock):
    version, _ = counting([1])
    version()
    clock.now += 6
    reading, release = threading.Event(), threading.Event()
    reads = []

    def slow() -> int:
        reads.append(1)
        reading.set()
        release.wait(10)
        return 2

    version._read = slow  # type: ignore[method-assign]
    held = [version() for _ in range(3)]  # answered at once
    assert reading.wait(10)
    release.set()
    settle()

    assert held == [1, 1, 1] and len(reads) == 1
    assert version() == 2


def test_a_failed_read_keeps_the_number_held(clock):
    version, _ = counting([1])
    version()
    clock.now += 6

    def broken() -> int:
        raise ConnectionError("the database went away")

    version._read = broken  # type: ignore[method-assign]
    assert version() == 1
    settle()
    assert version() == 1


def test_with_0_seconds_every_call_reads():
    version, reads = counting([1, 2, 3])
    version.seconds = 0

    assert [version(), version(), version()] == [1, 2, 3]


def test_an_answer_lags_a_change_no_longer_than_the_trust(feed_db, make_client, clock):
    feed_db.add("opp_a", golden("Engineering apprenticeship"))
    feed_db.publish()
    client = make_client(feed_version_seconds=30)
    before = client.get("/feed").json()
    with transaction(feed_db.factory) as session:
        opportunity = session.get(Opportunity, "opp_a")
        opportunity.golden = {**opportunity.golden, "title": "Renamed"}
        record_change(session, opportunity, "updated")

    within = client.get("/feed").json()
    clock.now += 30
    client.get("/feed")  # the number is read again meanwhile
    settle()
    after = client.get("/feed").json()

    assert within == before
    assert after["items"][0]["data"]["title"] == "Renamed"


@pytest.mark.parametrize("value", ["-1", "soon", "61", "nan"])
def test_a_bad_trust_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("HUB_FEED_VERSION_SECONDS", value)

    with pytest.raises(ConfigurationError, match="HUB_FEED_VERSION_SECONDS"):
        Config.from_env()


def test_the_trust_defaults_to_a_second_and_may_be_0(monkeypatch):
    assert Config.from_env().feed_version_seconds == 1.0
    monkeypatch.setenv("HUB_FEED_VERSION_SECONDS", "0")
    assert Config.from_env().feed_version_seconds == 0.0
