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
    log = (RUN / "mty" / "messages.log").read_text(encoding="utf-8")
    read = [  # what mty's origin check read (priority 1), one per call
        m["value"]
        for line in log.splitlines()
        if "[s@centralita-xpbx-origin:1]" in line and (m := SET.search(line))
    ]
    accepted = _sets("mty", "CENTRALITA_ORIGIN")
    assert [v for v in read if v] == sent  # what cdmx added is what mty read
    assert "" in read  # the call that carried no header
    assert accepted == [sent[0], "cdmx/7.7"]  # the genuine one, and the bad-caller case
    peers = {"cdmx"}  # mty's view of the desk
    for value in accepted:
        assert parse_origin(value, peers) == ("cdmx", value.split("/", 1)[1])
    for refused in set(read) - set(accepted) - {""}:
        assert parse_origin(refused, peers) is None, refused
    assert _sets("cdmx", "CENTRALITA_HANDOFF")[0] == "mty"


def test_the_caller_header_filled_the_pop_of_the_genuine_call_only() -> None:
    sent = _sets("cdmx", "PJSIP_HEADER(add,X-Centralita-Caller)")
    assert sent[0] == "12/345/network/high/1"  # what rig-caller's "IVR" set on cdmx
    got = {
        var: _sets("mty", var)
        for var in (
            "CENTRALITA_CONTACT",
            "CENTRALITA_INCIDENT",
            "CENTRALITA_CATEGORY",
            "CENTRALITA_PRIORITY",
            "CENTRALITA_VIP",
        )
    }
    # once each: the refused origins read no caller header; "Net work" failed its checks
    assert got == {
        "CENTRALITA_CONTACT": ["12"],
        "CENTRALITA_INCIDENT": ["345"],
        "CENTRALITA_CATEGORY": ["network"],
        "CENTRALITA_PRIORITY": ["high"],
        "CENTRALITA_VIP": ["1"],
    }
    assert "12/345/Net work/high/1" in _sets("mty", "CENTRALITA_XPBX_RAW")
