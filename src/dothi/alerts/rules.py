"""Warning rules evaluated on every accepted batch of observations (see AlertRule)."""

from __future__ import annotations


def watch() -> None:
    """Clear the per-process compiled rules when a rule or a sensor changes."""
