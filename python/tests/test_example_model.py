"""The example model service in examples/model_service, end to end: run
directly, and called by dtbase's run-service over HTTP."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from http.server import ThreadingHTTPServer

from conftest import REPO

sys.path.insert(0, str(REPO / "examples" / "model_service"))

import forecast_model  # noqa: E402

UTC = dt.timezone.utc


def _sensor_with_readings(client, uid):
    t, s, m = f"fm-type-{uid}", f"fm-sensor-{uid}", f"fm-temp-{uid}"
    client.insert_sensor_type(t, [{"name": m, "units": "degC", "datatype": "float"}])
    client.insert_sensor(t, s)
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stamps = [now - dt.timedelta(hours=10 - i) for i in range(10)]
    client.insert_sensor_readings(m, s, [10.0 + (i % 2) for i in range(10)], stamps)
    return s, m, stamps[-1]


def test_run_directly(backend_env, client, uid):
    s, m, last = _sensor_with_readings(client, uid)
    model = forecast_model.MovingAverageModel()
    responses = model(sensor_unique_id=s, measure_name=m, window=10, horizon=3, model_name=f"ma-{uid}")
    assert [r.status_code for r in responses] == [201, 201, 201, 201, 201]
    runs = client.list_model_runs(f"ma-{uid}")
    assert len(runs) == 1
    assert runs[0]["sensor_unique_id"] == s and runs[0]["sensor_measure"] == {"name": m, "units": "degC"}
    out = client.get_model_run(runs[0]["id"])
    forecast = out[f"{m} forecast"]
    assert [r["value"] for r in forecast] == [10.5, 10.5, 10.5]
    assert forecast[0]["timestamp"] == (last + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [r["value"] for r in out[f"{m} upper"]] == [11.5] * 3

    # Again: the model and its measures exist already; a second run is added.
    responses = model(sensor_unique_id=s, measure_name=m, window=10, horizon=3, model_name=f"ma-{uid}")
    assert [r.status_code for r in responses] == [409, 409, 409, 409, 201]


def test_called_by_run_service(backend_env, client, uid):
    s, m, _ = _sensor_with_readings(client, uid)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), forecast_model.make_handler(forecast_model.MovingAverageModel()))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        client.insert_service(f"fm-{uid}", url, "POST")
        client.insert_parameter_set(f"fm-{uid}", "p", {
            "sensor_unique_id": s, "measure_name": m, "window": 5, "horizon": 2, "model_name": f"svc-ma-{uid}"})
        client.run_service(f"fm-{uid}", parameter_set_name="p")
        runs = client.list_runs(f"fm-{uid}")
        assert len(runs) == 1
        assert runs[0]["response_status_code"] == 200, runs[0]
        assert runs[0]["response_json"] == {"statuses": [201, 201, 201, 201, 201]}
        assert len(client.list_model_runs(f"svc-ma-{uid}")) == 1
    finally:
        httpd.shutdown()
