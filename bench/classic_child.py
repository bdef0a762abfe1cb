"""The classic AGI process of `bench.fastagi`: the real entry point, `centralita-ivr.agi ivr
--config=FILE`, with the benchmark's in-memory services in place of the database and Redis,
built in the background on first use as the real ones are (so the greeting goes out first)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from ivr.classic_agi import main
from ivr.classic_setup import DeferredServices

CONFIG = Path(__file__).resolve().parent.parent / "centralita.example.toml"
OPEN_AT = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Monday 11:00 in Mexico City


def _services() -> object:
    from bench.fastagi import BenchServices

    return BenchServices()


if __name__ == "__main__":
    services = DeferredServices(_services, clock=lambda: OPEN_AT)
    sys.exit(main(["ivr", f"--config={CONFIG}"], services=services))
