"""`centralita config check` on the example and on each broken copy of it.

Every file in tests/config_bad/ is the example with exactly one defect; the
command must refuse it with exit code 1 and its own message naming the key path.
The commands run as real subprocesses (python -m centralita), concurrently.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "config_bad"
EXAMPLE = ROOT / "centralita.example.toml"

EXPECTED = {
    "bad_region": "service.default_region: unknown phone region 'Mexico'; use an ISO 3166 code such as 'MX'",
    "service_timezone": "service.timezone: unknown time zone 'Mexico City'",
    "session_too_short": "connections.fastagi.session_limit: 60 s is shorter than the longest IVR path with these prompts and digit timeouts (about 240 s)",
    "agent_unknown_skill": "agents[1].skills.printers: unknown skill 'printers' (agent 1002); known: email, erp, general, hardware, network",
    "always_open_with_hours": "calendars.always: always_open = true and hours are exclusive",
    "bad_at_risk": "sla.at_risk_percent: Input should be less than or equal to 99 (got 120)",
    "bad_did": "lines.vip.did: '+52 55 VIP' does not match the expected form ^\\+?[0-9]{3,20}$",
    "bad_language": "lines.tollfree.language: Input should be 'es' or 'en' (got 'fr')",
    "bad_level": "agents[3].skills.network: level 11 is outside 1..10",
    "bad_port": "connections.ami.port: Input should be a valid integer, unable to parse string as an integer (got '5038x')",
    "bad_syntax": "TOML syntax error: Illegal character '\\n' (at line 216, column 18): name = \"Ana López",
    "duplicate_did": "lines.vip.did: duplicate DID +528008906000 (also lines.tollfree)",
    "duplicate_dtmf": "skills.erp.dtmf: digit 1 is also skills.network",
    "duplicate_login": "agents[5].login: duplicate login '1003' (also agents[2])",
    "hour_25": "calendars.office.hours.tue: malformed time in shift '15:00-25:00'",
    "malformed_time": "calendars.office.hours.mon: malformed shift '9:00-13:00': expected 'HH:MM-HH:MM'",
    "missing_escalation_level": "escalation.levels: missing level 3 (levels 1, 2 and 3 are required)",
    "missing_priority": "sla.priorities: missing planned (every priority needs a table; an empty one means no clock)",
    "missing_section": "contracts: required key is missing",
    "missing_sla_calendar": "sla.priorities.high: a clocked priority needs a calendar",
    "narrowing_rule": "routing.rules.standard.steps[1]: steps must widen: after_seconds must increase and max_penalty must not decrease",
    "negative_allotment": "contracts.plans.basic.allotments.critical: allotment -8 must be >= 0",
    "overlapping_shifts": "calendars.office.hours.wed: shifts '09:00-13:00' and '12:30-18:00' overlap",
    "shift_backwards": "calendars.office.hours.thu: shift '18:00-15:00' ends before it starts",
    "sla_unknown_calendar": "sla.priorities.low.calendar: unknown calendar 'oficina'; known: always, extended, office",
    "two_general_skills": "skills: exactly one skill must be general = true (found 2: hardware, general)",
    "unknown_calendar": "lines.vip.calendar: unknown calendar 'weekend'; known: always, extended, office",
    "unknown_holiday_country": "calendars.office.holidays.country: holidays package: Country XX not available",
    "unknown_key": "lines.tollfree.colour: unknown key",
    "unknown_priority": "sla.priorities.urgent: unknown key; expected 'critical', 'high', 'medium', 'low' or 'planned'",
    "unknown_queue": "queues.erp_en: no skill/language makes queue 'erp_en'; known: email_en, email_es, erp_es, general_en, general_es, hardware_en, hardware_es, network_en, network_es",
    "unknown_rule": "routing.rule_vip: unknown queue rule 'gold'; known: critical, standard, vip",
    "unknown_timezone": "calendars.extended.timezone: unknown time zone 'America/Mexico_Cty'",
    "transfer_code_agent": "transfer_codes.general_en: code 1003 is also an agent's extension",
    "transfer_code_duplicate": "transfer_codes.general_en: code 808 is also the code of general_es",
    "transfer_code_letters": "transfer_codes.general_en: '80A' does not match the expected form ^[0-9]{2,8}$",
    "transfer_code_prefix": "transfer_codes.general_en: code 80 begins network_es's 801: the phone would wait for more digits",
    "transfer_code_unknown_queue": "transfer_codes.erp_en: no skill/language makes queue 'erp_en'; known: email_en, email_es, erp_es, general_en, general_es, hardware_en, hardware_es, network_en, network_es",
    "unknown_weekday": "calendars.extended.hours.sab: unknown weekday; use mon, tue, wed, thu, fri, sat, sun",
}


def _check(path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "centralita", "config", "check", path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess[str]]:
    names = sorted(p.stem for p in BAD.glob("*.toml"))
    paths = ["centralita.example.toml"] + [f"tests/config_bad/{n}.toml" for n in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(paths, pool.map(_check, paths), strict=True))
    return done


def test_every_broken_file_has_an_expected_message() -> None:
    assert sorted(p.stem for p in BAD.glob("*.toml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_is_refused(results, name: str) -> None:
    path = f"tests/config_bad/{name}.toml"
    proc = results[path]
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout == ""
    assert proc.stderr == f"error: {path}: {EXPECTED[name]}\n"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_is_the_example_with_one_defect(name: str) -> None:
    broken = [
        ln
        for ln in (BAD / f"{name}.toml").read_text().splitlines()
        if not ln.startswith("# BROKEN")
    ][1:]  # the header's second line says what it is a copy of
    example = EXAMPLE.read_text().splitlines()
    changed = [
        ln
        for ln in difflib.unified_diff(example, broken, lineterm="", n=0)
        if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    ]
    assert 0 < len(changed) <= 20, changed


def test_example_passes_with_a_summary(results) -> None:
    proc = results["centralita.example.toml"]
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert (
        "lines: tollfree +528008906000 (es, office), vip +525591380000 (es, extended, VIP)" in out
    )
    assert "skills: 5  queues: 9 (" in out
    assert "agents: 6" in out
    assert "planned no clock" in out
    assert out.rstrip().endswith("OK")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = _check(str(tmp_path / "nope.toml"))
    assert missing.returncode == 1
    assert (
        missing.stderr
        == f"error: {tmp_path / 'nope.toml'}: cannot read: No such file or directory\n"
    )
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(
        EXAMPLE.read_text().replace("Anáhuac", "An\udce1huac", 1).encode("utf-8", "surrogateescape")
    )
    proc = _check(str(latin1))
    assert proc.returncode == 1
    assert "not UTF-8" in proc.stderr
