"""Cancelling a service run through the SDK."""

import http.server
import threading
import time

import pytest

from dtbase_client.exc import DTBaseError


def test_cancel_run(client, uid):
    release = threading.Event()

    class Hang(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            release.wait(30)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        name = f"hang-{uid}"
        client.insert_service(name, f"http://127.0.0.1:{httpd.server_address[1]}/", "POST", timeout_seconds=3600)
        run_id = client.run_service(name, run_async=True)["run_id"]
        assert client.cancel_run(run_id) == {"detail": "Service run cancellation requested.", "run_id": run_id}
        deadline = time.time() + 120  # only a hang, not a busy machine, reaches it
        while (run := client.get_run(run_id))["status"] != "failed":
            assert time.time() < deadline
            time.sleep(0.05)
        assert run["error"].startswith("cancelled by ")
        with pytest.raises(DTBaseError) as info:
            client.cancel_run(run_id)
        assert info.value.status == 409
    finally:
        release.set()
        httpd.shutdown()
