"""An example model service written with the dtbase Python SDK.

``MovingAverageModel`` forecasts a sensor measure as the mean of its last
``window`` readings, with a band of two standard deviations, for
``horizon`` steps after the last reading, and stores the forecast as a model
run linked to the sensor series it predicts (so dtbase's web interface plots
forecast against observed).

It is written exactly like a DTBase service: a ``BaseModel`` subclass whose
``get_service_data(**kwargs)`` returns ``(endpoint, payload)`` pairs. Run it
once from the command line, e.g. on the demo (``dtbase serve --demo``) for
the temperature of its sensor Farm_T/RH_16B4::

    DT_BACKEND_URL=http://localhost:5000 DT_DEFAULT_USER_PASS=... \\
      python3 forecast_model.py run --sensor c4:93:00:10:12:95 --measure temperature

or serve it over HTTP so that dtbase calls it (``/service/insert-service``
with URL ``http://host:8082/`` and method ``POST``; the parameters of a run
are the keyword arguments of ``get_service_data``)::

    python3 forecast_model.py serve --port 8082

It needs only ``requests`` and the ``dtbase_client`` package in ``python/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, List, Optional, Tuple

try:
    from dtbase_client import Client, parse_time
    from dtbase_client.services import BaseModel
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
    from dtbase_client import Client, parse_time
    from dtbase_client.services import BaseModel

log = logging.getLogger("forecast_model")


class MovingAverageModel(BaseModel):
    """A moving-average forecaster of one sensor measure."""

    def __init__(self, client: Optional[Client] = None):
        super().__init__()
        # Reading the input needs a client; by default it is configured
        # from DT_BACKEND_URL and DT_DEFAULT_USER_PASS (or DT_API_KEY), as
        # the original's models read their data.
        self.reader = client

    def get_service_data(
        self,
        sensor_unique_id: str,
        measure_name: str,
        measure_units: Optional[str] = None,
        window: int = 24,
        horizon: int = 12,
        days: float = 7,
        model_name: str = "moving-average",
        scenario: str = "default",
    ) -> List[Tuple[str, Any]]:
        reader = self.reader or Client()
        units = measure_units
        if units is None:
            for st in reader.list_sensor_types():
                for m in st["measures"]:
                    if m["name"] == measure_name:
                        units = m["units"]
        now = dt.datetime.now(dt.timezone.utc)
        readings = reader.sensor_readings(
            measure_name, sensor_unique_id, now - dt.timedelta(days=days), now, measure_units=measure_units
        )
        if len(readings) < 2:
            raise ValueError(f"need at least two readings of {measure_name} of {sensor_unique_id}, got {len(readings)}")
        values = [float(r["value"]) for r in readings[-window:]]
        times = [parse_time(r["timestamp"]) for r in readings[-window:]]
        step = statistics.median(b - a for a, b in zip(times, times[1:]))
        mean = statistics.fmean(values)
        spread = 2 * statistics.pstdev(values)
        future = [times[-1] + step * (i + 1) for i in range(horizon)]
        stamps = [t.isoformat() for t in future]
        model_units = units or ""
        names = {k: f"{measure_name} {k}" for k in ("forecast", "upper", "lower")}
        pairs: List[Tuple[str, Any]] = [("/model/insert-model", {"name": model_name})]
        for name in names.values():
            pairs.append(("/model/insert-model-measure", {"name": name, "units": model_units, "datatype": "float"}))
        pairs.append(
            (
                "/model/insert-model-run",
                {
                    "model_name": model_name,
                    "scenario_description": scenario,
                    "create_scenario": True,
                    "sensor_unique_id": sensor_unique_id,
                    "sensor_measure": {"name": measure_name, "units": units},
                    "measures_and_values": [
                        {"measure_name": names["forecast"], "values": [mean] * horizon, "timestamps": stamps},
                        {"measure_name": names["upper"], "values": [mean + spread] * horizon, "timestamps": stamps},
                        {"measure_name": names["lower"], "values": [mean - spread] * horizon, "timestamps": stamps},
                    ],
                },
            )
        )
        return pairs


def make_handler(model: MovingAverageModel):
    """An HTTP handler that runs the model with the JSON body as keyword
    arguments and answers with the status of each call it made."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                params = json.loads(self.rfile.read(length) or b"{}") or {}
                responses = model(**params)
                body = {"statuses": [r.status_code for r in responses]}
                status = 200 if all(r.status_code < 300 or r.status_code == 409 for r in responses) else 502
            except Exception as e:  # report any failure to the run log
                body, status = {"error": f"{type(e).__name__}: {e}"}, 500
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            log.info(fmt, *args)

    return Handler


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the model once")
    run.add_argument("--sensor", required=True)
    run.add_argument("--measure", required=True)
    run.add_argument("--window", type=int, default=24)
    run.add_argument("--horizon", type=int, default=12)
    serve = sub.add_parser("serve", help="serve the model over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8082)
    args = ap.parse_args(argv)
    model = MovingAverageModel()
    if args.cmd == "run":
        responses = model(sensor_unique_id=args.sensor, measure_name=args.measure, window=args.window, horizon=args.horizon)
        return 0 if all(r.status_code < 300 or r.status_code == 409 for r in responses) else 1
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(model))
    log.info("serving the example model on http://%s:%d/", args.host, args.port)
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
