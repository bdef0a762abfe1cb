"""Where the processes keep files they make: never inside the checkout.

A fresh checkout must stay clean after any command is run from it, so the
embedded Redis data and compiled caches live in per-user state and cache
directories (XDG), overridable by environment variables for services.
"""

from __future__ import annotations

import os
from pathlib import Path


def _base(env: str, xdg: str, fallback: str) -> Path:
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit)
    root = os.environ.get(xdg)
    return (Path(root) if root else Path.home() / fallback) / "centralita"


def state_dir() -> Path:
    """Data that outlives a run (embedded Redis dump): $CENTRALITA_STATE_DIR or XDG state."""
    path = _base("CENTRALITA_STATE_DIR", "XDG_STATE_HOME", ".local/state")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Files rebuilt at will (compiled catalogues): $CENTRALITA_CACHE_DIR or XDG cache."""
    path = _base("CENTRALITA_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
    path.mkdir(parents=True, exist_ok=True)
    return path
