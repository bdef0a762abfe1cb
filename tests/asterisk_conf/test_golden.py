"""The example config's generated files, byte for byte (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
import random
import tomllib
from pathlib import Path

import pytest

from asterisk_conf.generate import generate
from servicedesk.config import parse_config

from .conftest import GOLDEN_SITE

GOLDEN = Path(__file__).parent / "golden"
EXAMPLE = Path(__file__).parents[2] / "centralita.example.toml"
FILES = (
    "extensions.conf",
    "extensions_calling.conf",
    "extensions_crosspbx.conf",
    "features.conf",
    "manager.conf",
    "manager_dialer.conf",
    "musiconhold.conf",
    "pjsip.conf",
    "pjsip_crosspbx.conf",
    "pjsip_supervisors.conf",
    "queuerules.conf",
    "queues.conf",
)


@pytest.mark.parametrize("name", FILES)
def test_matches_golden(generated, name):
    path = GOLDEN / name
    text = generated.files[name]
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def test_generate_writes_exactly_the_golden_set(generated):
    assert tuple(generated.files) == FILES
    assert generated.secrets == {}


def test_output_does_not_depend_on_input_order(generated):
    """Agents, skills and lines in another order must give the same bytes."""
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    rng = random.Random(7)
    rng.shuffle(data["agents"])
    for key in ("lines", "skills", "calendars"):
        items = list(data[key].items())
        rng.shuffle(items)
        data[key] = dict(items)
    shuffled = parse_config(data)
    again = generate(shuffled, GOLDEN_SITE)
    for name in FILES:
        assert again.files[name] == generated.files[name], name


def test_no_timestamps_or_paths_leak(generated):
    for name, text in generated.files.items():
        assert "2026" not in text and "/work/" not in text, name
