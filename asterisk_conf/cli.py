"""`centralita conf generate | check | prompts`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    conf = subparsers.add_parser("conf", help="generate and check the Asterisk configuration")
    sub = conf.add_subparsers(dest="conf_command", required=True, metavar="SUBCOMMAND")

    gen = sub.add_parser("generate", help="write the Asterisk .conf files from the TOML")
    gen.add_argument("--config", required=True, help="centralita.toml")
    gen.add_argument("--out", required=True, help="output directory (e.g. /etc/asterisk)")
    gen.add_argument("--trunk-host", help="carrier SIP address (or $CENTRALITA_TRUNK_HOST)")
    gen.add_argument("--trunk-port", type=int, help="carrier SIP port (default 5060)")
    gen.add_argument("--sip-bind", help="PJSIP UDP bind (default 0.0.0.0:5060)")
    gen.add_argument("--recordings-dir", help="where caller messages are recorded")
    gen.add_argument(
        "--moh-directory",
        help="hold music directory (default: /usr/share/asterisk/moh, as in the traces)",
    )
    gen.add_argument("--survey", action="store_true", default=None, help="enable the survey hook")
    gen.set_defaults(func=_generate)

    chk = sub.add_parser("check", help="validate cross-references between TOML and .conf files")
    chk.add_argument("--config", required=True)
    chk.add_argument("--dir", help="generated directory to check (default: generate in memory)")
    chk.add_argument("--sounds", help="sounds directory: require every played prompt's WAV")
    chk.set_defaults(func=_check)

    pr = sub.add_parser("prompts", help="render the IVR prompts to 8 kHz WAV with espeak-ng")
    pr.add_argument("--config", required=True)
    pr.add_argument(
        "--out", required=True, help="sounds directory (files go to <lang>/centralita/)"
    )
    pr.add_argument("--only", nargs="+", metavar="KEY", help="render just these prompt keys")
    pr.add_argument("--lang", choices=("es", "en"), action="append", help="default: both")
    pr.set_defaults(func=_prompts)

    sd = sub.add_parser(
        "systemd", help="write systemd units: ivr, one listener per PBX, panel, monthly report"
    )
    sd.add_argument("--config", required=True, help="centralita.toml")
    sd.add_argument("--out", required=True, help="output directory (e.g. /etc/systemd/system)")
    sd.add_argument(
        "--installed-config",
        default="/etc/centralita/centralita.toml",
        help="where the config lives on the target machine",
    )
    sd.add_argument(
        "--bin-dir",
        default=None,
        help="directory holding the `centralita` executable (default: this installation's)",
    )
    sd.add_argument("--user", default="centralita", help="dedicated system user the units run as")
    sd.add_argument("--workers", type=int, default=2, help="panel worker processes")
    sd.set_defaults(func=_systemd)


def _load(path: str):  # noqa: ANN202 - the config type is imported lazily
    from servicedesk.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return None


def _site(args: argparse.Namespace):  # noqa: ANN202
    from .site import SiteOptions

    return SiteOptions.from_env(
        trunk_host=getattr(args, "trunk_host", None),
        trunk_port=getattr(args, "trunk_port", None),
        sip_bind=getattr(args, "sip_bind", None),
        recordings_dir=getattr(args, "recordings_dir", None),
        moh_directory=getattr(args, "moh_directory", None),
        survey=getattr(args, "survey", None),
    )


def _print_report(report) -> int:  # noqa: ANN001
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    if report.ok:
        print("OK" + (f" ({len(report.warnings)} warning(s))" if report.warnings else ""))
        return 0
    print(f"FAILED: {len(report.errors)} error(s)", file=sys.stderr)
    return 1


def _generate(args: argparse.Namespace) -> int:
    """One config set, or with several PBXs one set per PBX in `<out>/<pbx id>/`: each box
    gets its own manager user (its listener's AMI link); queues, rules and dialplan match."""
    from servicedesk.pbx import for_pbx

    cfg = _load(args.config)
    if cfg is None:
        return 1
    if not cfg.connections.pbxs:
        return _generate_one(cfg, args, Path(args.out))
    worst = 0
    for pbx_id in cfg.connections.pbx_ids():
        print(f"PBX {pbx_id}:")
        worst = max(worst, _generate_one(for_pbx(cfg, pbx_id), args, Path(args.out) / pbx_id))
    return worst


def _generate_one(cfg, args: argparse.Namespace, out: Path) -> int:  # noqa: ANN001
    from .check import check_texts
    from .generate import generate, write_generated
    from .render import UnsafeValue

    try:
        result = generate(cfg, _site(args))
    except UnsafeValue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = check_texts(cfg, result.files, result.secrets)
    if not report.ok:
        return _print_report(report)
    for path in write_generated(result, out):
        print(f"wrote {path}")
    for var in result.missing_secrets:
        print(f"note: ${var} not set; its secrets file was not written", file=sys.stderr)
    return _print_report(report)


def _check(args: argparse.Namespace) -> int:
    from .check import check_dir, check_texts
    from .generate import generate

    cfg = _load(args.config)
    if cfg is None:
        return 1
    sounds = Path(args.sounds) if args.sounds else None
    if args.dir:
        directory = Path(args.dir)
        if not directory.is_dir():
            print(f"error: {directory}: not a directory", file=sys.stderr)
            return 1
        return _print_report(check_dir(cfg, directory, sounds))
    from .render import UnsafeValue

    try:
        result = generate(cfg, _site(args))
    except UnsafeValue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _print_report(check_texts(cfg, result.files, result.secrets, sounds_dir=sounds))


def _prompts(args: argparse.Namespace) -> int:
    from .prompts import PromptRenderError, hours_descriptions, render_prompts

    cfg = _load(args.config)
    if cfg is None:
        return 1
    try:
        rendered = render_prompts(
            cfg,
            Path(args.out),
            keys=args.only,
            languages=args.lang or ("es", "en"),
            describe=hours_descriptions(cfg),
        )
    except PromptRenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"rendered {len(rendered)} prompt file(s) under {args.out}")
    return 0


def _systemd(args: argparse.Namespace) -> int:
    from .systemd_units import UnitSettings, write_units

    cfg = _load(args.config)
    if cfg is None:
        return 1
    bin_dir = Path(args.bin_dir) if args.bin_dir else Path(sys.executable).parent
    settings = UnitSettings(
        bin_dir=bin_dir,
        config_path=Path(args.installed_config),
        user=args.user,
        panel_workers=max(1, args.workers),
    )
    for path in write_units(cfg.connections.pbx_ids(), settings, Path(args.out)):
        print(f"wrote {path}")
    print(
        f"next: useradd --system --home /var/lib/centralita {args.user}; put secrets in "
        f"{settings.env_file} (mode 0600); systemctl daemon-reload; systemctl enable --now "
        "centralita-ivr centralita-panel centralita-listener-*.service "
        "centralita-monthly-report.timer"
    )
    return 0
