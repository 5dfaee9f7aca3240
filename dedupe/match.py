"""The matching run: normalise -> block -> score -> apply decisions -> cluster."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from operator import itemgetter

import numpy as np

from dedupe import arrays
from dedupe.block import candidate_keys, pack, unpack
from dedupe.cluster import ClusterOutcome, ClusterRules, cluster_records, components
from dedupe.config import MatchConfig
from dedupe.prepared import Prepared
from dedupe.score import PairScores, explain_all, score_pairs
from dedupe.state import Delta, MatchState
from dedupe.types import Band, Decision, MatchRecord, MatchResult, RecordID, ScoredPair

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = MatchConfig()
NOTE = " | "  # separates the model's explanation from later notes
CHAINING = "the average link between the two clusters is below the link threshold"
Key = tuple[RecordID, RecordID]


def match(
    records: Sequence[MatchRecord],
    decisions: Iterable[Decision] = (),
    *,
    changed: set[RecordID] | None = None,
    previous_pairs: Iterable[ScoredPair] = (),
    config: MatchConfig = DEFAULT_CONFIG,
    state: MatchState | None = None,
) -> MatchResult:
    """Match records into clusters of the same opportunity.

    Args:
        records: every current record (unchanged ones too: they are blocked
            against, not re-compared).
        decisions: reviewer rulings in the order made; the latest on a pair
            wins, and every one outranks any score.
        changed: ids of new or changed records. When given, only pairs touching
            them are compared and the other pairs come from ``previous_pairs``
            (the previous run's ``pairs`` under the same config). None compares
            everything (or, with a ``state``, what changed since its last run).
        previous_pairs: see ``changed``; ignored when ``state`` holds a run.
        config: weights and thresholds, all on 0-100 (see ``MatchConfig``).
        state: kept by the caller between runs. After its first run, records
            new, edited (unequal to last time) or missing since then are
            found by comparison, only pairs they can affect are compared, only
            the components they touch are re-clustered, and the result
            equals a full run.

    Returns:
        Clusters (singletons included), auto and review pairs, review pairs,
        pairs produced per blocking key, and how many pairs were compared.
    """
    state = MatchState() if state is None else state
    delta = state.load(records, config, changed)
    prep = state.prep
    rulings = _latest_rulings(decisions, state.index, prep)
    state.blocks.changed = delta.changed if delta.exact else None
    candidates, block_counts = candidate_keys(prep, config, state.blocks)
    ruled = _ruled_keys(state, rulings)
    # after a run that stopped part way, ``changed`` may name too few records
    incremental = changed is not None and not delta.interrupted
    to_score = _to_score(state, delta, candidates, incremental, ruled)
    scored, fresh = _score(prep, to_score, config, ruled)
    model = _carried(state, delta, candidates, previous_pairs, config, fresh)
    pairs = _by_ids(state, model, scored)
    pairs = _apply_rulings(pairs, rulings)
    outcome, again = _cluster(state, delta, model, pairs, rulings, config)
    settled = _settle(state, pairs, outcome, again)
    review = [p for p in settled if p.band == "review"]
    _remember(state, candidates, model.pairs)
    logger.info(
        "matched %d records: %d clusters, %d pairs compared, %d for review",
        len(records),
        len(outcome.clusters),
        len(to_score),
        len(review),
    )
    return MatchResult(outcome.clusters, settled, review, block_counts, len(to_score))


def resume_state(
    records: Sequence[MatchRecord],
    pairs: Iterable[ScoredPair],
    *,
    config: MatchConfig = DEFAULT_CONFIG,
) -> MatchState:
    """A state as a run over ``records`` that found ``pairs`` leaves it, rebuilt
    without comparing anything (for a caller that stored both, not the state).

    ``pairs`` are that run's ``pairs``; pairs a reviewer kept apart are missing
    from them, so name the records of every decision in ``changed`` on the
    next run. Clustering then starts afresh; comparing does not.
    """
    state = MatchState()
    state.load(records, config, None)
    state.blocks.changed = None
    state.candidates, _ = candidate_keys(state.prep, config, state.blocks)
    state.model = _previous_by_row(state, pairs, config)
    state.by_ids = {(p.a, p.b): p for p in state.model.values()}
    state.matched, state.running = True, False
    return state


def _key(a: RecordID, b: RecordID) -> Key:
    return (a, b) if a < b else (b, a)


def _latest_rulings(
    decisions: Iterable[Decision], index: dict[RecordID, int], prep: Prepared
) -> dict[Key, str]:
    rulings: dict[Key, str] = {}
    for decision in decisions:
        a, b = index.get(decision.a), index.get(decision.b)
        if a is None or b is None or a == b:
            continue
        if prep.alive[a] and prep.alive[b]:
            rulings[_key(decision.a, decision.b)] = decision.kind
    return rulings


def _to_score(
    state: MatchState,
    delta: Delta,
    candidates: np.ndarray,
    incremental: bool,
    ruled: np.ndarray,
) -> np.ndarray:
    """Pair keys to compare now: all, or those a change can affect."""
    if not (incremental or delta.exact):
        return arrays.unique(np.concatenate([candidates, ruled]))
    if delta.exact and state.blocks.added is not None:
        # blocking brought the last run's pairs up to date and kept what it added
        return arrays.unique(np.concatenate([state.blocks.added, ruled]))
    left, right = unpack(candidates)
    touched = delta.changed[left] | delta.changed[right]
    keys = [candidates[touched], ruled]
    if delta.exact:
        # pairs of unchanged records that were no candidates last time
        kept = candidates[~touched]
        keys.append(kept[~arrays.member(kept, state.candidates)])
    return arrays.unique(np.concatenate(keys))


def _ruled_keys(state: MatchState, rulings: dict[Key, str]) -> np.ndarray:
    index = state.index
    left = np.array([index[a] for a, _ in rulings], dtype=np.int64)
    right = np.array([index[b] for _, b in rulings], dtype=np.int64)
    return arrays.unique(pack(left, right))


def _band(score: float, config: MatchConfig) -> Band:
    if score >= config.auto_threshold:
        return "auto"
    return "review" if score >= config.review_threshold else "distinct"


def _bands(scores: np.ndarray, config: MatchConfig) -> np.ndarray:
    return np.where(
        scores >= config.auto_threshold,
        2,
        np.where(scores >= config.review_threshold, 1, 0),
    )


BAND_NAMES: tuple[Band, Band, Band] = ("distinct", "review", "auto")


SCORE_CHUNK = 500_000  # pairs scored at once: bounds the feature arrays


def _score(
    prep: Prepared, keys: np.ndarray, config: MatchConfig, ruled_keys: np.ndarray
) -> tuple[dict[int, ScoredPair], dict[int, ScoredPair]]:
    """(ruled pairs, pairs in the auto or review band), by row key."""
    scored: dict[int, ScoredPair] = {}
    model: dict[int, ScoredPair] = {}
    for first in range(0, len(keys), SCORE_CHUNK):
        chunk = keys[first : first + SCORE_CHUNK]
        chunk_scored, chunk_model = _score_chunk(prep, chunk, config, ruled_keys)
        scored |= chunk_scored
        model |= chunk_model
    return scored, model


def _score_chunk(
    prep: Prepared, keys: np.ndarray, config: MatchConfig, ruled_keys: np.ndarray
) -> tuple[dict[int, ScoredPair], dict[int, ScoredPair]]:
    left, right = unpack(keys)
    scores = score_pairs(prep, left, right, config)
    bands = _bands(scores.score, config)
    ruled = arrays.member(keys, ruled_keys)
    picked = np.flatnonzero((bands > 0) | ruled)
    made = _scored_pairs(prep, scores, picked, bands[picked], config)
    scored: dict[int, ScoredPair] = {}
    model: dict[int, ScoredPair] = {}
    for k, pair in zip(picked.tolist(), made, strict=True):
        key = int(keys[k])
        if bands[k] > 0:
            model[key] = pair
        if ruled[k]:
            scored[key] = pair
    return scored, model


def _scored_pairs(
    prep: Prepared,
    scores: PairScores,
    picked: np.ndarray,
    bands: np.ndarray,
    config: MatchConfig,
) -> list[ScoredPair]:
    names = list(scores.features)
    values = np.column_stack([scores.features[n][picked] for n in names]).tolist()
    explanations = explain_all(scores, picked, config.prior)
    ids = prep.ids
    made = []
    rows = zip(
        scores.left[picked].tolist(),
        scores.right[picked].tolist(),
        scores.score[picked].tolist(),
        bands.tolist(),
        values,
        explanations,
        strict=True,
    )
    for left, right, score, band, row, explanation in rows:
        a, b = _key(ids[left], ids[right])
        features = _features(names, row)
        features["model_score"] = score
        made.append(ScoredPair(a, b, score, BAND_NAMES[band], features, explanation))
    return made


def _features(names: list[str], values: list[float]) -> dict[str, float]:
    pairs = zip(names, values, strict=True)
    return {name: round(value, 2) for name, value in pairs if not math.isnan(value)}


@dataclass
class _Model:
    """This run's model pairs (auto or review band) by row key, and how they
    differ from the last run's when the state holds it."""

    pairs: dict[int, ScoredPair]
    keys: np.ndarray  # of ``pairs``
    gone: list[ScoredPair]  # last run's pairs no longer carried
    fresh: list[ScoredPair]  # pairs scored this run
    carried: bool  # ``pairs`` is the state's last model, brought up to date


def _carried(
    state: MatchState,
    delta: Delta,
    candidates: np.ndarray,
    previous: Iterable[ScoredPair],
    config: MatchConfig,
    fresh: dict[int, ScoredPair],
) -> _Model:
    """Model pairs of unchanged records that are still candidates, and the
    pairs scored now (the state's dict is brought up to date in place: a
    change touches few of its pairs)."""
    if delta.exact:
        found = state.model
    else:
        found = _previous_by_row(state, previous, config)
    keys = np.fromiter(found, dtype=np.int64, count=len(found))
    scored = np.fromiter(fresh, dtype=np.int64, count=len(fresh))
    left, right = unpack(keys)
    keep = ~(delta.changed[left] | delta.changed[right])
    keep &= arrays.member(keys, candidates) & ~arrays.member(keys, np.sort(scored))
    gone = [found.pop(key) for key in keys[~keep].tolist()]
    found.update(fresh)
    keys = np.concatenate([keys[keep], scored])
    return _Model(found, keys, gone, list(fresh.values()), delta.exact)


def _previous_by_row(
    state: MatchState, previous: Iterable[ScoredPair], config: MatchConfig
) -> dict[int, ScoredPair]:
    """Previous pairs as the model scored them, by row key."""
    index, alive = state.index, state.prep.alive
    found: dict[int, ScoredPair] = {}
    for pair in previous:
        a, b = index.get(pair.a), index.get(pair.b)
        if a is None or b is None or not (alive[a] and alive[b]):
            continue
        score = pair.features.get("model_score", pair.score)
        band = _band(score, config)
        if band != "distinct":
            explanation = pair.explanation.split(NOTE)[0]
            key = (min(a, b) << 32) | max(a, b)
            found[key] = replace(pair, score=score, band=band, explanation=explanation)
    return found


def _by_ids(
    state: MatchState, model: _Model, scored: dict[int, ScoredPair]
) -> dict[Key, ScoredPair]:
    """The model's pairs and the ruled ones, by ids. The state keeps the
    model's by ids and brings them up to date when the model was carried."""
    if model.carried:
        by_ids = state.by_ids
        for pair in model.gone:
            del by_ids[(pair.a, pair.b)]
        by_ids.update(((p.a, p.b), p) for p in model.fresh)
    else:
        by_ids = {(p.a, p.b): p for p in model.pairs.values()}
    state.by_ids = by_ids
    pairs = dict(by_ids)
    for pair in scored.values():
        pairs[(pair.a, pair.b)] = pair
    return pairs


def _apply_rulings(
    pairs: dict[Key, ScoredPair], rulings: dict[Key, str]
) -> dict[Key, ScoredPair]:
    for key, kind in rulings.items():
        pair = pairs.pop(key)
        if kind == "must_link":
            note = f"{NOTE}reviewer must-link outranks model score {pair.score:.1f}"
            pairs[key] = replace(
                pair, score=100.0, band="auto", explanation=pair.explanation + note
            )
    return pairs


def _cluster(
    state: MatchState,
    delta: Delta,
    model: _Model,
    pairs: dict[Key, ScoredPair],
    rulings: dict[Key, str],
    config: MatchConfig,
) -> tuple[ClusterOutcome, tuple[set[RecordID], Iterable[Key]] | None]:
    """Cluster the components a change touched; keep the others' clusters.

    Also, after an incremental run, the records clustered again or removed
    and their pairs: no other pair is settled otherwise than last run.
    """
    kept_order = delta.exact and state.clustered
    if kept_order:
        region = _region(state, delta, model, rulings)
        inside = _inside(state, model, pairs, rulings, region)
    else:
        state.component_of, state.components = {}, {}
        state.cluster_of, state.held = {}, {}
        inside = {key: pair.score for key, pair in pairs.items()}
        region = {r for key in inside for r in key}
        region |= {r for key in rulings for r in key}
    # entries of the last run's clusters that the region's clusters replace
    replaced = _entry_keys(state, region | delta.removed) if kept_order else None
    must = [k for k, kind in rulings.items() if kind == "must_link"]
    cannot = [k for k, kind in rulings.items() if kind == "cannot_link"]
    rules = ClusterRules(
        link_threshold=config.link_threshold,
        max_cluster_size=config.max_cluster_size,
        anchor_threshold=config.auto_threshold,
        sources=_sources(state, region) if config.distinct_within_source else None,
    )
    outcome = cluster_records(
        sorted(region),
        inside,
        rules,
        _groups([k for k in must if k[0] in region]),
        [k for k in cannot if k[0] in region and k[1] in region],
    )
    _update_clusters(state, region, delta.removed, outcome, (inside, rulings))
    outcome.clusters = _all_clusters(state, outcome.clusters, replaced)
    outcome.held = state.held
    return outcome, (region | delta.removed, inside.keys()) if kept_order else None


def _sources(state: MatchState, region: set[RecordID]) -> dict[RecordID, str]:
    prep = state.prep
    return {r: prep.records[state.index[r]].source for r in region}


def _region(
    state: MatchState, delta: Delta, model: _Model, rulings: dict[Key, str]
) -> set[RecordID]:
    """Records whose cluster may differ from the last run's: those changed or
    removed, those of a model pair gone or scored now (so of every link new,
    gone or scored otherwise), those of a ruling made, changed or withdrawn,
    and all of the last run's components holding one of them."""
    prep = state.prep
    dirty = {prep.ids[row] for row in np.flatnonzero(delta.changed).tolist()}
    dirty |= delta.removed
    for pair in chain(model.gone, model.fresh):
        dirty.add(pair.a)
        dirty.add(pair.b)
    for key in rulings.keys() | state.rulings.keys():
        if rulings.get(key) != state.rulings.get(key):
            dirty.update(key)
    region = set(dirty)
    for record_id in dirty:
        component = state.component_of.get(record_id)
        if component is not None:
            region |= state.components[component]
    return region - delta.removed


def _inside(
    state: MatchState,
    model: _Model,
    pairs: dict[Key, ScoredPair],
    rulings: dict[Key, str],
    region: set[RecordID],
) -> dict[Key, float]:
    """Links between records of ``region``: its model pairs, found by row
    among all of them, and its rulings, each as ruled."""
    rows = np.zeros(len(state.prep), dtype=bool)
    rows[[state.index[r] for r in region]] = True
    left, right = unpack(model.keys)
    found = model.keys[rows[left] & rows[right]].tolist()
    keys = [(p.a, p.b) for p in map(model.pairs.__getitem__, found)]
    keys += [k for k in rulings if k[0] in region and k[1] in region]
    return {k: pairs[k].score for k in keys if k in pairs}


def _update_clusters(
    state: MatchState,
    region: set[RecordID],
    removed: set[RecordID],
    outcome: ClusterOutcome,
    found: tuple[dict[Key, float], dict[Key, str]],
) -> None:
    """Replace the components and clusters of ``region`` and of the records
    ``removed`` (a component whose members all went goes with them)."""
    inside, rulings = found
    touched = region | removed
    old = {state.component_of.pop(r, None) for r in touched} - {None}
    for component in old:
        for record_id in state.components.pop(component):
            state.component_of.pop(record_id, None)
            state.cluster_of.pop(record_id, None)
    for record_id in touched:
        state.cluster_of.pop(record_id, None)
    state.held = {
        k: v for k, v in state.held.items() if not (k[0] in touched or k[1] in touched)
    }
    state.held |= outcome.held
    for cluster in outcome.clusters:
        if len(cluster) > 1:
            state.cluster_of.update(dict.fromkeys(cluster, cluster))
    edges = list(inside) + [k for k in rulings if k[0] in region]
    for members in components(edges):
        label = min(members)
        state.components[label] = members  # type: ignore[index]
        state.component_of.update(dict.fromkeys(members, label))  # type: ignore[arg-type]
    state.rulings = dict(rulings)


def _entry_keys(state: MatchState, records: set[RecordID]) -> set[RecordID]:
    """The first ids of the clusters ``records`` were in after the last run."""
    keys = set()
    for record_id in records:
        cluster = state.cluster_of.get(record_id)
        keys.add(min(cluster) if cluster is not None else record_id)
    return keys


def _all_clusters(
    state: MatchState,
    region_clusters: list[frozenset[RecordID]],
    replaced: set[RecordID] | None,
) -> list[frozenset[RecordID]]:
    """Every live record's cluster, singletons included, by first id.

    With ``replaced`` (an incremental run), the last run's list is kept but for
    the entries under those first ids, and the region's clusters go in their
    place: sorting a list already in order but for a few is a linear pass.
    """
    if replaced is None:
        prep = state.prep
        multi = {id(c): c for c in state.cluster_of.values()}
        entries = [(min(c), c) for c in multi.values()]
        for row in np.flatnonzero(prep.alive).tolist():
            record_id = prep.ids[row]
            if record_id not in state.cluster_of:
                entries.append((record_id, frozenset((record_id,))))
    else:
        entries = [e for e in state.ordered if e[0] not in replaced]
        entries += [(min(c), c) for c in region_clusters]
    entries.sort(key=_first)
    state.ordered = entries
    return [cluster for _, cluster in entries]


def _first(entry: tuple[RecordID, frozenset[RecordID]]) -> RecordID:
    return entry[0]


def _groups(edges: list[Key]) -> list[set[RecordID]]:
    return [set(members) for members in components(edges)]


def _settle(
    state: MatchState,
    pairs: dict[Key, ScoredPair],
    outcome: ClusterOutcome,
    again: tuple[set[RecordID], Iterable[Key]] | None,
) -> list[ScoredPair]:
    """Every pair in id order; auto pairs the clustering kept apart go to
    review, with the reason. With ``again`` (records and their pairs) only
    those pairs are settled anew; the others are as the last run left them.
    """
    cluster_of, held = state.cluster_of, outcome.held
    if again is None:
        entries, first = list(pairs.items()), 0
    else:
        touched, keys = again
        # a pair's two records are in one component: both touched or neither
        entries = [entry for entry in state.settled if entry[0][0] not in touched]
        first = len(entries)
        entries += [(key, pairs[key]) for key in keys]
    for at in range(first, len(entries)):
        key, pair = entries[at]
        if pair.band == "auto" and pair.b not in cluster_of.get(pair.a, ()):
            reason = held.get(key, CHAINING)
            note = f"{NOTE}not merged: {reason}"
            pair = replace(pair, band="review", explanation=pair.explanation + note)
            entries[at] = (key, pair)
    entries.sort(key=itemgetter(0))  # in order but for the pairs settled anew
    state.settled = entries
    state.clustered = True
    return [pair for _, pair in entries]


def _remember(
    state: MatchState, candidates: np.ndarray, model: dict[int, ScoredPair]
) -> None:
    state.candidates = candidates
    state.model = model
    state.matched, state.running = True, False
