"""Whether a process still lives: what tells a killed run's leftovers (pool slots, scratch folders) apart."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """``True`` while a process with this pid exists on this machine (also one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
