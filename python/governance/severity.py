"""The severity scale of metric anomalies and of the incidents built from them, defined once.

A level's rank is its position in `SEVERITY_LEVELS`: 0 (`none`, not flagged) to 4 (`critical`).
The detector writes the level, the alerts store the rank beside it for sorting, the dashboard
sorts and sizes by it and the published-data checks accept exactly these levels.
``tests/python/test_severity.py`` fails when a copy in the dbt yml or the SQL drifts from it.
"""

from __future__ import annotations

#: Every level, least severe first; a level's rank is its position.
SEVERITY_LEVELS = ("none", "low", "medium", "high", "critical")
#: Level -> rank (0-4).
SEVERITY_RANK = {level: rank for rank, level in enumerate(SEVERITY_LEVELS)}
#: The levels a flagged anomaly or an incident can carry (all but `none`).
FLAGGED_SEVERITY_LEVELS = SEVERITY_LEVELS[1:]
