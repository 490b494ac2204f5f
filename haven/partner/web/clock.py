"""The idle lock's clock: seconds that keep counting while the machine sleeps.

time.monotonic stops during suspend on Linux: a laptop closed with the
inbox unlocked, then seized and opened hours later, would wake with its
sessions still fresh. CLOCK_BOOTTIME counts the suspended time; where it
does not exist, wall time does (it may jump when the clock is set, which
at worst locks early, or late by the size of the jump).
"""

from __future__ import annotations

import time


def idle_clock() -> float:
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        return time.clock_gettime(boottime)
    return time.time()
