"""systemd units for a production desk: IVR, one listener per PBX, panel, monthly report.

Written from the same `centralita.toml` as the Asterisk files, so a deployment has one source
of truth. Every long-running unit restarts on failure (our processes exit non-zero when they
cannot go on, rather than limp) and runs as a dedicated, unprivileged user in a sandbox that
can write only to the state directory. Secrets stay out of the units: they come from an
`EnvironmentFile` kept mode 0600 by the administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The sandbox every Centralita process runs in. None of them needs to write outside the
# state directory, load kernel modules, change the clock or gain privileges.
_SANDBOX = """\
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0027
StateDirectory=centralita
StateDirectoryMode=0750
WorkingDirectory=/var/lib/centralita
ReadWritePaths=/var/lib/centralita"""


@dataclass(frozen=True)
class UnitSettings:
    """Where things live on the target machine."""

    bin_dir: Path  # holds the `centralita` executable (the virtual environment's bin/)
    config_path: Path = Path("/etc/centralita/centralita.toml")
    env_file: Path = Path("/etc/centralita/centralita.env")
    user: str = "centralita"
    panel_workers: int = 2
    panel_port: int = 8080
    report_time: str = "06:00"  # local time on the 1st of each month


def _service(description: str, exec_start: str, settings: UnitSettings, *, after: str) -> str:
    return f"""\
[Unit]
Description={description}
Documentation=man:systemd.service(5)
After={after}
Wants=network-online.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
User={settings.user}
Group={settings.user}
EnvironmentFile=-{settings.env_file}
Environment=PYTHONUNBUFFERED=1 CENTRALITA_LOG_FORMAT=json
ExecStart={exec_start}
Restart=on-failure
RestartSec=2s
TimeoutStopSec=20s
{_SANDBOX}

[Install]
WantedBy=multi-user.target
"""


def render_units(pbx_ids: list[str], settings: UnitSettings) -> dict[str, str]:
    """File name -> unit text. One listener unit per PBX: each owns one AMI link, so a
    PBX that is down or slow never holds up the records of another."""
    exe = settings.bin_dir / "centralita"
    cfg = settings.config_path
    net = "network-online.target redis-server.service postgresql.service"
    units: dict[str, str] = {
        "centralita-ivr.service": _service(
            "Centralita FastAGI IVR",
            f"{exe} ivr --config {cfg}",
            settings,
            after=net,
        ),
        "centralita-panel.service": _service(
            "Centralita CTI panel",
            f"{exe} panel --config {cfg} --port {settings.panel_port}"
            f" --workers {settings.panel_workers}",
            settings,
            after=net,
        ),
    }
    for pbx in pbx_ids:
        units[f"centralita-listener-{pbx}.service"] = _service(
            f"Centralita AMI listener for PBX {pbx}",
            f"{exe} listener --config {cfg} --pbx {pbx}",
            settings,
            after=net,
        )
    units["centralita-monthly-report.service"] = f"""\
[Unit]
Description=Centralita monthly service report to each client
After=network-online.target postgresql.service

[Service]
Type=oneshot
User={settings.user}
Group={settings.user}
EnvironmentFile=-{settings.env_file}
ExecStart={exe} stats monthly --config {cfg} --send
{_SANDBOX}
"""
    units["centralita-monthly-report.timer"] = f"""\
[Unit]
Description=Send the monthly service reports on the 1st of each month

[Timer]
OnCalendar=*-*-01 {settings.report_time}:00
Persistent=true
Unit=centralita-monthly-report.service

[Install]
WantedBy=timers.target
"""
    return units


def write_units(pbx_ids: list[str], settings: UnitSettings, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_units(pbx_ids, settings).items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written
