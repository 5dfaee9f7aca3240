from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dedupe import IdEvent, assign_ids


def _counter(prefix: str = "new") -> Callable[[], str]:
    numbers: Iterator[int] = iter(range(1, 1000))
    return lambda: f"{prefix}{next(numbers)}"


def _c(*members: str) -> frozenset[str]:
    return frozenset(members)


def test_first_run_creates_an_id_per_cluster() -> None:
    result = assign_ids(
        {}, [_c("a", "b"), _c("c")], existing_ids_created={}, new_id=_counter()
    )

    assert result.cluster_ids == {_c("a", "b"): "new1", _c("c"): "new2"}
    assert [e.kind for e in result.events] == ["created", "created"]


def test_unchanged_cluster_keeps_its_id() -> None:
    previous = {"a": "opp1", "b": "opp1"}

    result = assign_ids(
        previous, [_c("a", "b")], existing_ids_created={"opp1": 1}, new_id=_counter()
    )

    assert result.record_ids == {"a": "opp1", "b": "opp1"}
    assert result.events == [IdEvent("unchanged", "opp1")]


def test_new_member_keeps_the_id_and_reports_an_update() -> None:
    result = assign_ids(
        {"a": "opp1"},
        [_c("a", "b")],
        existing_ids_created={"opp1": 1},
        new_id=_counter(),
    )

    assert result.cluster_ids[_c("a", "b")] == "opp1"
    assert result.events == [IdEvent("updated", "opp1")]


@pytest.mark.parametrize(
    ("created", "survivor", "absorbed"),
    [
        pytest.param({"opp1": 1, "opp2": 2}, "opp1", "opp2", id="older id survives"),
        pytest.param({"opp1": 5, "opp2": 2}, "opp2", "opp1", id="age beats id order"),
    ],
)
def test_merge_keeps_the_older_id(
    created: dict[str, int], survivor: str, absorbed: str
) -> None:
    previous = {"a": "opp1", "b": "opp1", "c": "opp2"}

    result = assign_ids(
        previous, [_c("a", "b", "c")], existing_ids_created=created, new_id=_counter()
    )

    assert result.cluster_ids[_c("a", "b", "c")] == survivor
    assert result.merged_into == {absorbed: survivor}
    assert IdEvent("merged", absorbed, (survivor,)) in result.events


def test_split_larger_part_keeps_the_id() -> None:
    previous = {"a": "opp1", "b": "opp1", "c": "opp1"}

    result = assign_ids(
        previous,
        [_c("a"), _c("b", "c")],
        existing_ids_created={"opp1": 1},
        new_id=_counter(),
    )

    assert result.cluster_ids[_c("b", "c")] == "opp1"
    assert result.cluster_ids[_c("a")] == "new1"
    assert IdEvent("split", "opp1", ("new1",)) in result.events
    assert IdEvent("created", "new1") in result.events


def test_split_tie_goes_to_the_part_with_the_lowest_record() -> None:
    previous = {"a": "opp1", "b": "opp1", "c": "opp1", "d": "opp1"}

    result = assign_ids(
        previous,
        [_c("c", "d"), _c("a", "b")],
        existing_ids_created={"opp1": 1},
        new_id=_counter(),
    )

    assert result.cluster_ids[_c("a", "b")] == "opp1"


def test_ids_are_never_reused() -> None:
    previous = {"a": "opp1", "b": "opp2"}
    created = {"opp1": 1, "opp2": 2, "retired3": 3}
    reused = iter(["retired3"])

    with pytest.raises(ValueError, match="retired3"):
        assign_ids(
            previous,
            [_c("a", "b"), _c("c")],
            existing_ids_created=created,
            new_id=lambda: next(reused),
        )


def test_merge_then_split_never_revives_the_absorbed_id() -> None:
    created: dict[str, int] = {"opp1": 1, "opp2": 2}
    first = assign_ids(
        {"a": "opp1", "b": "opp2"},
        [_c("a", "b")],
        existing_ids_created=created,
        new_id=_counter("x"),
    )
    created |= {opp: 9 for opp in first.cluster_ids.values() if opp not in created}

    second = assign_ids(
        first.record_ids,
        [_c("a"), _c("b")],
        existing_ids_created=created,
        new_id=_counter("y"),
    )

    assert second.cluster_ids[_c("a")] == "opp1"
    assert second.cluster_ids[_c("b")] not in {"opp1", "opp2"}


def test_records_gone_delete_the_id() -> None:
    result = assign_ids(
        {"a": "opp1"}, [_c("b")], existing_ids_created={"opp1": 1}, new_id=_counter()
    )

    assert IdEvent("deleted", "opp1") in result.events
    assert result.cluster_ids == {_c("b"): "new1"}
