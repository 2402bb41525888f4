"""pandas in, pandas out: readings and model runs as DataFrames.

``Client`` inherits these methods; pandas (and numpy) are imported when one
is first called, so the client works without them (``pip install
'dtbase-client[pandas]'``).

Columns map to the server's datatypes one to one:

==========  =====================  ==================================
datatype    wide column dtype      values
==========  =====================  ==================================
float       ``float64``            NaN where a sensor has no reading
integer     ``Int64`` (nullable)   32-bit on the server
boolean     ``boolean`` (nullable)
string      ``string``
==========  =====================  ==================================
"""

from __future__ import annotations

import datetime as _dt
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from .exc import DTBaseError
from .types import InsertSummary, Measure, ModelRun, ModelRunComparison, WriteSummary

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .client import Client, Timestamp

Resolution = Union[None, str, int, float, _dt.timedelta]

# A request body the server accepts by default (DT_MAX_BODY_BYTES is 64 MiB),
# with room to spare.
DEFAULT_BATCH_BYTES = 32 << 20
# Rows of a CSV answer parsed at a time: bounds the Python strings alive at once.
READ_CHUNK_ROWS = 20_000
# Rows of a frame rendered to CSV at a time when writing.
WRITE_CHUNK_ROWS = 20_000
_INT32 = (-(2**31), 2**31 - 1)
_EPOCH = "1970-01-01T00:00:00Z"
_END_OF_TIME = "9999-12-31T23:59:59Z"
_FORECAST_PREFIXES = (("Mean ", "mean"), ("Lower Bound ", "lower"), ("Upper Bound ", "upper"))


def _pandas() -> Tuple[Any, Any]:
    """pandas and numpy, or an ImportError that says how to get them."""
    try:
        import numpy
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("The DataFrame methods need pandas: pip install 'dtbase-client[pandas]'") from e
    return pandas, numpy


class PartialWriteError(Exception):
    """A write that needed several requests failed after the first stored
    its readings. ``written`` counts what was stored; writing the same
    frame again is safe, since readings stored already are skipped."""

    def __init__(self, written: WriteSummary, cause: Exception):
        self.written = written
        self.cause = cause
        super().__init__(
            f"{cause}; {written.requests} of the write's requests had stored {written.inserted} readings "
            "before it failed (writing the same data again is safe: stored readings are skipped)"
        )


def _utc_index(index: Any, tz: Optional[str], what: str) -> "pd.DatetimeIndex":
    """``index`` as a UTC DatetimeIndex; a naive one needs ``tz``."""
    pd, _ = _pandas()
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(index)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what} must be timestamps (a DatetimeIndex or a 'timestamp' column): {e}") from e
    if index.tz is None:
        if tz is None:
            raise ValueError(
                f"{what} has timezone-naive timestamps, which would be ambiguous; "
                "localize them (df.tz_localize('UTC')) or pass tz='UTC' (or the zone they are in)"
            )
        index = index.tz_localize(tz)
    return index.tz_convert("UTC")


def _time_param(t: Optional["Timestamp"], default: str) -> Any:
    from .client import format_time

    return default if t is None else format_time(t)


def _names(x: Union[None, str, Iterable[str]]) -> Optional[List[str]]:
    if x is None:
        return None
    return [x] if isinstance(x, str) else list(x)


def _column_key(col: Any) -> Tuple[str, str, Optional[str]]:
    """(sensor, measure, units) of a wide column: a tuple, or 'S:M[:U]'."""
    if isinstance(col, tuple) and len(col) in (2, 3):
        units = col[2] if len(col) == 3 and col[2] not in ("", None) else None
        return str(col[0]), str(col[1]), None if units is None else str(units)
    if isinstance(col, str):
        parts = col.split(":")
        if len(parts) in (2, 3) and parts[0] and parts[1]:
            return parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None
    raise ValueError(
        f"column {col!r} names no sensor and measure: use (sensor, measure) tuples (a column MultiIndex), "
        "'sensor:measure' strings, or pass sensor= with one column per measure"
    )


