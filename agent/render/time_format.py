"""Short human durations for rendered cases: `45s`, `2m10s`, `3h05m`, `4d02h`."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """Two units at most, rounded down to whole seconds; negative input is shown as 0s."""
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_offset(seconds: float) -> str:
    """A relative time, e.g. `+2m10s`."""
    return "+" + format_duration(seconds)
