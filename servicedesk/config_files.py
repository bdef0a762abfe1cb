"""Files a configuration names: its env file of secrets and paths relative to its folder.

Why: a process Asterisk starts (the classic AGI script) gets no environment of ours
and runs in Asterisk's working directory. Relative paths in the config then mean
the config's folder, not wherever the process happened to start, and the secrets
come from an env file the config names (``connections.env_file``), kept outside
the repository with mode 0600.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ValueError):
    """A line of the env file is not `NAME=value`."""


def resolve_path(path: str | Path, base: str | Path) -> Path:
    """`path` as is when absolute, else under `base` (the config's folder)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base) / p


def resolve_sqlite_url(url: str, base: str | Path) -> str:
    """`sqlite:///centralita.db` → `sqlite:////etc/centralita/centralita.db` for base
    /etc/centralita; absolute paths, in-memory databases and other URLs unchanged."""
    scheme, sep, rest = url.partition(":///")
    if not sep or not scheme.startswith("sqlite"):
        return url
    path, q, query = rest.partition("?")
    if not path or path == ":memory:" or path.startswith("/") or path.startswith("file:"):
        return url
    return f"{scheme}:///{resolve_path(path, base)}{q}{query}"


def read_env_file(path: str | Path) -> dict[str, str]:
    """`NAME=value` lines (blank lines, `#` comments and an `export ` prefix allowed;
    one pair of surrounding quotes is removed)."""
    out: dict[str, str] = {}
    text = Path(path).read_text(encoding="utf-8")
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise EnvFileError(f"{path}:{n}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name] = value
    return out


def apply_env_file(path: str | Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set the file's variables that the environment does not already have; their names."""
    env = os.environ if environ is None else environ
    added = []
    for name, value in read_env_file(path).items():
        if name not in env:
            env[name] = value
            added.append(name)
    return added


def apply_config_env_file(env_file: str, config_path: str | Path) -> str | None:
    """Apply the config's `connections.env_file` (relative to the config's folder), so every
    process reads the same secrets file; the problem in one line, or None."""
    if not env_file:
        return None
    try:
        apply_env_file(resolve_path(env_file, Path(config_path).parent))
    except (OSError, EnvFileError) as exc:
        return f"connections.env_file: {exc}"
    return None
