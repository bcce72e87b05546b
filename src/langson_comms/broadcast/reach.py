"""Reach of loudspeaker airings: estimated listeners × aired sketches.

The plan counts "information reaches" (lượt tiếp cận thông tin); for a loudspeaker
station the only figure available is its estimated audience, so one aired sketch
reaches the station's ``listeners`` once.  This is an estimate and says so: the
listener figures are the stations' own (see stations.csv), and the same person may be
counted at every airing, which is what a "reach" (not a "person reached") means here.
"""

from __future__ import annotations

from collections.abc import Iterable

from .scheduler import Airing, ItemKind
from .stations import StationRegistry

__all__ = ["planned_reach", "reach"]


def reach(listeners: int, aired_sketches: int) -> int:
    """Reaches of one station: its estimated listeners times the sketches it aired."""
    if listeners < 0 or aired_sketches < 0:
        raise ValueError("listeners and aired sketches cannot be negative")
    return listeners * aired_sketches


def planned_reach(airings: Iterable[Airing], stations: StationRegistry) -> int:
    """Reaches the plan would give if every sketch airing went out (for pacing)."""
    total = 0
    for airing in airings:
        if airing.kind is ItemKind.SKETCH:
            station = stations.find(airing.station)
            if station is not None:
                total += station.listeners
    return total
