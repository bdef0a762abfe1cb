"""The two-box run on a real Asterisk 22.10.1 (tests/data/crosspbx_asterisk): today's
generator still writes the files that were loaded, the boxes logged no warning or error,
and the listener agrees with the dialplan on which origins to accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ami_listener.origin import parse_origin
from asterisk_conf.generate import generate
from asterisk_conf.site import SiteOptions
from servicedesk.config import load_config
from servicedesk.pbx import for_pbx
from tests.ops.conftest import config_with

RUN = Path(__file__).resolve().parents[1] / "data" / "crosspbx_asterisk"
SET = re.compile(r'Set\("(?P<chan>[^"]+)", "(?P<var>[^"=]+)=(?P<value>[^"]*)"\)')


def _sets(box: str, var: str) -> list[str]:
    text = (RUN / box / "messages.log").read_text(encoding="utf-8")
    return [m["value"] for m in SET.finditer(text) if m["var"] == var]


@pytest.mark.parametrize("box", ["cdmx", "mty"])
def test_the_loaded_files_are_what_the_generator_writes(tmp_path: Path, box: str) -> None:
    desk = load_config(config_with(tmp_path, "\n" + (RUN / "pbxs.toml").read_text()))
    out = generate(for_pbx(desk, box), SiteOptions(env={}))
    for name in ("extensions_crosspbx.conf", "pjsip_crosspbx.conf"):
        assert out.files[name] == (RUN / box / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("box", ["cdmx", "mty"])
def test_no_warning_or_error(box: str) -> None:
    log = (RUN / box / "messages.log").read_text(encoding="utf-8")
    assert "Executing [" in log  # the calls ran
    bad = [ln for ln in log.splitlines() if " WARNING[" in ln or " ERROR[" in ln]
    assert bad == []


def test_the_header_crossed_and_the_listener_reads_it_alike() -> None:
    sent = _sets("cdmx", "PJSIP_HEADER(add,X-Centralita-Call)")
    assert sent[0].startswith("cdmx/")
    raw = _sets("mty", "CENTRALITA_XPBX_RAW")
    accepted = _sets("mty", "CENTRALITA_ORIGIN")
    assert raw[: len(sent)] == sent  # what cdmx added is what mty read
    assert accepted == [sent[0]]  # only the genuine one
    peers = {"cdmx"}  # mty's view of the desk
    assert parse_origin(accepted[0], peers) == ("cdmx", sent[0].split("/", 1)[1])
    for refused in raw[1:]:
        if refused:
            assert parse_origin(refused, peers) is None, refused
    assert _sets("cdmx", "CENTRALITA_HANDOFF")[0] == "mty"
