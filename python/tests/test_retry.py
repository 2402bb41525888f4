"""Retries, backoff and timeouts of the client's session, against a small
loopback server that plays an overloaded backend."""

from __future__ import annotations

import email.utils
import http.server
import socket
import threading
import time

import pytest
import requests

from dtbase_client import Client, RetryPolicy
from dtbase_client.retry import RetrySession


class Overloaded(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers) of the script,
    then 200; records every request."""

    script: list = []
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, body))
        status, headers = type(self).script.pop(0) if type(self).script else (200, {})
        if status == "slow":
            time.sleep(2)
            status = 200
        payload = b'{"detail":"ok"}' if status == 200 else b'{"detail":"busy"}'
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def busy():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Overloaded)
    Overloaded.script, Overloaded.seen = [], []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def session(sleeps, **policy):
    return RetrySession(RetryPolicy(**policy), timeout=5, sleep=sleeps.append)


def test_retry_after_is_honoured(busy):
    http_date = email.utils.formatdate(time.time() + 30, usegmt=True)
    Overloaded.script = [(503, {"Retry-After": "3"}), (429, {"Retry-After": http_date}), (429, {})]
    sleeps = []
    resp = session(sleeps, backoff=0.5).post(busy + "/x", json={"a": 1})
    assert resp.status_code == 200
    assert [m for m, _ in Overloaded.seen] == ["POST"] * 4
    assert all(body == b'{"a": 1}' for _, body in Overloaded.seen)  # the body is sent again
    assert sleeps[0] == 3
    assert 25 < sleeps[1] <= 30
    assert 2.0 <= sleeps[2] <= 2.2  # no Retry-After: backoff 0.5 * 2**2, jittered


def test_gives_up(busy):
    Overloaded.script = [(503, {})] * 5
    sleeps = []
    assert session(sleeps, attempts=3).get(busy).status_code == 503
    assert len(Overloaded.seen) == 3 and len(sleeps) == 2
    Overloaded.script, Overloaded.seen = [(429, {"Retry-After": "3600"})], []
    assert session(sleeps, max_retry_after=60).get(busy).status_code == 429  # too long a wait: the caller decides
    assert len(Overloaded.seen) == 1
    Overloaded.script, Overloaded.seen = [(500, {})], []
    assert session(sleeps).get(busy).status_code == 500  # not a retry status
    assert len(Overloaded.seen) == 1


def test_connection_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: refused
    for method in ("GET", "POST"):  # never connected: safe for any method
        sleeps = []
        with pytest.raises(requests.ConnectionError):
            session(sleeps, attempts=4).request(method, f"http://127.0.0.1:{port}/")
        assert len(sleeps) == 3 and sleeps == sorted(sleeps)


def test_timeouts(busy):
    Overloaded.script = [("slow", {})]
    sleeps = []
    with pytest.raises(requests.ReadTimeout):
        RetrySession(timeout=0.2, sleep=sleeps.append).post(busy)
    assert sleeps == []  # the request may have been handled: not sent again
    Overloaded.script = [("slow", {})]
    assert RetrySession(timeout=0.2).get(busy, timeout=120).status_code == 200  # the call's own timeout wins


def test_client_session(busy):
    c = Client(busy, api_key="dtb_x", timeout=7, retry=RetryPolicy(attempts=2, backoff=0))
    assert isinstance(c.session, RetrySession) and c.session.timeout == 7
    Overloaded.script = [(503, {"Retry-After": "0"})]
    assert c.get("/anything") == {"detail": "ok"}
    assert c.get("/again") == {"detail": "ok"}
    assert len(Overloaded.seen) == 3
