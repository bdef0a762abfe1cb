"""The panel under gunicorn with two workers: any worker serves any browser.

Sessions are signed cookies, throttling and events live in Redis, so a login served by one
worker holds on the others, and a pop published once reaches every open stream, whichever
worker holds it. `/metrics` merges the workers' samples.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis as redis_lib
from prometheus_client.parser import text_string_to_metric_families

from servicedesk.bus import Bus
from servicedesk.db import make_engine
from servicedesk.models import Base
from tests.ops.conftest import EXAMPLE, ROOT
from tests.panel.conftest import PASSWORD, seed_users
from tests.panel.contract import pop_fields
from tests.servers import free_port


def _wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("panel did not become ready")


def _login(base: str) -> urllib.request.OpenerDirector:
    return _login_as(base, "ana")


def _login_as(base: str, username: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    assert token, "login page has no CSRF token"
    data = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    ).encode()
    resp = opener.open(f"{base}/login", data=data, timeout=10)
    assert resp.status == 200 and "/login" not in resp.geturl(), resp.geturl()
    return opener


def test_two_workers_share_sessions_and_every_stream_gets_the_pop(
    tmp_path: Path, redis_url: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'panel.db'}"
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    seed_users(engine)
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        CENTRALITA_DATABASE_URL=db_url,
        CENTRALITA_REDIS_URL=redis_url,
        CENTRALITA_SECRET_KEY="workers-test-secret-0123456789abcdef",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "centralita.cli",
            "panel",
            "--config",
            str(EXAMPLE),
            "--port",
            str(port),
            "--workers",
            "2",
            "--insecure-cookies",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    streams: list = []
    try:
        _wait_ready(base)

        def worker_pid(_: int) -> int:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
                return int(json.loads(resp.read())["worker"])

        with ThreadPoolExecutor(16) as pool:
            pids = set(pool.map(worker_pid, range(200)))
        assert len(pids) == 2, pids  # both workers answer requests

        opener = _login(base)
        # Eight streams on eight connections, spread over the workers by the kernel.
        received: list[list[str]] = [[] for _ in range(8)]
        opened = threading.Barrier(9, timeout=30)

        def hold(i: int) -> None:
            resp = opener.open(f"{base}/agent/pops", timeout=30)
            streams.append(resp)
            opened.wait()
            for raw in resp:
                line = raw.decode()
                if line.startswith("data:"):
                    received[i].append(line)
                    return

        threads = [threading.Thread(target=hold, args=(i,), daemon=True) for i in range(8)]
        for t in threads:
            t.start()
        opened.wait()
        time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
            families = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
        open_streams = sum(s.value for s in families["centralita_sse_clients"].samples)
        assert open_streams == 8, families["centralita_sse_clients"].samples

        client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        bus = Bus(client, "centralita")
        bus.publish(bus.keys.agent_pops("1001"), pop_fields("1001", "1700000000.42"))
        for t in threads:
            t.join(15)
        assert all(r and "1700000000.42" in r[0] for r in received), received
        client.close()
    finally:
        for s in streams:
            s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    assert "(2 workers)" in out
    assert ROOT.exists()
