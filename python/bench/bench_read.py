"""Benchmark: read_readings of 1M readings against the raw CSV download.

Starts a real ``dtbase serve`` (built from the checkout, or DTBASE_BIN; on
PostgreSQL with DT_TEST_POSTGRES_URL), writes 1M float readings across 10
sensors with write_readings, then times, best of three:

- ``read_readings`` of the whole range into a wide, typed DataFrame;
- the baseline: the same range downloaded from /sensor/readings.csv, one
  request per sensor, each parsed by ``pandas.read_csv(parse_dates=...)``.

It prints both, and their ratio (target: at most 1.5). Not a test: the
numbers depend on the machine.

Usage: python3 python/bench/bench_read.py [--sensors 10] [--steps 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import PASSWORD, REPO, Server  # noqa: E402

from dtbase_client import Client  # noqa: E402


def best_of(n, fn):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import os
    import subprocess

    tmp = Path(tempfile.mkdtemp(prefix="dtbase-bench-"))
    binary = os.environ.get("DTBASE_BIN")
    if not binary:
        binary = str(tmp / "dtbase")
        subprocess.run(["go", "build", "-o", binary, "./cmd/dtbase"], cwd=REPO, check=True)
    server = Server(binary, tmp)
    try:
        c = Client(server.url, email="default_user@localhost", password=PASSWORD)
        c.insert_sensor_type("bench", [{"name": "temperature", "units": "K", "datatype": "float"}])
        sensors = [f"bench-{i}" for i in range(args.sensors)]
        for s in sensors:
            c.insert_sensor("bench", s)
        index = pd.date_range("2023-01-01", periods=args.steps, freq="1min", tz="UTC", name="timestamp")
        values = np.random.default_rng(1).normal(290, 5, size=(args.steps, args.sensors))
        df = pd.DataFrame(values, index=index,
                          columns=pd.MultiIndex.from_tuples([(s, "temperature") for s in sensors]))
        n = df.size
        t_write, summary = best_of(1, lambda: c.write_readings(df))
        print(f"write_readings: {summary.inserted} readings in {t_write:.2f} s ({summary.inserted / t_write:,.0f}/s)")

        def sdk():
            return c.read_readings(sensors, "temperature", index[0], index[-1])

        def download(parse):
            frames = []
            for s in sensors:
                resp = c.request("GET", "/sensor/readings.csv", stream=True, params={
                    "unique_identifier": s, "measure_name": "temperature",
                    "dt_from": index[0].isoformat(), "dt_to": index[-1].isoformat()})
                resp.raise_for_status()
                frames.append(parse(resp.raw))
            return frames

        def raw():
            return download(lambda f: pd.read_csv(f, parse_dates=["timestamp"]))

        def tuned():
            def parse(f):
                d = pd.read_csv(f, usecols=["timestamp", "value"])
                d["timestamp"] = pd.to_datetime(d["timestamp"], utc=True)
                return d
            return download(parse)

        t_sdk, got = best_of(args.repeat, sdk)
        t_raw, frames = best_of(args.repeat, raw)
        t_tuned, frames2 = best_of(args.repeat, tuned)
        assert got.notna().to_numpy().sum() == n == sum(len(f) for f in frames) == sum(len(f) for f in frames2)
        print(f"read_readings:                          {n} readings in {t_sdk:.2f} s ({n / t_sdk:,.0f}/s)")
        print(f"readings.csv + read_csv(parse_dates):   {n} readings in {t_raw:.2f} s ({n / t_raw:,.0f}/s)")
        print(f"readings.csv + read_csv(usecols) + to_datetime: {n} readings in {t_tuned:.2f} s ({n / t_tuned:,.0f}/s)")
        print(f"ratio read_readings / raw CSV download: {t_sdk / t_raw:.2f} (target <= 1.5)")
        print(f"ratio read_readings / tuned raw CSV:    {t_sdk / t_tuned:.2f} "
              "(read_readings also parses floats exactly: float_precision='round_trip')")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
