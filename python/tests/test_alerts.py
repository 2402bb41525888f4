"""Alert rules through the Python SDK against a real server whose alert
runner delivers to a real webhook listener, which checks the signature."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time

import pytest

from dtbase_client import Client
from dtbase_client.alerts import verify_signature
from dtbase_client.exc import BackendCallError

from conftest import PASSWORD


@pytest.fixture(scope="module")
def alert_server(start_server):
    """A server that runs the alert runner (the shared one does not)."""
    return start_server(DT_SCHEDULER="true", DT_PUBLIC_URL="https://twin.example.org")


class Hook(http.server.BaseHTTPRequestHandler):
    got = []
    secret = b"hook secret"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify_signature(self.secret, body, self.headers.get("X-DTBase-Signature"))
        Hook.got.append((ok, json.loads(body)))
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alerts(alert_server, uid):
    Hook.got.clear()  # a rerun of the test counts afresh
    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        c = Client(alert_server.url, email="default_user@localhost", password=PASSWORD)
        c.login()
        a = c.alerts
        c.insert_sensor_type(f"room-{uid}", [{"name": f"temp-{uid}", "units": "C", "datatype": "float"}])
        c.insert_sensor(f"room-{uid}", f"R-{uid}")
        a.insert_channel(f"hook-{uid}", "webhook", url=f"http://127.0.0.1:{srv.server_port}/in", secret=Hook.secret.decode())
        cond = {"kind": "threshold", "op": "above", "value": 28}
        with pytest.raises(BackendCallError) as e:
            a.insert_rule(f"bad-{uid}", {"sensor": f"R-{uid}"}, "nope", cond)
        assert e.value.status == 422
        a.insert_rule(f"warm-{uid}", {"sensor": f"R-{uid}"}, f"temp-{uid}", cond, severity="critical", channels=[f"hook-{uid}"])
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        c.insert_sensor_readings(f"temp-{uid}", f"R-{uid}", [20.0, 31.0],
                                 [(now - dt.timedelta(minutes=2)).isoformat(), (now - dt.timedelta(minutes=1)).isoformat()])
        alerts = a.list_alerts(sensor=f"R-{uid}")
        assert [x["state"] for x in alerts] == ["firing"]
        a.acknowledge(alerts[0]["id"], "on it")
        assert {e["kind"] for e in a.list_events(rule=f"warm-{uid}")} == {"fired", "acknowledged"}
        assert a.preview_rule("p", {"sensor": f"R-{uid}"}, f"temp-{uid}", cond, days=1)["fired"] == 1
        deadline = time.time() + 120  # only a hang, not a busy machine, reaches it
        while len(Hook.got) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(Hook.got) == 2 and all(ok for ok, _ in Hook.got)
        kinds = {p["kind"] for _, p in Hook.got}
        assert kinds == {"fired", "acknowledged"}
        assert all(p["url"].startswith("https://twin.example.org/alerts") for _, p in Hook.got)
        assert any(d["ok"] for d in a.list_deliveries())
        a.silence_rule(f"warm-{uid}", 60)
        assert a.list_rules()[0]["silenced_until"] is not None
        # A test notification goes out at once, signed like the others.
        assert a.test_channel(f"hook-{uid}")["detail"] == "Test notification sent: webhook answered 200 OK"
        assert any(ok and p["kind"] == "test" and p["channel"] == f"hook-{uid}" for ok, p in Hook.got)
    finally:
        srv.shutdown()
