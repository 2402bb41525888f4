"""DataFrames in and out, against the real server (SQLite, or PostgreSQL
with DT_TEST_POSTGRES_URL)."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

from dtbase_client import Client, DTBaseError, PartialWriteError  # noqa: E402
from dtbase_client.frames import DataFrameMixin  # noqa: E402

from conftest import PASSWORD  # noqa: E402

UTC = dt.timezone.utc
BIG_SENSORS = 10
BIG_STEPS = 100_000  # 10 sensors x 100,000 timestamps = 1M readings


def _rss_peak_kib():
    """The process's peak resident set size (VmHWM), in KiB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_rss_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def mclient(server):
    c = Client(server.url, email="default_user@localhost", password=PASSWORD)
    c.login()
    return c


@pytest.fixture(scope="module")
def big(mclient):
    """1M float readings across 10 sensors, written through write_readings."""
    mclient.insert_sensor_type("big-frame", [{"name": "temperature", "units": "K", "datatype": "float"}])
    sensors = [f"big-{i}" for i in range(BIG_SENSORS)]
    for s in sensors:
        mclient.insert_sensor("big-frame", s)
    rng = np.random.default_rng(20)
    index = pd.date_range("2023-01-01", periods=BIG_STEPS, freq="1min", tz="UTC", name="timestamp")
    values = rng.normal(290, 5, size=(BIG_STEPS, BIG_SENSORS))
    values[rng.random(values.shape) < 0.01] = np.nan  # gaps: no reading there
    df = pd.DataFrame(values, index=index,
                      columns=pd.MultiIndex.from_tuples([(s, "temperature") for s in sensors], names=["sensor", "measure"]))
    summary = mclient.write_readings(df)
    return df, summary


def test_million_readings_round_trip(mclient, big):
    df, summary = big
    n = int(df.notna().to_numpy().sum())
    assert 985_000 < n < 1_000_000
    assert (summary.rows, summary.inserted, summary.duplicates, summary.requests) == (n, n, 0, 1)

    sensors = list(df.columns.get_level_values(0))
    mclient.read_readings(sensors[0], "temperature", df.index[0], df.index[99])  # code loaded once
    _reset_rss_peak()
    rss_before = _rss_peak_kib()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    got = mclient.read_readings(sensors, "temperature", df.index[0], df.index[-1])
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss_after = _rss_peak_kib()

    pd.testing.assert_frame_equal(got, df, check_exact=True, check_freq=False)
    own = int(got.memory_usage(deep=True).sum())
    rss = "" if rss_before is None else f", peak RSS growth {(rss_after - rss_before) / 1024:.1f} MiB"
    print(f"\nread_readings of {n} readings: frame {own / 2**20:.1f} MiB, "
          f"allocations peak {peak / 2**20:.1f} MiB ({peak / own:.2f}x){rss}")
    assert peak < 2 * own


def test_long_layout_and_chunks(mclient, big):
    df, _ = big
    sensors = list(df.columns.get_level_values(0))[:2]
    start, end = df.index[0], df.index[9_999]
    whole = mclient.read_readings(sensors, start=start, end=end)
    chunked = mclient.read_readings(sensors, start=start, end=end, chunk=dt.timedelta(hours=7), progress=True)
    pd.testing.assert_frame_equal(chunked, whole)
    # Rows where neither sensor has a reading are not read back.
    pd.testing.assert_frame_equal(whole, df.loc[start:end, sensors].dropna(how="all"), check_freq=False)

    long = mclient.read_readings(sensors, start=start, end=end, layout="long")
    assert list(long.columns) == ["sensor", "measure", "value"]
    assert len(long) == int(whole.notna().to_numpy().sum())
    long = long.astype({"sensor": str, "measure": str})
    back = long.reset_index().pivot(index="timestamp", columns=["sensor", "measure"], values="value")
    back.columns = back.columns.set_names(["sensor", "measure"]).remove_unused_levels()
    pd.testing.assert_frame_equal(back, whole, check_names=False, check_column_type=False)


def test_resolutions(mclient, big):
    df, _ = big
    s = df.columns[0][0]
    start, end = df.index[0], df.index[599]  # ten hours of minutes
    hourly = mclient.read_readings(s, "temperature", start, end, resolution="1h")
    expected = df.loc[start:end, (s, "temperature")].resample("1h").mean()
    assert len(hourly) == 10
    np.testing.assert_allclose(hourly[(s, "temperature")].to_numpy(), expected.to_numpy(), rtol=1e-12)
    counts = mclient.read_readings(s, "temperature", start, end, resolution=dt.timedelta(hours=1), aggregate="count")
    assert str(counts[(s, "temperature")].dtype) == "Int64"
    assert counts[(s, "temperature")].sum() == df.loc[start:end, (s, "temperature")].notna().sum()
    down = mclient.read_readings(s, "temperature", start, end, resolution=50)
    assert 0 < len(down) <= 50
    assert down[(s, "temperature")].max() == df.loc[start:end, (s, "temperature")].max()  # peaks kept


