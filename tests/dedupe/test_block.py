from __future__ import annotations

import numpy as np
import pytest

from dedupe import MatchConfig, MatchRecord, match
from dedupe.block import HashOrder, block_records
from dedupe.prepared import prepare


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        pytest.param(
            {"provider": "Acme Ltd"},
            {"provider": "ACME"},
            "provider",
            id="normalised provider",
        ),
        pytest.param(
            {"title": "Data Apprentice"},
            {"title": "Apprentice, Data"},
            "title_tokens",
            id="title tokens",
        ),
        pytest.param(
            {"outcode": "LS1"},
            {"postcode": "LS1 4AP"},
            "outcode",
            id="postcode district",
        ),
        pytest.param(
            {"apply_url": "https://x.example/j/1"},
            {"apply_url": "http://www.x.example/j/1/"},
            "apply_url",
            id="canonical apply URL",
        ),
        pytest.param(
            {"phone": "0113 496 0000"},
            {"phone": "+44 113 496 0000"},
            "phone",
            id="phone",
        ),
        pytest.param(
            {"source_ids": ("ucas:1",)},
            {"source_ids": ("ucas:1",)},
            "source_ids",
            id="source ids",
        ),
    ],
)
def test_each_key_finds_its_pair(
    a: dict[str, object], b: dict[str, object], kind: str
) -> None:
    records = [
        MatchRecord("a", "s1", **({"title": None} | a)),
        MatchRecord("b", "s2", **({"title": None} | b)),
    ]

    pairs, counts = block_records(prepare(records), MatchConfig())

    assert pairs == {(0, 1)}
    assert counts[kind] >= 1  # title tokens: one pair per shared word


def test_oversize_block_is_thinned_not_all_pairs() -> None:
    titles = ["Data Apprentice", "Law Summer School", "Coding Bootcamp"]
    records = [
        MatchRecord(f"r{k}", "s", f"{titles[k % 3]} {k % 2}", provider="Big Provider")
        for k in range(150)
    ]
    config = MatchConfig(block_keys=("provider",), max_block_size=50)

    pairs, counts = block_records(prepare(records), config)

    assert 0 < len(pairs) < 150 * 149 // 2
    assert counts["provider:oversize_blocks"] == 1


@pytest.mark.parametrize(
    ("top_k", "most_pairs"),
    [
        pytest.param(None, 120 * 119 // 2, id="no limit: every similar title"),
        pytest.param(3, 120 * 3, id="each record keeps only its nearest titles"),
    ],
)
def test_thinned_block_keeps_each_records_nearest(
    top_k: int | None, most_pairs: int
) -> None:
    # 60 titles, each listed twice: every record's nearest title is its twin.
    names = [f"{chr(97 + k % 26)}{chr(97 + k // 26)}" for k in range(60)]
    records = [
        MatchRecord(f"r{k}", "s", f"Data Apprentice {names[k // 2]}", provider="P")
        for k in range(120)
    ]
    config = MatchConfig(block_keys=("provider",), max_block_size=50, thin_top_k=top_k)

    pairs, _ = block_records(prepare(records), config)

    assert {(k, k + 1) for k in range(0, 120, 2)} <= pairs
    assert len(pairs) <= most_pairs
    assert top_k is not None or len(pairs) == most_pairs


def test_blocks_past_the_hard_limit_are_dropped() -> None:
    records = [MatchRecord(f"r{k}", "s", "Same", provider="P") for k in range(30)]
    config = MatchConfig(
        block_keys=("provider",), max_block_size=10, hard_block_size=20
    )

    result = match(records, config=config)

    assert result.compared == 0 and result.block_counts["provider"] == 0


def test_cross_source_only() -> None:
    records = [MatchRecord(f"r{k}", f"s{k % 2}", "Same title") for k in range(4)]
    config = MatchConfig(cross_source_only=True)

    pairs, _ = block_records(prepare(records), config)

    assert pairs == {(0, 1), (0, 3), (1, 2), (2, 3)}


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param([5, 3, 5, 3, 9, 5, 0, 3], id="narrow keys"),
        pytest.param(
            [1 << 60, 3, 1 << 60, 3, (1 << 40) + 7, 1 << 60, 0, 3], id="wide keys"
        ),
    ],
)
def test_hash_order_is_key_then_id_hash(keys: list[int]) -> None:
    """Entries sort by key, then by record-id hash: the order a two-key lexsort
    gives, whether the keys fit beside the ranks or must be numbered first."""
    prep = prepare([MatchRecord(id=f"r{k}", source="s", title="t") for k in range(6)])
    rows = np.array([0, 1, 2, 3, 4, 5, 1, 2], dtype=np.int64)
    wanted = np.lexsort((prep.id_hash[rows], np.array(keys)))
    got_rows, got_keys = HashOrder.of(prep).sorted(rows, np.array(keys, np.int64))
    assert got_rows.tolist() == rows[wanted].tolist()
    assert got_keys.tolist() == np.array(keys)[wanted].tolist()
