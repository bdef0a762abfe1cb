"""Dispatches `centralita <command>` to the package that owns that role.

Each owning module exposes `register(subparsers)`; it is imported only here,
so `centralita ivr` never imports Flask and `centralita panel` never imports AGI code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module with `register(subparsers)`
COMMANDS: dict[str, str] = {
    "config": "servicedesk.commands",
    "db": "servicedesk.commands",
    "listener": "ami_listener.cli",
    "ivr": "ivr.cli",
    "conf": "asterisk_conf.cli",
    "panel": "cti_panel.cli",
    "demo": "cti_panel.cli",
    "stats": "callstats.cli",
    "sim": "pbxsim.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralita",
        description="Centralita: contact-center integration for IT service desks on Asterisk.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    seen: set[str] = set()
    for module_name in COMMANDS.values():
        if module_name in seen:
            continue
        seen.add(module_name)
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