@pytest.fixture
def mixed(client, uid):
    """A sensor whose type has one measure of each datatype."""
    t, s = f"mixed-{uid}", f"mx-{uid}"
    client.insert_sensor_type(t, [
        {"name": "f", "units": "K", "datatype": "float"},
        {"name": "i", "units": None, "datatype": "integer"},
        {"name": "b", "units": None, "datatype": "boolean"},
        {"name": "s", "units": None, "datatype": "string"},
    ])
    client.insert_sensor(t, s)
    return s


def test_every_datatype_round_trips(client, mixed):
    index = pd.date_range("2024-03-01T12:00:00.123456Z", periods=6, freq="90s", name="timestamp")
    df = pd.DataFrame({
        "f": pd.array([1.5, np.nan, -1e-300, 2.0**60, 0.1 + 0.2, 3.0], dtype="float64"),
        "i": pd.array([1, 2, None, -(2**31), 2**31 - 1, 0], dtype="Int64"),
        "b": pd.array([True, False, None, True, False, True], dtype="boolean"),
        "s": pd.array(["plain", 'with "quotes", commas', None, "NA", "café\nline", " lead"], dtype="string"),
    }, index=index)
    summary = client.write_readings(df, sensor=mixed)
    assert (summary.rows, summary.inserted, summary.duplicates) == (20, 20, 0)

    got = client.read_readings(mixed, start=index[0], end=index[-1])
    assert {m: str(got[(mixed, m)].dtype) for m in "fibs"} == {"f": "float64", "i": "Int64", "b": "boolean", "s": "string"}
    want = df.copy()
    want.columns = pd.MultiIndex.from_tuples([(mixed, c) for c in df.columns], names=["sensor", "measure"])
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_freq=False)

    # Plain numpy dtypes map the same way, and a second write only finds duplicates.
    plain = pd.DataFrame({"f": df["f"].to_numpy(), "i": [1.0, 2.0, np.nan, -(2.0**31), 2.0**31 - 1, 0.0]}, index=index)
    again = client.write_readings(plain, sensor=mixed)
    assert (again.rows, again.inserted, again.duplicates) == (10, 0, 10)
    long = client.read_readings(mixed, ["f", "i"], index[0], index[-1], layout="long")
    assert long["value"].dtype == object and len(long) == 10


def test_values_checked_before_sending(client, mixed):
    index = pd.date_range("2024-04-01", periods=3, freq="h", tz="UTC")
    cases = [
        ({"i": [1.0, 2.5, 3.0]}, "non-integral"),
        ({"i": [1, 2, 2**31]}, "32-bit"),
        ({"f": [1.0, np.inf, 2.0]}, "infinite"),
        ({"b": ["yes", "no", "maybe"]}, "boolean"),
        ({"nope": [1.0, 2.0, 3.0]}, "no measure 'nope'"),
    ]
    for columns, message in cases:
        with pytest.raises(ValueError, match=message):
            client.write_readings(pd.DataFrame(columns, index=index), sensor=mixed)
    assert client.read_readings(mixed, start=index[0], end=index[-1]).empty


def test_timezone_naive_refused(client, mixed):
    naive = pd.DataFrame({"f": [1.0, 2.0]}, index=pd.date_range("2024-05-01", periods=2, freq="h"))
    with pytest.raises(ValueError, match="timezone-naive"):
        client.write_readings(naive, sensor=mixed)
    summary = client.write_readings(naive, sensor=mixed, tz="Europe/London")  # BST: UTC+1
    assert summary.inserted == 2
    got = client.read_readings(mixed, "f", "2024-04-30T23:00:00Z", "2024-05-01T00:00:00Z")
    assert list(got.index) == [pd.Timestamp("2024-04-30T23:00:00Z"), pd.Timestamp("2024-05-01T00:00:00Z")]


