"""Cold spots: how many opportunities young people can reach, area by area.

``measure`` is the pure core over plain records (numpy, no storage);
``load`` reads those records from storage and the gazetteer; ``output`` writes
the CSV and the caveats every figure carries; ``png`` draws the map image.
"""

from __future__ import annotations

from hub.coldspots.measure import (
    DEFAULT_RADIUS_KM,
    Area,
    AreaCoverage,
    CoverageReport,
    OpportunityRecord,
    coldest,
    known_open_at,
    measure_coverage,
    open_now,
)

__all__ = [
    "DEFAULT_RADIUS_KM",
    "Area",
    "AreaCoverage",
    "CoverageReport",
    "OpportunityRecord",
    "coldest",
    "known_open_at",
    "measure_coverage",
    "open_now",
]
