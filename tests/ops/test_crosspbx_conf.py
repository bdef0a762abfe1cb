"""The inter-PBX trunk in the generated config, and the origin header's check (pbxsim
runs the same dialplan shape; the real Asterisk run is in tests/data/crosspbx_asterisk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asterisk_conf.crosspbx import CALLER_HEADER, CALLER_VARS, HEADER, origin_regex, peers
from asterisk_conf.generate import generate
from asterisk_conf.parse import parse_conf
from asterisk_conf.render import UnsafeValue
from asterisk_conf.site import SiteOptions
from pbxsim import interpbx
from pbxsim import sim as pbxsim_sim
from pbxsim.dialplan import parse_extensions
from servicedesk.config import ConfigError, load_config
from servicedesk.pbx import for_pbx
from tests.ops.conftest import TRUNKS, TWO_PBXS, config_with

SITE = SiteOptions(trunk_host="203.0.113.10", env={})


def _desk(tmp_path: Path, trunks: str = TRUNKS):  # type: ignore[no-untyped-def]
    return load_config(config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=6038) + trunks))


def test_each_box_gets_a_trunk_to_the_other(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    cdmx = for_pbx(desk, "cdmx")
    out = generate(cdmx, SITE)
    pjsip = parse_conf(out.files["pjsip_crosspbx.conf"])
    sections = {(s.name, s.get("type") or "endpoint"): s for s in pjsip.sections}
    endpoint = sections[("pbx-mty", "endpoint")]
    assert endpoint.get("context") == "centralita-from-pbx"
    assert sections[("pbx-mty", "aor")].get("contact") == "sip:127.0.0.1:5062"
    assert sections[("pbx-mty-identify", "identify")].get("match") == "127.0.0.1:5062"
    assert '#include "pjsip_crosspbx.conf"' in out.files["pjsip.conf"]
    assert '#include "extensions_crosspbx.conf"' in out.files["extensions.conf"]
    assert "CENTRALITA_PBX = cdmx" in out.files["extensions.conf"]
    plan = parse_extensions(out.files["extensions_crosspbx.conf"])
    for queue in desk.queue_definitions():
        steps = plan[("centralita-transfer-mty", queue)]
        dial = next(s for s in steps if s.app == "Dial")
        assert dial.data == (
            f"PJSIP/{queue}@pbx-mty,30,"
            "b(centralita-xpbx-header^s^1(${CENTRALITA_PBX}/${CHANNEL(linkedid)}"
            "^${CENTRALITA_CONTACT}/${CENTRALITA_INCIDENT}/${CENTRALITA_CATEGORY}"
            "/${CENTRALITA_PRIORITY}/${CENTRALITA_VIP}))"
        )
        inbound = [s.app for s in plan[("centralita-from-pbx", queue)]]
        # the origin is read and checked before the caller joins the queue
        assert inbound.index("Gosub") < inbound.index("Queue")
    # cdmx accepts origins from mty only (its own id would be a forgery)
    assert origin_regex(cdmx) == "^(mty)/[-.0-9A-Z_a-z]+$"
    assert [pid for pid, _t in peers(cdmx)] == ["mty"]


def test_a_box_without_a_trunk_neither_sends_nor_takes_transfers(tmp_path: Path) -> None:
    desk = _desk(tmp_path, trunks='\n[connections.pbxs.mty.trunk]\nhost = "127.0.0.1"\n')
    for pid in ("cdmx", "mty"):
        out = generate(for_pbx(desk, pid), SITE)
        assert "[" not in out.files["extensions_crosspbx.conf"]
        assert "[" not in out.files["pjsip_crosspbx.conf"]


@pytest.mark.parametrize("host", ["10.0.0.1;x", "box one", "bóx", "-box", "", "a" * 300])
def test_trunk_host_is_checked(tmp_path: Path, host: str) -> None:
    trunk = f'\n[connections.pbxs.mty.trunk]\nhost = "{host}"\n'
    with pytest.raises(ConfigError, match="trunk"):
        _desk(tmp_path, trunks=trunk)


def test_pbxsim_runs_the_generated_shape(tmp_path: Path) -> None:
    """pbxsim restates the contexts: every step equals the generated one (h aside)."""
    desk = _desk(tmp_path)
    for pid in ("cdmx", "mty"):
        generated = parse_extensions(generate(for_pbx(desk, pid), SITE).files[EXT])
        restated = parse_extensions(interpbx.crosspbx_extensions(desk, pid))
        assert {k: v for k, v in generated.items() if k[1] != "h"} == restated


EXT = "extensions_crosspbx.conf"


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("cdmx/1796426572.0", "cdmx/1796426572.0"),
        ("mty/1796426572.0", None),  # the receiving box's own id
        ("cdmx/1 2", None),  # FILTER would drop the space: lengths differ
        ("cdmx/1796426572.0" + "9" * 90, None),  # beyond ORIGIN_MAX
        ('cdmx/1"2', None),
        ("cdmx/1²", None),
        ("", None),  # no header
    ],
)
async def test_the_receiving_box_checks_the_header(
    tmp_path: Path, value: str, origin: str | None
) -> None:
    desk = _desk(tmp_path)
    async with pbxsim_sim.PbxSim(desk, record=True) as mty, pbxsim_sim.PbxSim(desk) as cdmx:
        interpbx.connect(desk, {"cdmx": cdmx.engine, "mty": mty.engine})
        headers = {HEADER: value} if value else {}
        assert "pbx-mty" in cdmx.engine.peer_pbxs
        leg = interpbx.receive(
            mty.engine, "pbx-cdmx", "network_es", "5215550104", "Cliente", headers
        )
        assert leg is not None
        await mty.run_for(5)
    sets = [
        dict(e.headers)["Value"]
        for e in mty.events
        if e.headers[0] == ("Event", "VarSet")
        and dict(e.headers)["Variable"] == "CENTRALITA_ORIGIN"
    ]
    assert sets == ([origin] if origin else [])
    queued = [e for e in mty.events if ("Application", "Queue") in e.headers]
    assert queued, "the caller reaches the queue either way"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("12/345/network/high/1", ("12", "345", "network", "high", "1")),
        ("//network//0", ("", "", "network", "", "0")),
        ("12/345/net work/high/1", None),  # a space: FILTER drops it, lengths differ
        ("12/345/Network/high/1", None),  # not the shape the IVR sets
        ("12/345/network/high/1/extra", None),
        ("x2/345/network/high/1", None),
        (None, None),  # no caller header: nothing set
    ],
)
async def test_the_caller_header_fills_the_pop_or_nothing(
    tmp_path: Path, caller: str | None, expected: tuple[str, ...] | None
) -> None:
    desk = _desk(tmp_path)
    headers = {HEADER: "cdmx/17.3"}
    if caller is not None:
        headers[CALLER_HEADER] = caller
    async with pbxsim_sim.PbxSim(desk, record=True) as mty, pbxsim_sim.PbxSim(desk) as cdmx:
        interpbx.connect(desk, {"cdmx": cdmx.engine, "mty": mty.engine})
        assert interpbx.receive(mty.engine, "pbx-cdmx", "network_es", "5215550104", "", headers)
        await mty.run_for(5)
    got = {}
    for e in mty.events:
        h = dict(e.headers)
        if h.get("Event") == "VarSet" and h["Variable"] in CALLER_VARS:
            got[h["Variable"]] = h["Value"]
    if expected is None:
        assert got == {}
    else:
        assert tuple(got[v] for v in CALLER_VARS) == expected


def test_a_phone_named_like_a_trunk_is_refused(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    agent = desk.agents[0].model_copy(update={"interface": "PJSIP/pbx-mty"})
    cdmx = for_pbx(desk, "cdmx").model_copy(update={"agents": [agent]})
    with pytest.raises(UnsafeValue, match="pbx-mty"):
        generate(cdmx, SITE)
