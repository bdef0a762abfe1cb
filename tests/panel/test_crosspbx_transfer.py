"""Transfer to a queue of another PBX through the panel's API: the PBX is checked and
passed to the dialer, which picks the inter-PBX transfer context (or refuses)."""

from __future__ import annotations

from ami_listener.dialer import TRANSFER_CONTEXT, transfer_target
from servicedesk.config import Connections, PbxLink
from servicedesk.crosspbx_config import PbxTrunk
from servicedesk.outbound import requests_stream
from tests.panel.conftest import Panel, login


def test_transfer_names_a_known_pbx(panel: Panel) -> None:
    client = panel.app.test_client()
    h = {"X-CSRFToken": login(client, "ana")}
    unknown = {"queue": "erp_es", "pbx": "elsewhere"}
    assert client.post("/api/calling/transfer", json=unknown, headers=h).status_code == 404
    own = panel.cfg.connections.pbx_ids()[0]
    resp = client.post("/api/calling/transfer", json={"queue": "erp_es", "pbx": own}, headers=h)
    assert resp.status_code == 202
    ((_id, fields),) = panel.bus.read(requests_stream("centralita"))
    assert fields["pbx"] == own and fields["queue"] == "erp_es"


def test_the_dialer_goes_through_the_trunk_only_where_there_is_one() -> None:
    trunk = PbxTrunk(host="127.0.0.1", port=5062)
    conns = Connections(
        pbx_id="cdmx",
        pbxs={
            "cdmx": PbxLink(trunk=PbxTrunk(host="127.0.0.1", port=5061)),
            "mty": PbxLink(trunk=trunk),
            "gdl": PbxLink(),  # no trunk address: no transfers to it
        },
    )
    assert transfer_target(conns, "") == TRANSFER_CONTEXT
    assert transfer_target(conns, "cdmx") == TRANSFER_CONTEXT
    assert transfer_target(conns, "mty") == "centralita-transfer-mty"
    assert transfer_target(conns, "gdl") is None
    assert transfer_target(conns, "nowhere") is None
