"""Values layercontract takes on its command line and forwards to pytest, checked the same way
in both places (a bad one is one usage error, exit 2, before anything runs)."""

from __future__ import annotations

import argparse
import math

MAX_SECONDS = 7 * 24 * 3600.0  # a week: past it, setitimer and the watchdog's arithmetic break


def seconds(text: str) -> float:
    """argparse type: a finite number of seconds, 0 <= value <= a week (0: no limit)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{str(text)[:40]!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{str(text)[:40]!r}: give a finite number of seconds >= 0 and at most {MAX_SECONDS:g} (0: no limit)"
        )
    return value
