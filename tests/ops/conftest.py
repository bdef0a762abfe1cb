"""Helpers for the operations tests: configs with several PBXs and free metrics ports."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "centralita.example.toml"

TWO_PBXS = """
[connections.pbxs.cdmx.ami]
host = "127.0.0.1"
port = {port_a}
username = "centralita"
secret_env = "CENTRALITA_AMI_SECRET_CDMX"

[connections.pbxs.mty.ami]
host = "127.0.0.1"
port = {port_b}
username = "centralita_mty"
secret_env = "CENTRALITA_AMI_SECRET_MTY"
"""

# the inter-PBX trunk of each box (asterisk_conf.crosspbx): transfers cdmx <-> mty
TRUNKS = """
[connections.pbxs.cdmx.trunk]
host = "127.0.0.1"
port = 5061

[connections.pbxs.mty.trunk]
host = "127.0.0.1"
port = 5062
"""


def config_with(tmp_path: Path, extra: str = "", **replacements: str) -> Path:
    """The example config with text replaced and TOML tables appended."""
    text = EXAMPLE.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "centralita.toml"
    path.write_text(text + extra)
    return path
