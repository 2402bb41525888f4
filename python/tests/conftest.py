"""Fixtures: a real ``dtbase serve`` per test session.

The binary is built from this repository (``go build ./cmd/dtbase``) unless
``DTBASE_BIN`` names one. It listens on a free loopback port with a fresh
data directory; on PostgreSQL, in a fresh database, when
``DT_TEST_POSTGRES_URL`` is set (as the Go tests do).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))

PASSWORD = "pytest-default-pass"


@pytest.fixture(scope="session")
def dtbase_bin(tmp_path_factory):
    """The dtbase binary under test."""
    given = os.environ.get("DTBASE_BIN")
    if given:
        return given
    out = tmp_path_factory.mktemp("bin") / "dtbase"
    subprocess.run(["go", "build", "-o", str(out), "./cmd/dtbase"], cwd=REPO, check=True)
    return str(out)


def _postgres_database():
    """A fresh database URL on the test PostgreSQL server, and a function
    that drops it; (None, None) on SQLite."""
    base = os.environ.get("DT_TEST_POSTGRES_URL")
    if not base:
        return None, None
    name = "dtbase_pytest_" + secrets.token_hex(6)
    u = urllib.parse.urlsplit(base)
    url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))

    def drop():
        if shutil.which("psql"):
            subprocess.run(
                ["psql", base, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                check=False,
                capture_output=True,
            )

    return url, drop


class Server:
    """A running ``dtbase serve``."""

    def __init__(self, binary, tmp, args=(), **env):
        self.data_dir = tmp / "data"
        self.log_path = tmp / "serve.log"
        db_url, self._drop = _postgres_database()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DT_")}
        full_env.update(
            DT_DEFAULT_USER_PASS=PASSWORD,
            DT_LOG_FORMAT="json",
            DT_LISTEN_ADDR="127.0.0.1:0",
            DT_DATA_DIR=str(self.data_dir),
            DT_SCHEDULER="false",
            # The tests' services listen on loopback, which only an allow-list opens.
            DT_SERVICE_ALLOWED_HOSTS="127.0.0.1",
        )
        if db_url:
            full_env["DT_DATABASE_URL"] = db_url
        full_env.update({k: str(v) for k, v in env.items()})
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", *args], env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dtbase serve exited:\n" + self.log_path.read_text())
            for line in self.log_path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("msg") == "dtbase listening":
                    return rec["url"]
            time.sleep(0.05)
        raise RuntimeError("dtbase serve did not start:\n" + self.log_path.read_text())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        if self._drop:
            self._drop()


@pytest.fixture(scope="session")
def start_server(dtbase_bin, tmp_path_factory):
    """A factory of servers, each stopped at the end of the session."""
    servers = []

    def start(args=(), **env):
        s = Server(dtbase_bin, tmp_path_factory.mktemp("serve"), args, **env)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def server(start_server):
    """The shared server; tests use unique names so they do not collide."""
    return start_server()


@pytest.fixture
def client(server):
    """A client logged in as the default user (an admin)."""
    from dtbase_client import Client

    c = Client(server.url, email="default_user@localhost", password=PASSWORD)
    c.login()
    return c


@pytest.fixture
def backend_env(server, monkeypatch):
    """Point the original-style helpers (DT_BACKEND_URL, DT_DEFAULT_USER_PASS)
    at the server."""
    monkeypatch.setenv("DT_BACKEND_URL", server.url)
    monkeypatch.setenv("DT_DEFAULT_USER_PASS", PASSWORD)
    return server


@pytest.fixture
def uid():
    """A unique suffix for names."""
    return secrets.token_hex(4)
