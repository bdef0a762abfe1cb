"""Shared fixtures: one generation of the example config with fixed site options."""

from __future__ import annotations

import pytest

from asterisk_conf.generate import GeneratedConfig, generate
from asterisk_conf.parse import ConfFile, parse_conf
from asterisk_conf.site import SiteOptions

GOLDEN_SITE = SiteOptions(trunk_host="203.0.113.10", env={})


@pytest.fixture(scope="session")
def generated(example_config) -> GeneratedConfig:
    return generate(example_config, GOLDEN_SITE)


@pytest.fixture(scope="session")
def parsed(generated) -> dict[str, ConfFile]:
    return {name: parse_conf(text) for name, text in generated.files.items()}
