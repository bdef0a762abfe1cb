"""`centralita conf generate`: every Asterisk file from the one TOML, deterministically.

Same config + same site options → byte-identical files (sorted, no timestamps),
so a diff of the output is a diff of behaviour. Secret files are written only
from the environment, with mode 0600, and never appear in the main files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from servicedesk.config import CentralitaConfig

from .calling import (
    CALLING_EXTENSIONS_FILE,
    DIALER_MANAGER_FILE,
    DIALER_SECRETS_FILE,
    FEATURES_FILE,
    SUPERVISOR_SECRETS_FILE,
    SUPERVISORS_PJSIP_FILE,
    build_calling_extensions,
    build_dialer_user,
    build_features,
    build_supervisor_endpoints,
    dialer_secrets,
    include_line,
    supervisor_secrets,
)
from .crosspbx import EXTENSIONS_FILE as CROSSPBX_EXTENSIONS_FILE
from .crosspbx import PJSIP_FILE as CROSSPBX_PJSIP_FILE
from .crosspbx import build_extensions as build_crosspbx_extensions
from .crosspbx import build_trunks
from .dialplan import build_extensions
from .manager import build_manager, build_musiconhold, manager_secrets
from .names import EMPTY_OPTIONS, MANAGER_SECRETS_FILE, PJSIP_SECRETS_FILE, endpoint_of
from .pjsip import build_pjsip, pjsip_secrets
from .queues import build_queuerules, build_queues
from .render import UnsafeValue, safe_host, safe_path, safe_token
from .site import SiteOptions


@dataclass
class GeneratedConfig:
    files: dict[str, str]  # name → text, safe to show and diff
    secrets: dict[str, str] = field(default_factory=dict)  # name → text, mode 0600
    missing_secrets: list[str] = field(default_factory=list)  # environment variables not set
    prompts_used: set[str] = field(default_factory=set)


def validate_inputs(cfg: CentralitaConfig, site: SiteOptions) -> None:
    """Refuse names that would change .conf syntax, and options Asterisk would warn about."""
    for i, agent in enumerate(cfg.agents):
        endpoint = endpoint_of(agent.interface)
        if endpoint is not None:
            safe_token(endpoint, f"agents[{i}].interface")
    ami = cfg.connections.ami
    safe_token(ami.username, "connections.ami.username")
    for i, permit in enumerate(ami.permit):
        safe_host(permit.replace("/", ":"), f"connections.ami.permit[{i}]")
    safe_host(cfg.connections.fastagi.host, "connections.fastagi.host")
    for name in cfg.routing.rules:
        safe_token(name, f"routing.rules.{name}")
    safe_host(site.trunk_host, "--trunk-host")
    safe_host(site.sip_bind, "--sip-bind")
    safe_path(site.recordings_dir, "--recordings-dir")
    safe_path(site.moh_directory, "--moh-directory")
    for qname, qdef in cfg.queue_definitions().items():
        for key in ("joinempty", "leavewhenempty"):
            for token in getattr(qdef.settings, key).split(","):
                if token.strip().lower() not in EMPTY_OPTIONS:
                    raise UnsafeValue(
                        f"queues.{qname}.{key}: unknown option {token!r} "
                        f"(app_queue accepts {', '.join(sorted(EMPTY_OPTIONS))})"
                    )


def generate(cfg: CentralitaConfig, site: SiteOptions) -> GeneratedConfig:
    validate_inputs(cfg, site)
    extensions, prompts = build_extensions(cfg, site)
    files = {
        "extensions.conf": extensions
        + include_line(CALLING_EXTENSIONS_FILE)
        + include_line(CROSSPBX_EXTENSIONS_FILE),
        CALLING_EXTENSIONS_FILE: build_calling_extensions(cfg),
        CROSSPBX_EXTENSIONS_FILE: build_crosspbx_extensions(cfg),
        "manager.conf": build_manager(cfg) + include_line(DIALER_MANAGER_FILE),
        DIALER_MANAGER_FILE: build_dialer_user(cfg),
        FEATURES_FILE: build_features(),
        "musiconhold.conf": build_musiconhold(site.moh_directory),
        "pjsip.conf": build_pjsip(cfg, site)
        + include_line(SUPERVISORS_PJSIP_FILE)
        + include_line(CROSSPBX_PJSIP_FILE),
        CROSSPBX_PJSIP_FILE: build_trunks(cfg),
        SUPERVISORS_PJSIP_FILE: build_supervisor_endpoints(cfg),
        "queuerules.conf": build_queuerules(cfg),
        "queues.conf": build_queues(cfg),
    }
    out = GeneratedConfig(files=dict(sorted(files.items())), prompts_used=prompts | {"all_busy"})
    for name, (text, missing) in (
        (PJSIP_SECRETS_FILE, pjsip_secrets(cfg, site.env)),
        (MANAGER_SECRETS_FILE, manager_secrets(cfg, site.env)),
    ):
        if text is None:
            out.missing_secrets.extend(missing)
        else:
            out.secrets[name] = text
    # optional features: their files are #tryinclude'd, so a missing secret only disables them
    for name, (text, _missing) in (
        (DIALER_SECRETS_FILE, dialer_secrets(cfg, site.env)),
        (SUPERVISOR_SECRETS_FILE, supervisor_secrets(cfg, site.env)),
    ):
        if text is not None:
            out.secrets[name] = text
    return out


def write_generated(result: GeneratedConfig, out_dir: Path) -> list[Path]:
    """Write the files; secrets are created 0600 before any byte is written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text in result.files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for name, text in sorted(result.secrets.items()):
        path = out_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)
    return written
