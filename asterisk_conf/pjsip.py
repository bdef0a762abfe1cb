"""pjsip.conf: transport, trunk and one endpoint + aor + auth per agent.

Secrets: the auth sections carry no password. The file ends with
`#include "pjsip_secrets.conf"`, which appends `password = ...` to each
`[<endpoint>-auth](+)`. `conf generate` writes that file (mode 0600) only when
every password is in the environment (CENTRALITA_SIP_SECRET_<ENDPOINT>);
otherwise the deployer supplies it and `conf check` says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from servicedesk.config import CentralitaConfig

from . import names
from .render import Section, render_file
from .site import SiteOptions, sip_secret_env


def agent_endpoints(cfg: CentralitaConfig) -> list[tuple[str, str]]:
    """(endpoint, display name) for every agent on a PJSIP interface, sorted."""
    out = []
    for agent in cfg.agents:
        endpoint = names.endpoint_of(agent.interface)
        if endpoint is not None:
            out.append((endpoint, agent.name))
    return sorted(out)


def _callerid(name: str, number: str) -> str:
    clean = "".join(ch for ch in name if ch not in '"<>\\;\r\n').strip()
    return f'"{clean}" <{number}>'


def build_pjsip(cfg: CentralitaConfig, site: SiteOptions) -> str:
    parts: list[str] = []
    # ip first: a carrier caller whose number equals an agent login is still the trunk.
    parts.append(
        Section("global")
        .add("type", "global")
        .add("user_agent", "Centralita")
        .add("endpoint_identifier_order", "ip,username")
        .render()
    )
    parts.append(
        Section(names.TRANSPORT)
        .add("type", "transport")
        .add("protocol", "udp")
        .add("bind", site.sip_bind)
        .render()
    )
    parts.append(
        Section(
            names.ENDPOINT_TEMPLATE,
            template=True,
            comments=["Common to the trunk and the agents."],
        )
        .add("type", "endpoint")
        .add("transport", names.TRANSPORT)
        .add("disallow", "all")
        .add("allow", ",".join(site.codecs))
        .add("direct_media", "no")
        .add("rtp_symmetric", "yes")
        .add("force_rport", "yes")
        .add("rewrite_contact", "yes")
        .add("dtmf_mode", "rfc4733")
        .render()
    )
    trunk_comment = (
        "TRUNK HOST NOT SET: placeholder address; pass --trunk-host or CENTRALITA_TRUNK_HOST."
        if site.trunk_is_placeholder
        else "Carrier trunk, authenticated by source address."
    )
    parts.append(
        Section(
            names.TRUNK_ENDPOINT,
            inherits=(names.ENDPOINT_TEMPLATE,),
            comments=[trunk_comment],
        )
        .add("context", names.INBOUND_CONTEXT)
        .add("aors", names.TRUNK_ENDPOINT)
        .add("send_connected_line", "no")
        .add("trust_id_inbound", "yes")
        .render()
    )
    parts.append(
        Section(names.TRUNK_ENDPOINT)
        .add("type", "aor")
        .add("contact", f"sip:{site.trunk_host}:{site.trunk_port}")
        .add("qualify_frequency", 60)
        .render()
    )
    parts.append(
        Section(f"{names.TRUNK_ENDPOINT}-identify")
        .add("type", "identify")
        .add("endpoint", names.TRUNK_ENDPOINT)
        .add("match", site.trunk_host)
        .render()
    )
    parts.append(
        Section(
            names.AGENT_TEMPLATE,
            template=True,
            inherits=(names.ENDPOINT_TEMPLATE,),
            comments=["Agent phones: register, and show the caller on answer."],
        )
        .add("context", names.AGENTS_CONTEXT)
        .add("send_connected_line", "yes")
        .render()
    )
    for endpoint, display in agent_endpoints(cfg):
        parts.append(
            Section(endpoint, inherits=(names.AGENT_TEMPLATE,), comments=[f"agent {display}"])
            .add("aors", endpoint)
            .add("auth", f"{endpoint}-auth")
            .add("callerid", _callerid(display, endpoint))
            .render()
        )
        parts.append(
            Section(endpoint)
            .add("type", "aor")
            .add("max_contacts", 1)
            .add("remove_existing", "yes")
            .add("qualify_frequency", 30)
            .render()
        )
        parts.append(
            Section(f"{endpoint}-auth").add("type", "auth").add("username", endpoint).render()
        )
    text = render_file(
        parts,
        intro=[
            "Passwords are not in this file: each [<endpoint>-auth] gets its `password`",
            f"from {names.PJSIP_SECRETS_FILE} ([<endpoint>-auth](+) sections), written from",
            "CENTRALITA_SIP_SECRET_<ENDPOINT> at deploy time or supplied by the deployer.",
        ],
    )
    return text + f'\n#include "{names.PJSIP_SECRETS_FILE}"\n'


def pjsip_secrets(cfg: CentralitaConfig, env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The secrets file text if every agent password is in `env`, and the missing variables."""
    missing: list[str] = []
    parts: list[str] = []
    for endpoint, _ in agent_endpoints(cfg):
        var = sip_secret_env(endpoint)
        secret = env.get(var)
        if not secret:
            missing.append(var)
            continue
        parts.append(Section(f"{endpoint}-auth", append=True).add("password", secret).render())
    if missing:
        return None, missing
    return render_file(parts, intro=["SECRETS: keep mode 0600, never commit."]), []
