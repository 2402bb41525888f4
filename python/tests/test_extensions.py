"""dtbase's extensions of the original API, through the Python client."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time

import pytest

from dtbase_client import DTBaseError

UTC = dt.timezone.utc


@pytest.fixture
def thermo(client, uid):
    """A sensor with 48 hourly float readings and a string measure."""
    t, s = f"xt-{uid}", f"xs-{uid}"
    client.insert_sensor_type(t, [{"name": f"temp-{uid}", "units": "K", "datatype": "float"},
                                  {"name": f"label-{uid}", "units": None, "datatype": "string"}])
    client.insert_sensor(t, s)
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [base + dt.timedelta(hours=i) for i in range(48)]
    client.insert_sensor_readings(f"temp-{uid}", s, [280.0 + (i % 24) for i in range(48)], stamps)
    return {"type": t, "sensor": s, "temp": f"temp-{uid}", "label": f"label-{uid}", "base": base, "stamps": stamps}


def test_reads(client, thermo):
    s, m, base = thermo["sensor"], thermo["temp"], thermo["base"]
    end = thermo["stamps"][-1]
    buckets = client.sensor_readings_aggregate(m, s, base, end, "1d", ["mean", "min", "max", "count"])
    assert [b["count"] for b in buckets] == [24, 24]
    assert buckets[0]["min"] == 280.0 and buckets[0]["max"] == 303.0 and buckets[0]["mean"] == 291.5
    assert buckets[1]["timestamp"] == "2024-01-02T00:00:00Z"
    assert len(client.sensor_readings_aggregate(m, s, base, end, 3600)) == 48
    down = client.sensor_readings_downsampled(m, s, base, end, max_points=8)
    assert 0 < len(down) <= 8
    assert max(p["value"] for p in down) == 303.0  # peaks are kept
    latest = client.latest_readings(unique_identifiers=[s])
    assert latest == [{"unique_identifier": s, "measure_name": m, "measure_units": "K", "datatype": "float",
                       "value": 303.0, "timestamp": "2024-01-02T23:00:00Z"}]
    assert client.latest_readings(type_name=thermo["type"]) == latest


def test_batch_and_csv(client, thermo, tmp_path, uid):
    s, base = thermo["sensor"], thermo["base"]
    out = client.insert_readings_batch([
        {"measure_name": thermo["label"], "unique_identifier": s, "readings": ["a", "b"], "timestamps": thermo["stamps"][:2]},
        {"measure_name": thermo["temp"], "unique_identifier": s, "readings": [1.0], "timestamps": [base]},
    ])
    assert (out["rows"], out["inserted"], out["duplicates"]) == (3, 2, 1)
    with pytest.raises(DTBaseError) as e:
        client.insert_readings_batch([
            {"measure_name": thermo["temp"], "unique_identifier": s, "readings": [2.0], "timestamps": [thermo["stamps"][1]]},
            {"measure_name": thermo["label"], "unique_identifier": s, "readings": [1], "timestamps": [base]},
        ])
    assert e.value.status == 400 and e.value.detail_text.startswith("series[1]")

    text = client.readings_csv(s, [thermo["temp"], thermo["label"]], base, thermo["stamps"][-1])
    lines = text.strip().splitlines()
    assert lines[0].startswith("unique_identifier,measure_name")
    assert len(lines) == 1 + 48 + 2
    path = tmp_path / "r.csv"
    assert client.download_readings_csv(str(path), s, thermo["temp"]) == len(path.read_bytes()) > 0

    s2 = f"xs2-{uid}"
    client.insert_sensor(thermo["type"], s2)
    moved = text.replace(f"\n{s},", f"\n{s2},")
    assert client.upload_readings_csv(moved)["inserted"] == 50
    with open(tmp_path / "m.csv", "w") as f:
        f.write(moved)
    with open(tmp_path / "m.csv", "rb") as f:
        assert client.upload_readings_csv(f)["duplicates"] == 50
    with pytest.raises(DTBaseError) as e:
        client.upload_readings_csv("nonsense")
    assert e.value.status == 400


def test_sensor_details_and_edit_location(client, thermo, uid):
    schema, ident = f"xr-{uid}", f"room{uid}"
    client.insert_location_schema(schema, None, [{"name": ident, "units": None, "datatype": "string"}])
    client.insert_location_for_schema(schema, {ident: "lab"})
    client.insert_sensor_location(thermo["sensor"], schema, {ident: "lab"}, dt.datetime(2023, 1, 1))
    client.edit_location(schema, {ident: "lab"}, {ident: "lab 2"})
    d = client.get_sensor(thermo["sensor"])
    assert d["type"]["name"] == thermo["type"]
    assert d["current_location"]["location"]["coordinates"] == {ident: "lab 2"}
    assert len(d["location_history"]) == 1
    listed = client.list_sensors_details(thermo["type"])
    assert [x["unique_identifier"] for x in listed] == [thermo["sensor"]]


def test_model_extensions(client, uid):
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    t, s, m = f"mt-{uid}", f"ms-{uid}", f"mtemp-{uid}"
    client.insert_sensor_type(t, [{"name": m, "units": "K", "datatype": "float"}])
    client.insert_sensor(t, s)
    stamps = [now - dt.timedelta(hours=72 - i) for i in range(72)]
    client.insert_sensor_readings(m, s, [280.0 + (i % 24) + (i % 3) for i in range(72)], stamps)
    client.insert_model(f"mx-{uid}")
    client.insert_model_measure(f"mf-{uid}", "K", "float")
    run = client.insert_model_run(f"mx-{uid}", "s", [{"measure_name": f"mf-{uid}", "values": [290.0, 291.0],
                                                      "timestamps": stamps[-2:]}],
                                  create_scenario=True, sensor_unique_id=s, sensor_measure={"name": m, "units": "K"})
    cmp = client.get_model_run_comparison(run["id"], tolerance_minutes=5)
    assert cmp["run"]["id"] == run["id"] and len(cmp["observed"]) >= 2 and cmp["metrics"]
    client.delete_model_run(run["id"])
    assert client.get_model_run(run["id"]) == {}
    out = client.run_arima([s], [{"name": m, "units": "K"}], order=[1, 0, 0], seasonal_order=[0, 0, 0, 0],
                           hours_forecast=6, num_days_training=3)
    assert len(out["runs"]) == 1 and out["runs"][0]["sensor_unique_id"] == s


def test_service_extensions(client, uid):
    got = []

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append((json.loads(body or b"null"), self.headers.get("X-Key")))
            data = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        name, url = f"echo-{uid}", f"http://127.0.0.1:{httpd.server_address[1]}/"
        client.insert_service(name, url, "POST", timeout_seconds=5, credential_header="X-Key", credential_value="sekrit")
        details = [d for d in client.list_services_details() if d["name"] == name][0]
        assert details["timeout_seconds"] == 5 and details["credential_header"] == "X-Key"
        assert "sekrit" not in json.dumps(details)
        res = client.run_service(name, parameters={"n": 1})
        run = client.get_run(res["run_id"])
        assert run["status"] == "succeeded" and run["response_json"] == {"ok": True}
        assert got[-1] == ({"n": 1}, "sekrit")
        res = client.run_service(name, parameters=[1, 2], run_async=True)
        deadline = time.time() + 120  # only a hang, not a busy machine, reaches it
        while client.get_run(res["run_id"])["status"] != "succeeded":
            assert time.time() < deadline
            time.sleep(0.05)
        assert [r["run_id"] for r in client.list_runs(name, limit=1)] == [res["run_id"]]
        client.edit_service(name, clear_credential=True)
        client.insert_schedule(name, "nightly", "0 2 * * *", timezone="Europe/London")
        client.edit_schedule(name, "nightly", "0 3 * * *")
        client.disable_schedule(name, "nightly")
        client.enable_schedule(name, "nightly")
        sched = client.list_schedules(name)
        assert [(x["name"], x["cron"], x["enabled"]) for x in sched] == [("nightly", "0 3 * * *", True)]
        client.delete_schedule(name, "nightly")
        assert client.list_schedules(name) == []
    finally:
        httpd.shutdown()