class _Aligner:
    """Gathers series column by column on one sorted time axis (int64 ns),
    re-indexing the columns gathered so far one at a time when a series
    brings new timestamps, so at most one column is copied at once."""

    def __init__(self) -> None:
        self.index: Any = None
        self.columns: Dict[Any, Tuple[Any, Any]] = {}  # key -> (values, mask or None)

    def add(self, key: Any, ts: Any, values: Any) -> None:
        _, np = _pandas()
        if self.index is None or (len(ts) == len(self.index) and np.array_equal(ts, self.index)):
            if self.index is None:
                self.index = ts
            self.columns[key] = (values, None)
            return
        new = np.union1d(self.index, ts)
        if len(new) != len(self.index):
            pos = np.searchsorted(new, self.index)
            for k in list(self.columns):
                v, m = self.columns.pop(k)
                self.columns[k] = self._spread(v, m, pos, len(new))
            self.index = new
        self.columns[key] = self._spread(values, None, np.searchsorted(new, ts), len(new))

    @staticmethod
    def _spread(values: Any, mask: Any, pos: Any, n: int) -> Tuple[Any, Any]:
        _, np = _pandas()
        if values.dtype.kind == "f":
            out = np.full(n, np.nan)
            out[pos] = values
            return out, None
        out = np.zeros(n, dtype=values.dtype) if values.dtype != object else np.full(n, None, dtype=object)
        out[pos] = values
        new_mask = np.ones(n, dtype=bool)
        new_mask[pos] = False if mask is None else mask
        return out, new_mask


def _typed(values: Any, mask: Any, datatype: str) -> Any:
    """A column of the wide frame for the measure's datatype (no copy of
    numeric values)."""
    pd, np = _pandas()
    if datatype == "float":
        return values
    if mask is None:
        mask = np.zeros(len(values), dtype=bool)
    if datatype == "integer":
        return pd.arrays.IntegerArray(values.astype("int64", copy=False), mask)
    if datatype == "boolean":
        return pd.arrays.BooleanArray(values.astype(bool, copy=False), mask)
    values = values.copy()
    values[mask] = pd.NA
    return pd.array(values, dtype="string")


