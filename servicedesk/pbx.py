"""One desk, several Asterisk boxes: the view of the configuration one PBX's processes use.

Each PBX has its own listener process. The listener and the Asterisk config generator take
the desk's configuration narrowed to one PBX, so the rest of their code keeps reading
`connections.ami`, `connections.queue_log` and `connections.pbx_id` and never needs to know
that other PBXs exist. Records stay apart by `(pbx_id, linkedid)`; reports and the wallboard
sum across PBX ids.
"""

from __future__ import annotations

from servicedesk.config import CentralitaConfig, ConfigError


def for_pbx(cfg: CentralitaConfig, pbx_id: str | None) -> CentralitaConfig:
    """The configuration as PBX `pbx_id` sees it. `None` is allowed only for a desk with
    a single PBX, so a multi-PBX deployment can never start an unnamed listener."""
    conns = cfg.connections
    if not conns.pbxs:
        if pbx_id not in (None, conns.pbx_id):
            raise ConfigError(
                f"connections.pbxs: no PBX {pbx_id!r}; this desk has one PBX, {conns.pbx_id!r}"
            )
        return cfg
    if pbx_id is None:
        raise ConfigError(
            "connections.pbxs: this desk has several PBXs; choose one with --pbx "
            + " | ".join(sorted(conns.pbxs))
        )
    link = conns.pbxs.get(pbx_id)
    if link is None:
        raise ConfigError(
            f"connections.pbxs: no PBX {pbx_id!r}; known: {', '.join(sorted(conns.pbxs))}"
        )
    narrowed = conns.model_copy(
        update={"ami": link.ami, "queue_log": link.queue_log, "pbx_id": pbx_id}
    )
    # The listener of a box follows (and answers panel commands for) only the agents whose
    # phones register there, so two listeners never report the same agent differently.
    agents = [a for a in cfg.agents if a.pbx in (None, pbx_id)]
    return cfg.model_copy(update={"connections": narrowed, "agents": agents})


def listener_metrics_port(cfg: CentralitaConfig, pbx_id: str) -> int:
    """The listener's metrics port: the PBX's own, or the base port plus the PBX's index, so
    several listeners on one machine never collide."""
    conns = cfg.connections
    link = conns.pbxs.get(pbx_id)
    if link is not None and link.metrics_port is not None:
        return link.metrics_port
    base = conns.metrics.listener_port
    if base == 0:
        return 0
    ids = conns.pbx_ids()
    return base + (ids.index(pbx_id) if pbx_id in ids else 0)
