"""`centralita panel --workers N`: the panel under gunicorn, several worker processes.

Nothing a worker holds is needed by another: sessions are signed cookies (one secret key
from the environment), login throttling lives in Redis, and screen-pops and wallboard
updates reach a browser through Redis Streams, which every worker reads on its own. So any
worker can serve any browser, and a crashed worker is simply replaced by the master.

Threaded workers (`gthread`), because an open SSE stream holds a thread for minutes; each
worker gets enough threads for its share of agents and wall boards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication


class PanelApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, config_path: str, options: dict[str, Any], secure_cookies: bool) -> None:
        self.config_path = config_path
        self.options = options
        self.secure_cookies = secure_cookies
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Runs in each worker after the fork: its own database pool and Redis client."""
        from cti_panel.app import create_app
        from servicedesk.config import load_config

        return create_app(load_config(self.config_path), secure_cookies=self.secure_cookies)


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def prepare_metrics_dir() -> Path:
    """Must run before anything imports prometheus_client: it picks its value storage at
    import time, and the workers inherit the master's modules."""
    metrics_dir = Path(tempfile.mkdtemp(prefix="centralita-panel-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return metrics_dir


def serve_with_workers(
    config_path: str,
    host: str,
    port: int,
    workers: int,
    *,
    threads: int = 64,
    secure_cookies: bool = True,
    access_log: bool = False,
) -> int:
    # Every worker writes its metric samples here; /metrics in any worker merges them.
    metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or prepare_metrics_dir())
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,  # a worker silent this long is stuck; SSE writes keepalives every few s
        "graceful_timeout": 10,
        "keepalive": 5,
        "child_exit": _child_exit,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "centralita-panel",
    }
    try:
        print(f"panel listening on http://{host}:{port}/ ({workers} workers)", flush=True)
        PanelApplication(config_path, options, secure_cookies).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