class DataFrameMixin:
    """The DataFrame methods of ``Client``."""

    @property
    def _client(self) -> "Client":
        """This object as the ``Client`` it is part of."""
        return cast("Client", self)

    # -- metadata --------------------------------------------------------

    def _measures_of(self, sensors: Sequence[str]) -> Dict[str, List[Measure]]:
        """Each sensor's measures, in its type's order (two calls in all)."""
        types = {t["name"]: t["measures"] for t in self._client.list_sensor_types()}
        found = {d["unique_identifier"]: d["type_name"] for d in self._client.list_sensors_details()}
        missing = [s for s in sensors if s not in found]
        if missing:
            raise ValueError(f"unknown sensor(s): {', '.join(missing)}")
        return {s: cast(List[Measure], types.get(found[s], [])) for s in sensors}

    def _select(
        self, sensors: Union[str, Sequence[str]], measures: Union[None, str, Sequence[str]]
    ) -> List[Tuple[str, Measure]]:
        uids = _names(sensors) or []
        wanted = _names(measures)
        out: List[Tuple[str, Measure]] = []
        for uid, ms in self._client._measures_of(uids).items():
            chosen = [m for m in ms if wanted is None or m["name"] in wanted]
            if wanted is not None:
                unknown = set(wanted) - {m["name"] for m in ms}
                if unknown and len(uids) == 1:
                    raise ValueError(f"sensor {uid} has no measure {', '.join(sorted(unknown))}")
            out.extend((uid, m) for m in chosen)
        if not out:
            raise ValueError("no measure of the given sensors matches measures=" + repr(measures))
        return out

    # -- reading -----------------------------------------------------------

    def read_readings(
        self,
        sensors: Union[str, Sequence[str]],
        measures: Union[None, str, Sequence[str]] = None,
        start: Optional["Timestamp"] = None,
        end: Optional["Timestamp"] = None,
        resolution: Resolution = None,
        aggregate: str = "mean",
        layout: str = "wide",
        chunk: Optional[_dt.timedelta] = None,
        progress: bool = False,
    ) -> "pd.DataFrame":
        """Readings of sensors as a DataFrame.

        ``sensors``: one unique identifier or several; ``measures``: names
        (default: every measure of each sensor's type). ``start`` and ``end``
        are included (default: all time). ``resolution`` None reads every
        reading (streamed CSV); a bucket width (``"15m"``, ``"1h"``, a
        float of seconds or a ``timedelta``) reads one ``aggregate`` per bucket
        (mean, min, max, sum, count, first, last); an ``int`` reads at most
        that many points per series, keeping peaks and troughs.

        ``layout="wide"`` (default) gives a UTC ``DatetimeIndex`` and one
        column per (sensor, measure) (a two-level column index), typed as
        the module doc says; ``layout="long"`` gives one row per reading
        with columns sensor, measure and value. ``chunk`` splits the range
        into requests of that length (needs ``start`` and ``end``);
        ``progress`` draws a tqdm bar when tqdm is installed.
        """
        pd, np = _pandas()
        if layout not in ("wide", "long"):
            raise ValueError("layout must be 'wide' or 'long'")
        selected = self._client._select(sensors, measures)
        windows = _windows(start, end, chunk)
        bar = _progress(progress, len(selected) * len(windows))
        aligner = _Aligner()
        long_parts: List[Any] = []
        datatypes: Dict[Tuple[str, str], str] = {}
        try:
            for uid, m in selected:
                ts_parts, val_parts = [], []
                datatype: str = m["datatype"]
                for w_start, w_end in windows:
                    if resolution is None:
                        ts, vals = self._client._read_csv_series(uid, m, w_start, w_end)
                    else:
                        ts, vals, datatype = self._client._read_json_series(uid, m, w_start, w_end, resolution, aggregate)
                    ts_parts.append(ts)
                    val_parts.append(vals)
                    if bar is not None:
                        bar.update(1)
                ts = ts_parts[0] if len(ts_parts) == 1 else np.concatenate(ts_parts)
                vals = val_parts[0] if len(val_parts) == 1 else np.concatenate(val_parts)
                del ts_parts, val_parts
                key = (uid, m["name"])
                datatypes[key] = datatype
                if layout == "long":
                    long_parts.append((key, ts, vals))
                else:
                    aligner.add(key, ts, vals)
                del ts, vals
        finally:
            if bar is not None:
                bar.close()
        if layout == "long":
            return _long_frame(long_parts, datatypes)
        index = pd.DatetimeIndex(aligner.index if aligner.index is not None else np.array([], dtype="int64"))
        index = index.tz_localize("UTC").rename("timestamp")
        data: Dict[Any, Any] = {}
        for key in list(aligner.columns):
            v, mask = aligner.columns.pop(key)
            data[key] = _typed(v, mask, datatypes[key])
        df = pd.DataFrame(data, index=index, copy=False)
        df.columns = pd.MultiIndex.from_tuples(list(data), names=["sensor", "measure"])
        return df

    def _read_csv_series(
        self, uid: str, m: Measure, start: Optional["Timestamp"], end: Optional["Timestamp"]
    ) -> Tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]"]:
        """One measure's readings from the streamed CSV download, parsed
        chunk by chunk straight off the socket: (int64 ns times, values)."""
        pd, np = _pandas()
        units = None if m["units"] is None else [m["units"]]
        params = self._client._csv_params(uid, [m["name"]], start, end, units)
        resp = self._client._readings_csv(params, stream=True)
        try:
            resp.raw.decode_content = True
            dtype = {"float": "float64", "integer": "int64", "boolean": "bool", "string": "object"}[m["datatype"]]
            reader = pd.read_csv(
                resp.raw,
                usecols=["timestamp", "value"],
                dtype={"timestamp": "object", "value": dtype},
                na_filter=False,
                keep_default_na=False,
                float_precision="round_trip",
                true_values=["true"],
                false_values=["false"],
                chunksize=READ_CHUNK_ROWS,
                encoding="utf-8",
            )
            ts_parts, val_parts = [], []
            with reader:
                for part in reader:
                    ts_parts.append(pd.to_datetime(part["timestamp"].to_numpy(), utc=True).asi8)
                    val_parts.append(part["value"].to_numpy())
                    del part
        finally:
            resp.close()
        if not ts_parts:
            empty = {"float": "float64", "integer": "int64", "boolean": "bool", "string": "object"}[m["datatype"]]
            return np.array([], dtype="int64"), np.array([], dtype=empty)
        if len(ts_parts) == 1:
            return ts_parts[0], val_parts[0]
        ts = np.concatenate(ts_parts)
        del ts_parts
        return ts, np.concatenate(val_parts)

    def _read_json_series(
        self,
        uid: str,
        m: Measure,
        start: Optional["Timestamp"],
        end: Optional["Timestamp"],
        resolution: Resolution,
        aggregate: str,
    ) -> Tuple[Any, Any, str]:
        """A downsampled or aggregated series: (int64 ns times, values, datatype)."""
        pd, np = _pandas()
        dt_from, dt_to = _time_param(start, _EPOCH), _time_param(end, _END_OF_TIME)
        datatype = m["datatype"]
        if isinstance(resolution, int) and not isinstance(resolution, bool):
            points = self._client.sensor_readings_downsampled(m["name"], uid, dt_from, dt_to, resolution, m["units"])
            values = [p["value"] for p in points]
        else:
            bucket: Union[str, float] = (
                resolution.total_seconds() if isinstance(resolution, _dt.timedelta) else cast(Union[str, float], resolution)
            )
            points = self._client.sensor_readings_aggregate(m["name"], uid, dt_from, dt_to, bucket, [aggregate], m["units"])
            values = [p[aggregate] for p in points]
            if aggregate == "mean":
                datatype = "float"
            elif aggregate == "count":
                datatype = "integer"
        np_dtype = {"float": "float64", "integer": "int64", "boolean": "bool", "string": "object"}[datatype]
        ts = pd.to_datetime([p["timestamp"] for p in points], utc=True).asi8 if points else np.array([], "int64")
        return ts, np.array(values, dtype=np_dtype), datatype

    # -- writing -----------------------------------------------------------

    def write_readings(
        self,
        df: Union["pd.DataFrame", "pd.Series"],
        sensor: Optional[str] = None,
        tz: Optional[str] = None,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> WriteSummary:
        """Store the readings of a DataFrame; returns what was written.

        Wide frames have timestamps as index and one column per (sensor,
        measure): a two-level column index, ``"sensor:measure"`` names, or,
        with ``sensor=``, measure names. Long frames have columns sensor,
        measure and value (and timestamp, unless the index holds it). NaN
        and missing values are skipped. Timestamps must be timezone-aware,
        or ``tz`` names the zone of naive ones.

        Values are checked against each measure's datatype before anything
        is sent. The readings go in one request, one transaction on the
        server, unless their CSV exceeds ``batch_bytes``; then in several,
        and a failure after the first raises ``PartialWriteError`` (writing
        again is safe: readings already stored are skipped and counted as
        duplicates).
        """
        pd, _ = _pandas()
        if isinstance(df, pd.Series):
            if sensor is None or df.name is None:
                raise ValueError("a Series needs sensor= and a name (the measure)")
            df = df.to_frame()
        if {"sensor", "measure", "value"} <= set(map(str, df.columns)) and sensor is None:
            frame = df if "timestamp" not in df.columns else df.set_index("timestamp")
            index = _utc_index(frame.index, tz, "the frame's index")
            return self._client._write_long(frame, index, batch_bytes)
        index = _utc_index(df.index, tz, "the frame's index")
        keys = [(sensor, str(c), None) if sensor is not None else _column_key(c) for c in df.columns]
        measures = self._client._resolve_measures(keys)
        columns = [_to_wire(df.iloc[:, i], m["datatype"], f"{k[0]}:{k[1]}") for i, (k, m) in enumerate(zip(keys, measures))]
        names = [(k[0], m["name"], m["units"]) for k, m in zip(keys, measures)]
        wide = pd.DataFrame({i: col.array for i, col in enumerate(columns)}, index=index, copy=False)
        if any(":" in part for n in names for part in n if part is not None):
            # Such names cannot head wide-layout columns.
            return self._client._send_long([(n, wide[i]) for i, n in enumerate(names)], batch_bytes)
        header = "timestamp," + ",".join(_csv_name(n) for n in names) + "\r\n"

        def render(i: int, j: int) -> str:
            return cast(str, wide.iloc[i:j].to_csv(header=False, lineterminator="\r\n"))

        return self._client._send_csv(header, render, len(wide), batch_bytes)

    def _resolve_measures(self, keys: Sequence[Tuple[str, str, Optional[str]]]) -> List[Measure]:
        by_sensor = self._client._measures_of(sorted({k[0] for k in keys}))
        out = []
        for uid, name, units in keys:
            ms = [m for m in by_sensor[uid] if m["name"] == name and (units is None or m["units"] == units)]
            if not ms:
                raise ValueError(f"sensor {uid} has no measure {name!r}" + ("" if units is None else f" in {units!r}"))
            if len(ms) > 1:
                raise ValueError(f"sensor {uid} has several measures named {name!r}: give the units as a third column level")
            out.append(ms[0])
        return out

    def _write_long(self, frame: "pd.DataFrame", index: "pd.DatetimeIndex", batch_bytes: int) -> WriteSummary:
        frame = frame.set_axis(index, axis=0)
        # A missing units cell leaves the measure to be found by name.
        units = frame["units"].fillna("").astype(str) if "units" in frame.columns else None
        groups = [frame["sensor"].astype(str), frame["measure"].astype(str)] + ([units] if units is not None else [])
        grouped = list(frame["value"].groupby(groups, sort=False))
        keys = [(str(k[0]), str(k[1]), (k[2] or None) if units is not None else None) for k, _ in grouped]
        measures = self._client._resolve_measures(keys)
        parts = [((k[0], m["name"], m["units"]), _to_wire(values, m["datatype"], f"{k[0]}:{k[1]}"))
                 for k, m, (_, values) in zip(keys, measures, grouped)]
        return self._client._send_long(parts, batch_bytes)

    def _send_long(
        self, parts: Sequence[Tuple[Tuple[str, str, Optional[str]], "pd.Series"]], batch_bytes: int
    ) -> WriteSummary:
        """Send series of (sensor, measure, units) in the server's long CSV
        layout; missing values are skipped."""
        pd, _ = _pandas()
        frames = []
        for (uid, name, units), values in parts:
            values = values.dropna()
            frames.append(pd.DataFrame({"unique_identifier": uid, "measure_name": name, "measure_units": units or "",
                                        "timestamp": values.index, "value": values.to_numpy(dtype=object)}))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        header = "unique_identifier,measure_name,measure_units,timestamp,value\r\n"

        def render(i: int, j: int) -> str:
            return cast(str, frame.iloc[i:j].to_csv(header=False, index=False, lineterminator="\r\n"))

        return self._send_csv(header, render, len(frame), batch_bytes)

    def _send_csv(
        self, header: str, render: Callable[[int, int], str], n: int, batch_bytes: int
    ) -> WriteSummary:
        """Upload rows [0, n) as CSV (``render(i, j)`` gives rows [i, j)) in
        as few requests as fit ``batch_bytes``, rendering a slice at a time."""
        head = header.encode("utf-8")
        total = WriteSummary(0, 0, 0, 0)
        buf = bytearray(head)

        def flush() -> None:
            nonlocal total, buf
            if len(buf) == len(head):
                return
            try:
                res = cast(InsertSummary, self._client.upload_readings_csv(bytes(buf)))
            except Exception as e:
                if total.requests:
                    raise PartialWriteError(total, e) from e
                raise
            total = WriteSummary(total.rows + res["rows"], total.inserted + res["inserted"],
                                 total.duplicates + res["duplicates"], total.requests + 1)
            buf = bytearray(head)

        # Slices of about a quarter of a request, estimated from the first rows.
        sample = render(0, min(n, 100)).encode("utf-8")
        per_row = max(1, len(sample) // max(1, min(n, 100)))
        step = max(1, min(WRITE_CHUNK_ROWS, batch_bytes // 4 // per_row))
        for i in range(0, n, step):
            data = render(i, min(n, i + step)).encode("utf-8")
            if len(buf) + len(data) > batch_bytes and len(buf) > len(head):
                flush()
            buf += data
        flush()
        return total

    # -- model runs --------------------------------------------------------

    def read_forecast(
        self, model: str, run: Optional[int] = None, tolerance_minutes: Optional[float] = None
    ) -> "pd.DataFrame":
        """A model run's forecast beside the observations it predicts.

        ``run`` is a run id; default the newest run of ``model``. The frame
        has the forecast's UTC timestamps as index, a column per output
        measure (``mean``, ``lower`` and ``upper`` for a run stored as
        "Mean X", "Lower Bound X", "Upper Bound X"), and ``observed``: the
        mean of the run's sensor readings within the pairing window of each
        timestamp (NaN without one; see get-model-run-comparison).
        ``df.attrs`` holds the ``run`` and its skill ``metrics``.
        """
        pd, np = _pandas()
        if run is None:
            runs = cast(List[ModelRun], self._client.list_model_runs(model, _EPOCH, _END_OF_TIME))
            if not runs:
                raise ValueError(f"model {model!r} has no runs")
            run = max(runs, key=lambda r: (r["time_created"], r["id"]))["id"]
        comp = cast(ModelRunComparison, self._client.get_model_run_comparison(run, tolerance_minutes))
        bases = {name[len(p):] for name in comp["forecast"] for p, _ in _FORECAST_PREFIXES if name.startswith(p)}
        rename = {}
        if len(bases) == 1:
            base = bases.pop()
            rename = {p + base: short for p, short in _FORECAST_PREFIXES}
        columns = {}
        for name, points in comp["forecast"].items():
            s = pd.Series([p["value"] for p in points], index=pd.to_datetime([p["timestamp"] for p in points], utc=True))
            columns[rename.get(name, name)] = s
        df = pd.DataFrame(columns).sort_index()
        df.index.name = "timestamp"
        obs_t = pd.to_datetime([p["timestamp"] for p in comp["observed"]], utc=True).asi8
        obs_v = np.array([float(p["value"]) for p in comp["observed"]], dtype=float)
        df["observed"] = _window_means(df.index.asi8, obs_t, obs_v, comp["tolerance_minutes"])
        df.attrs["run"] = comp["run"]
        df.attrs["metrics"] = comp["metrics"]
        return df

    def write_model_run(
        self,
        df: Union["pd.DataFrame", "pd.Series"],
        model: str,
        scenario: str = "default",
        sensor: Optional[str] = None,
        measure: Optional[str] = None,
        units: Optional[str] = None,
        tz: Optional[str] = None,
        time_created: Optional["Timestamp"] = None,
    ) -> int:
        """Store a model's output as a run and return the run's id.

        One column per output measure, timestamps as index (timezone-aware,
        or ``tz``); NaN is skipped. With ``sensor`` and ``measure`` the run
        is linked to the readings it predicts, and columns named ``mean``,
        ``lower`` and ``upper`` are stored as "Mean X", "Lower Bound X" and
        "Upper Bound X", so forecast-versus-observed comparisons and
        ``read_forecast`` pair them. The model, the scenario and the model
        measures are created when missing (float columns as float, integer
        as integer, and so on).
        """
        pd, np = _pandas()
        if isinstance(df, pd.Series):
            df = df.to_frame(name=df.name if df.name is not None else "mean")
        index = _utc_index(df.index, tz, "the forecast's index")
        sensor_measure = None
        if measure is not None:
            if sensor is None:
                raise ValueError("measure= needs sensor=")
            if units is None:
                ms = [m for m in self._client._measures_of([sensor])[sensor] if m["name"] == measure]
                if not ms:
                    raise ValueError(f"sensor {sensor} has no measure {measure!r}")
                units = ms[0]["units"]
            sensor_measure = {"name": measure, "units": units}
        names = {p.strip().lower().split()[0]: p for p, _ in _FORECAST_PREFIXES}
        try:
            self._client.insert_model(model)
        except DTBaseError as e:
            if not e.exists_already:
                raise
        existing = {m["name"] for m in self._client.list_model_measures()}
        series = []
        for col in df.columns:
            name = str(col)
            if measure is not None and name in names:
                name = names[name] + measure
            s = df[col]
            datatype = _datatype_of(s)
            if name not in existing:
                try:
                    self._client.insert_model_measure(name, units or "", datatype)
                except DTBaseError as e:
                    if not e.exists_already:
                        raise
            ok = s.notna().to_numpy()
            values = _to_wire(s, datatype, name)[ok].to_numpy(dtype=object)
            values = [_plain(v) for v in values]
            stamps = [t.isoformat() for t in index[ok]]
            series.append({"measure_name": name, "values": values, "timestamps": stamps})
        out = self._client.insert_model_run(
            model, scenario, series, time_created=time_created, create_scenario=True,
            sensor_unique_id=sensor if measure is not None else None, sensor_measure=sensor_measure,
        )
        return int(out["id"])


def _plain(v: Any) -> Any:
    """A numpy scalar as the JSON value of its kind."""
    if hasattr(v, "item"):
        return v.item()
    return v


def _datatype_of(s: "pd.Series") -> str:
    pd, _ = _pandas()
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float"
    return "string"


def _to_wire(s: "pd.Series", datatype: str, what: str) -> "pd.Series":
    """``s`` as the dtype whose CSV text the server reads as ``datatype``;
    a ValueError names the column of a value that does not fit."""
    pd, np = _pandas()
    try:
        if datatype == "float":
            out = s.astype("float64")
            vals = out.to_numpy()
            if np.isinf(vals).any():
                raise ValueError("infinite values cannot be stored")
            return out
        if datatype == "integer":
            if pd.api.types.is_float_dtype(s.dtype):
                vals = s.to_numpy()
                ok = ~np.isnan(vals)
                if (vals[ok] != np.round(vals[ok])).any():
                    raise ValueError("non-integral values for an integer measure")
            out = s.astype("Int64")
            present = out.dropna()
            if len(present) and (present.min() < _INT32[0] or present.max() > _INT32[1]):
                raise ValueError("integers beyond the server's 32-bit range")
            return out
        if datatype == "boolean":
            return s.astype("boolean")
        return s.astype("string")
    except (TypeError, ValueError) as e:
        raise ValueError(f"column {what} does not fit its {datatype} measure: {e}") from e


def _csv_name(name: Tuple[str, str, Optional[str]]) -> str:
    """A wide-layout header cell, quoted as CSV needs."""
    text = ":".join(p for p in name if p is not None)
    if any(c in text for c in ',"\r\n') or text[:1] in (" ", "\t"):
        return '"' + text.replace('"', '""') + '"'
    return text


def _windows(
    start: Optional["Timestamp"], end: Optional["Timestamp"], chunk: Optional[_dt.timedelta]
) -> List[Tuple[Any, Any]]:
    """The request windows of a read: inclusive at both ends, so each
    starts a microsecond after the previous one ends."""
    if chunk is None:
        return [(start, end)]
    pd, _ = _pandas()
    if start is None or end is None:
        raise ValueError("chunk= needs start and end")
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    a = a.tz_localize("UTC") if a.tz is None else a
    b = b.tz_localize("UTC") if b.tz is None else b
    step = pd.Timedelta(chunk)
    if step <= pd.Timedelta(0):
        raise ValueError("chunk must be positive")
    out = []
    while a <= b:
        w_end = min(a + step - pd.Timedelta(microseconds=1), b)
        out.append((a.to_pydatetime(), w_end.to_pydatetime()))
        a = w_end + pd.Timedelta(microseconds=1)
    return out


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="series")


def _long_frame(parts: List[Tuple[Tuple[str, str], Any, Any]], datatypes: Mapping[Tuple[str, str], str]) -> "pd.DataFrame":
    pd, np = _pandas()
    kinds = set(datatypes.values())
    sizes = [len(ts) for _, ts, _ in parts]
    sensors = pd.Categorical(np.repeat([k[0] for k, _, _ in parts], sizes)) if parts else pd.Categorical([])
    measures = pd.Categorical(np.repeat([k[1] for k, _, _ in parts], sizes)) if parts else pd.Categorical([])
    ts = np.concatenate([t for _, t, _ in parts]) if parts else np.array([], dtype="int64")
    if len(kinds) == 1:
        kind = kinds.pop()
        vals = np.concatenate([v for _, _, v in parts]) if parts else np.array([])
        value: Any = _typed(vals, None, kind)
    else:
        value = np.concatenate([v.astype(object) for _, _, v in parts])
    index = pd.DatetimeIndex(ts).tz_localize("UTC").rename("timestamp")
    return pd.DataFrame({"sensor": sensors, "measure": measures, "value": value}, index=index)


def _window_means(t: Any, obs_t: Any, obs_v: Any, tolerance_minutes: float) -> Any:
    """The mean of the observations in [t - tol, t + tol) for each t, tol
    capped at half the smallest spacing of t (as the server pairs them)."""
    _, np = _pandas()
    out = np.full(len(t), np.nan)
    if len(t) == 0 or len(obs_t) == 0:
        return out
    tol = int(tolerance_minutes * 60e9)
    if len(t) > 1:
        tol = min(tol, int(np.min(np.diff(t))) // 2)
    order = np.argsort(obs_t, kind="stable")
    obs_t, obs_v = obs_t[order], obs_v[order]
    csum = np.concatenate([[0.0], np.cumsum(obs_v)])
    lo = np.searchsorted(obs_t, t - tol, side="left")
    hi = np.searchsorted(obs_t, t + tol, side="left")
    n = hi - lo
    has = n > 0
    out[has] = (csum[hi[has]] - csum[lo[has]]) / n[has]
    return out


__all__ = ["DataFrameMixin", "PartialWriteError", "DEFAULT_BATCH_BYTES"]
