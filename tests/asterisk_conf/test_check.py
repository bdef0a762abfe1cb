"""`conf check` catches dangling names; secrets stay out of the main files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from asterisk_conf import names
from asterisk_conf.check import check_dir, check_texts
from asterisk_conf.generate import generate, write_generated
from asterisk_conf.site import SiteOptions
from centralita.cli import main

EXAMPLE = str(Path(__file__).parents[2] / "centralita.example.toml")
SECRETS_ENV = {
    "CENTRALITA_AMI_SECRET": "s3cr3t;ami",
    **{f"CENTRALITA_SIP_SECRET_100{i}": f"pw-{i}-x" for i in range(1, 7)},
}


def _broken(generated, name, old, new, count=1):
    files = dict(generated.files)
    assert old in files[name], old
    files[name] = files[name].replace(old, new, count)
    return files


def test_generated_example_is_clean(example_config, generated):
    report = check_texts(example_config, generated.files, generated.secrets)
    assert report.errors == []
    assert sorted(report.warnings) == sorted(
        f"{n}: not present; the deployer must supply it before Asterisk loads"
        for n in names.SECRET_FILES
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "expect"),
    [
        ("queues.conf", "[network_es]", "[network_xx]", "queue network_es"),
        ("queuerules.conf", "[vip]", "[vip2]", "rule vip"),
        ("extensions.conf", "exten => 528008906000,", "exten => 528008906001,", "DID"),
        ("extensions.conf", "127.0.0.1:4573/ivr", "127.0.0.1:4574/ivr", "4573"),
        ("extensions.conf", ",,,${CENTRALITA_RULE})", ",,,,${CENTRALITA_RULE})", "Queue("),
        ("extensions.conf", "Goto(centralita-after-queue,s,1)", "Goto(nowhere,s,1)", "nowhere"),
        ("pjsip.conf", "auth = 1003-auth", "auth = 1003-auth-typo", "1003-auth-typo"),
        ("pjsip.conf", "aors = 1004\n", "aors = 1004x\n", "1004x"),
        ("pjsip.conf", "username = 1001\n", "username = 1001\npassword = leaked\n", "password"),
        ("manager.conf", "writetimeout", "secret = leaked\nwritetimeout", "secret"),
        ("manager.conf", "deny = 0.0.0.0/0.0.0.0\n", "", "deny before permit"),
        ("manager.conf", "permit = 10.20.0.0/255.255.255.0\n", "", "permit"),
        ("queues.conf", "setqueuevar = yes\n", "", "setqueuevar"),
        ("queues.conf", "defaultrule = standard\n", "defaultrule = nope\n", "nope"),
        ("extensions.conf", "Playback(centralita/goodbye)", "Playback(centralita/nokey)", "nokey"),
    ],
)
def test_check_reports_each_broken_reference(example_config, generated, name, old, new, expect):
    report = check_texts(example_config, _broken(generated, name, old, new), {})
    assert not report.ok
    assert any(expect in e for e in report.errors), report.errors


def test_secrets_come_only_from_the_environment(example_config, tmp_path):
    result = generate(example_config, SiteOptions(trunk_host="203.0.113.10", env=SECRETS_ENV))
    assert result.missing_secrets == []
    written = write_generated(result, tmp_path)
    assert {p.name for p in written} >= set(names.SECRET_FILES)
    for secret in SECRETS_ENV.values():
        escaped = secret.replace(";", "\\;")
        for name, text in result.files.items():
            assert secret not in text and escaped not in text, name
    for name in names.SECRET_FILES:
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert "secret = s3cr3t\\;ami" in (tmp_path / names.MANAGER_SECRETS_FILE).read_text()
    pj = (tmp_path / names.PJSIP_SECRETS_FILE).read_text()
    assert "[1001-auth](+)\npassword = pw-1-x" in pj
    report = check_dir(example_config, tmp_path)
    assert report.ok and report.warnings == []


def test_partial_sip_secrets_write_no_file(example_config):
    env = {"CENTRALITA_SIP_SECRET_1001": "only-one"}
    result = generate(example_config, SiteOptions(env=env))
    assert names.PJSIP_SECRETS_FILE not in result.secrets
    assert "CENTRALITA_SIP_SECRET_1002" in result.missing_secrets
    assert "CENTRALITA_SIP_SECRET_1001" not in result.missing_secrets


def test_check_dir_flags_readable_secrets_and_missing_passwords(example_config, tmp_path):
    result = generate(example_config, SiteOptions(trunk_host="203.0.113.10", env=SECRETS_ENV))
    write_generated(result, tmp_path)
    pj = tmp_path / names.PJSIP_SECRETS_FILE
    pj.write_text(pj.read_text().replace("[1006-auth](+)", "[1006-other](+)"))
    pj.chmod(0o644)
    report = check_dir(example_config, tmp_path)
    assert any("1006-auth" in e for e in report.errors)
    assert any("chmod 600" in w for w in report.warnings)


def test_cli_generate_then_check(example_config, tmp_path, capsys, monkeypatch):
    for var in SECRETS_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CENTRALITA_TRUNK_HOST", "198.51.100.7")
    out = tmp_path / "etc"
    config = EXAMPLE
    assert main(["conf", "generate", "--config", config, "--out", str(out)]) == 0
    assert "match = 198.51.100.7" in (out / "pjsip.conf").read_text()
    assert main(["conf", "check", "--config", config, "--dir", str(out)]) == 0
    captured = capsys.readouterr()
    assert "pjsip_secrets.conf: not present" in captured.err
    # break it: remove a queue, check must fail with exit 1 and say which
    q = out / "queues.conf"
    q.write_text(q.read_text().replace("[erp_es]", "[erp_xx]"))
    assert main(["conf", "check", "--config", config, "--dir", str(out)]) == 1
    assert "erp_es" in capsys.readouterr().err
    assert main(["conf", "check", "--config", config, "--dir", str(tmp_path / "nope")]) == 1


def test_cli_generate_is_byte_identical_twice(tmp_path, monkeypatch):
    for var in SECRETS_ENV:
        monkeypatch.delenv(var, raising=False)
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        args = ["conf", "generate", "--config", EXAMPLE, "--out", str(d)]
        assert main([*args, "--trunk-host", "203.0.113.10"]) == 0
    for f in sorted(a.iterdir()):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name
