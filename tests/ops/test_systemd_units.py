"""`centralita conf systemd`: units systemd itself accepts, sandboxed and restarting."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from tests.ops.conftest import EXAMPLE, TWO_PBXS, config_with

SANDBOX_KEYS = {
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def _generate(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "centralita.cli",
            "conf",
            "systemd",
            "--config",
            str(config),
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: scripts/install-deps.sh installs Debian's systemd"
    return subprocess.run(
        [analyze, "verify", *map(str, paths)], capture_output=True, text=True, timeout=120
    )


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_units_pass_systemd_analyze_verify_with_no_complaint(tmp_path: Path) -> None:
    out = tmp_path / "units"
    done = _generate(EXAMPLE, out)
    assert done.returncode == 0, done.stderr
    units = sorted(out.iterdir())
    names = [p.name for p in units]
    assert names == [
        "centralita-ivr.service",
        "centralita-listener-pbx-cdmx-1.service",
        "centralita-monthly-report.service",
        "centralita-monthly-report.timer",
        "centralita-panel.service",
    ]
    verified = _verify(units)
    # verify exits 0 on parse warnings too: any output at all is a defect.
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == "" and verified.stderr.strip() == "", verified.stderr


def test_a_broken_unit_is_caught_by_the_same_check(tmp_path: Path) -> None:
    """The check above can fail: a unit pointing at a missing executable is refused."""
    out = tmp_path / "units"
    assert _generate(EXAMPLE, out, "--bin-dir", str(tmp_path / "nowhere")).returncode == 0
    verified = _verify(sorted(out.glob("*.service")))
    assert "is not executable" in verified.stderr


def test_every_long_running_unit_restarts_on_failure_as_a_sandboxed_user(tmp_path: Path) -> None:
    out = tmp_path / "units"
    assert _generate(EXAMPLE, out, "--user", "sdesk", "--workers", "3").returncode == 0
    for name in ("centralita-ivr", "centralita-panel", "centralita-listener-pbx-cdmx-1"):
        svc = _unit(out / f"{name}.service")["Service"]
        assert svc["Restart"] == "on-failure"
        assert svc["User"] == "sdesk" and svc["Group"] == "sdesk"
        for key, value in SANDBOX_KEYS.items():
            assert svc[key] == value, (name, key)
        assert svc["ReadWritePaths"] == "/var/lib/centralita"
        assert svc["EnvironmentFile"].startswith("-/etc/centralita/")
    panel = _unit(out / "centralita-panel.service")["Service"]["ExecStart"]
    assert panel.endswith("--workers 3")
    timer = _unit(out / "centralita-monthly-report.timer")["Timer"]
    assert timer["OnCalendar"].startswith("*-*-01 ")
    assert timer["Persistent"] == "true"
    report = _unit(out / "centralita-monthly-report.service")["Service"]
    assert report["Type"] == "oneshot" and report["ExecStart"].endswith("--send")


def test_one_listener_unit_per_pbx(tmp_path: Path) -> None:
    config = config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=5039))
    out = tmp_path / "units"
    done = _generate(config, out)
    assert done.returncode == 0, done.stderr
    listeners = sorted(p.name for p in out.glob("centralita-listener-*.service"))
    assert listeners == ["centralita-listener-cdmx.service", "centralita-listener-mty.service"]
    exec_start = _unit(out / "centralita-listener-mty.service")["Service"]["ExecStart"]
    assert exec_start.endswith("--pbx mty")
    verified = _verify(sorted(out.iterdir()))
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