def test_nan_skipped_long_frames_and_batches(client, mixed, monkeypatch):
    index = pd.date_range("2024-06-01", periods=400, freq="min", tz="UTC")
    values = np.arange(400, dtype=float)
    values[::4] = np.nan
    long = pd.DataFrame({"timestamp": index, "sensor": mixed, "measure": "f", "value": values})
    with_units = long.assign(units=["K", None] * 200).iloc[:8]  # a units column, partly empty
    assert client.write_readings(with_units).inserted == 6
    with pytest.raises(ValueError, match="no measure 'f' in 'mK'"):
        client.write_readings(with_units.assign(units="mK"))
    summary = client.write_readings(long, batch_bytes=2_000)  # several requests
    assert (summary.rows, summary.inserted, summary.duplicates) == (300, 294, 6) and summary.requests > 1
    got = client.read_readings(mixed, "f", index[0], index[-1])
    assert len(got) == 300 and not got.isna().any().any()
    np.testing.assert_array_equal(got[(mixed, "f")].to_numpy(), values[~np.isnan(values)])

    # A failure after the first request says what was stored: here the
    # sensor is deleted on the server between the first and second request.
    bad = long.copy()
    bad["timestamp"] = bad["timestamp"] + pd.Timedelta(days=1)
    real, calls = client.upload_readings_csv, []

    def upload(data):
        calls.append(len(data))
        if len(calls) == 2:
            client.delete_sensor(mixed)
        return real(data)

    monkeypatch.setattr(client, "upload_readings_csv", upload)
    with pytest.raises(PartialWriteError) as e:
        client.write_readings(bad, batch_bytes=2_000)
    assert e.value.written.requests == 1 and 0 < e.value.written.inserted < 300
    assert isinstance(e.value.cause, DTBaseError) and e.value.cause.status == 400


def test_model_run_round_trip(client, uid):
    t, s = f"fc-{uid}", f"fcs-{uid}"
    client.insert_sensor_type(t, [{"name": "temperature", "units": "degC", "datatype": "float"}])
    client.insert_sensor(t, s)
    obs_index = pd.date_range("2024-07-01", periods=48 * 6, freq="10min", tz="UTC")
    observed = pd.Series(20 + np.sin(np.arange(len(obs_index)) / 20), index=obs_index, name="temperature")
    client.write_readings(observed, sensor=s)

    fc_index = pd.date_range("2024-07-02", periods=24, freq="h", tz="UTC")
    forecast = pd.DataFrame({"mean": observed.reindex(fc_index).to_numpy() + 0.5}, index=fc_index)
    forecast["lower"], forecast["upper"] = forecast["mean"] - 1, forecast["mean"] + 1
    model = f"my-model-{uid}"
    run_id = client.write_model_run(forecast, model, "test", sensor=s, measure="temperature")
    assert client.get_model_run_sensor_measure(run_id) == {
        "sensor_unique_id": s, "sensor_measure": {"name": "temperature", "units": "degC"}}

    got = client.read_forecast(model)
    assert list(got.columns) == ["mean", "lower", "upper", "observed"]
    pd.testing.assert_frame_equal(got[["mean", "lower", "upper"]], forecast, check_freq=False, check_names=False)
    # Each forecast hour is paired with the readings within 15 minutes of it.
    window = observed.rolling(3, center=True).mean().reindex(fc_index)
    np.testing.assert_allclose(got["observed"], window.to_numpy(), rtol=1e-12)
    assert got.attrs["run"]["id"] == run_id
    metric = got.attrs["metrics"][0]
    assert metric["measure"] == "Mean temperature" and metric["n"] == 24
    assert metric["mae"] == pytest.approx(0.5, abs=1e-3) and metric["coverage"] == 1.0
    assert client.read_forecast(model, run=run_id).attrs["run"]["id"] == run_id

    with pytest.raises(ValueError, match="timezone-naive"):
        client.write_model_run(forecast.tz_localize(None), model)


def test_mixin_has_no_pandas_import_at_module_level():
    import dtbase_client.frames as frames

    assert issubclass(Client, DataFrameMixin)
    assert "pandas" not in vars(frames)


def test_names_with_colons(client, uid):
    """Sensor ids such as MAC addresses cannot name wide CSV columns; the
    write goes in the long layout instead."""
    t = f"mac-{uid}"
    client.insert_sensor_type(t, [{"name": "temperature", "units": "°C", "datatype": "float"},
                                  {"name": "state", "units": None, "datatype": "string"}])
    sensors = [f"c4:93:00:{uid[:2]}:{uid[2:4]}:0{i}" for i in range(2)]
    for s in sensors:
        client.insert_sensor(t, s)
    index = pd.date_range("2024-08-01", periods=5, freq="h", tz="UTC", name="timestamp")
    df = pd.DataFrame({(sensors[0], "temperature"): [1.0, np.nan, 3.0, 4.0, 5.0],
                       (sensors[1], "temperature"): [np.nan, 2.5, np.nan, np.nan, 5.5],
                       (sensors[1], "state"): pd.array(["on", None, "off", "a:b", None], dtype="string")}, index=index)
    df.columns = df.columns.set_names(["sensor", "measure"])
    assert client.write_readings(df).inserted == 9
    got = client.read_readings(sensors, start=index[0], end=index[-1])
    pd.testing.assert_frame_equal(got[df.columns], df, check_freq=False)
