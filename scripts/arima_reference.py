#!/usr/bin/python3
"""Reference fixtures and timings for the Go package forecast/arima.

This script fits statsmodels' SARIMAX on a fixed set of series and writes one
JSON fixture per case to forecast/arima/testdata/. The Go tests compare their
estimates, log-likelihoods and forecasts against these fixtures.

Run it with the Debian interpreter, which carries python3-statsmodels:

    /usr/bin/python3 scripts/arima_reference.py          # rewrite fixtures
    /usr/bin/python3 scripts/arima_reference.py --time   # time statsmodels
    /usr/bin/python3 scripts/arima_reference.py --time-crop
    /usr/bin/python3 scripts/arima_reference.py --prepare-crop

--time-crop times statsmodels fitting (4,1,2)(1,1,0,24) to the CROP hourly
temperature series (scripts/bench-arima.sh compares it with Go's
BenchmarkFitCROP). --prepare-crop rebuilds that series,
testdata/crop-temperature-hourly.csv, from the shared CROP data
(../shared/data/crop/MonitoredV1.csv); the fixtures are then built from the
copy in testdata, so neither the Go tests nor this script otherwise read
the shared data.

Model options (they must match the Go implementation, see the package doc of
forecast/arima):

* Estimation uses SARIMAX(simple_differencing=True): the likelihood is the
  exact Gaussian likelihood of the differenced series, with the stationary
  initialisation of the ARMA state (enforce_stationarity=True,
  enforce_invertibility=True, concentrate_scale=False,
  hamilton_representation=False, trend_offset=1, so a linear trend counts
  time along the differenced series). This equals the exact
  diffuse likelihood of the undifferenced series up to a constant. We do not
  use statsmodels' default simple_differencing=False because its approximate
  diffuse prior (variance 1e6) is scale-dependent: for series far from zero,
  such as sensor readings around 1e5, it gives visibly wrong estimates.
* Forecasts in levels come from SARIMAX(simple_differencing=False,
  use_exact_diffuse=True) filtered at the estimated parameters, which
  conditions exactly on the observed history like the Go package does.
* fit(method='lbfgs') from statsmodels' own start_params, with maxiter,
  pgtol and factr tightened, then polished in turn by BFGS, Nelder-Mead and
  BFGS again, each starting from the best point so far. The fixtures thus
  hold the optimum itself rather than wherever one optimiser's stopping
  rules stop: L-BFGS-B stops visibly short on the badly scaled
  constant-plus-trend case and on the series far from zero.

Missing values are NaN in the series and null in the JSON fixtures. With
simple differencing a missing value makes every difference that involves it
missing, and the Kalman filter skips the update step at those; the levels
model used for forecasts skips the missing values of the series itself.

Simulated series are generated from fixed seeds and stored in the fixtures,
so the Go tests never depend on NumPy's random number generator.
"""

import argparse
import collections
import datetime
import json
import os
import statistics
import sys
import time

import numpy as np
import statsmodels
from statsmodels.tsa.arima_process import ArmaProcess
from statsmodels.tsa.statespace.sarimax import SARIMAX

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(REPO, "forecast", "arima", "testdata")
AIRLINE_CSV = os.path.join(TESTDATA, "airline-passengers.csv")
CROP_SOURCE = os.path.join(os.path.dirname(REPO), "shared", "data", "crop",
                           "MonitoredV1.csv")
CROP_CSV = os.path.join(TESTDATA, "crop-temperature-hourly.csv")
CROP_ORDER = (4, 1, 2)
CROP_SEASONAL_ORDER = (1, 1, 0, 24)

MODEL_OPTIONS = dict(
    simple_differencing=True,
    enforce_stationarity=True,
    enforce_invertibility=True,
    concentrate_scale=False,
    hamilton_representation=False,
    trend_offset=1,
)
FIT_OPTIONS = dict(method="lbfgs", maxiter=5000, pgtol=1e-8, factr=100.0,
                   disp=False)
POLISH_OPTIONS = [
    dict(method="bfgs", maxiter=5000, gtol=1e-10, disp=False),
    dict(method="nm", maxiter=50000, xtol=1e-12, ftol=1e-14, disp=False),
    dict(method="bfgs", maxiter=5000, gtol=1e-10, disp=False),
]
ALPHA = 0.05


def second_column(path):
    """Read the second column of a CSV file after its header line, an empty
    cell as missing (NaN)."""
    values = []
    with open(path) as f:
        next(f)
        for line in f:
            line = line.strip()
            if line:
                value = line.split(",")[1]
                values.append(float(value) if value else np.nan)
    return np.array(values)


def airline():
    return second_column(AIRLINE_CSV)  # month,passengers


def prepare_crop():
    """Build the hourly temperature series from CROP's MonitoredV1.csv.

    The file has no header; each row is a timestamp, the farm's mean
    temperature (degrees C) and mean relative humidity. We average the
    temperatures that fall in each clock hour, keep the last 60 days if
    there are more, and mark hours without a reading as missing (empty).
    The file holds 481 consecutive hours (2023-01-05 13:00 to 2023-01-25
    13:00), about 20 days, one reading per hour, so the series is those
    readings unchanged.
    """
    sums = collections.defaultdict(float)
    counts = collections.defaultdict(int)
    with open(CROP_SOURCE) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            stamp, temperature = line.split(",")[:2]
            t = datetime.datetime.fromisoformat(stamp)
            hour = t.replace(minute=0, second=0, microsecond=0)
            sums[hour] += float(temperature)
            counts[hour] += 1
    last = max(sums)
    first = max(min(sums), last - datetime.timedelta(days=60))
    hours = int((last - first).total_seconds() // 3600) + 1
    with open(CROP_CSV, "w") as f:
        f.write("hour,temperature\n")
        for i in range(hours):
            hour = first + datetime.timedelta(hours=i)
            value = (repr(sums[hour] / counts[hour]) if counts[hour] else "")
            f.write("%s,%s\n" % (hour.strftime("%Y-%m-%d %H:%M:%S"), value))
    print("wrote %s: %d hours from %s" % (CROP_CSV, hours, first))


def crop_temperature():
    return second_column(CROP_CSV)  # hour,temperature


def with_missing(series, indices):
    out = np.array(series, dtype=float)
    out[list(indices)] = np.nan
    return out


def simulate_arma(seed, n, ar, ma, sigma=1.0, burn=200):
    """Simulate an ARMA series with the given AR and MA coefficients.

    ar and ma are given in the SARIMAX sign convention
    (y_t = ar_1 y_{t-1} + ... + e_t + ma_1 e_{t-1} + ...).
    """
    rng = np.random.RandomState(seed)
    process = ArmaProcess(np.r_[1, -np.asarray(ar, float)],
                          np.r_[1, np.asarray(ma, float)])
    x = process.generate_sample(n + burn, scale=sigma,
                                distrvs=rng.standard_normal)
    return x[burn:]


def sensor_series():
    """Five days of hourly temperature-like readings with a daily cycle."""
    rng = np.random.RandomState(20240607)
    days = 5
    n = 24 * days
    hours = np.arange(n)
    # Each day's sunshine differs, so the daily cycle is not deterministic.
    amplitude = np.repeat(3.0 + 1.2 * rng.standard_normal(days), 24)
    daily = amplitude * np.sin(2 * np.pi * (hours - 9) / 24.0)
    noise = simulate_arma(20240608, n, [0.6], [], sigma=0.4)
    drift = np.cumsum(rng.standard_normal(n)) * 0.15
    return np.round(18.0 + daily + noise + drift, 2)


def seasonal_ar_series():
    """Monthly series driven by (1 - 0.5L)(1 - 0.7L^12) y_t = 2 + e_t."""
    rng = np.random.RandomState(7)
    n, burn = 180, 240
    e = rng.standard_normal(n + burn)
    y = np.zeros(n + burn)
    for t in range(n + burn):
        v = 2.0 + e[t]
        if t >= 1:
            v += 0.5 * y[t - 1]
        if t >= 12:
            v += 0.7 * y[t - 12]
        if t >= 13:
            v -= 0.35 * y[t - 13]
        y[t] = v
    return y[burn:]


def cases():
    air = airline()
    t = np.arange(160)
    yield dict(name="airline_log", description=(
        "Box-Jenkins airline model on log passengers"),
        series=np.log(air), order=(0, 1, 1), seasonal_order=(0, 1, 1, 12),
        trend="n", steps=24)
    yield dict(name="airline_levels_sar", description=(
        "Seasonal AR on raw passengers, (2,1,0)(1,1,0,12)"),
        series=air, order=(2, 1, 0), seasonal_order=(1, 1, 0, 12),
        trend="n", steps=12)
    yield dict(name="ar1_const", description="AR(1) with constant",
               series=10.0 + simulate_arma(101, 200, [0.7], []),
               order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), trend="c",
               steps=10)
    yield dict(name="ar1_linear_trend", description=(
        "AR(1) with constant and linear trend"),
        series=5.0 + 0.05 * t + simulate_arma(102, 160, [0.5], []),
        order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), trend="ct", steps=10)
    yield dict(name="arma21", description="ARMA(2,1) without constant",
               series=simulate_arma(103, 250, [0.5, -0.3], [0.4]),
               order=(2, 0, 1), seasonal_order=(0, 0, 0, 0), trend="n",
               steps=10)
    yield dict(name="arima111", description="ARIMA(1,1,1) random walk-like",
               series=np.cumsum(simulate_arma(104, 200, [0.6], [0.3])),
               order=(1, 1, 1), seasonal_order=(0, 0, 0, 0), trend="n",
               steps=10)
    yield dict(name="arima011_drift", description=(
        "ARIMA(0,1,1) with constant, i.e. a drift in the differences"),
        series=np.cumsum(0.3 + simulate_arma(105, 150, [], [-0.4])),
        order=(0, 1, 1), seasonal_order=(0, 0, 0, 0), trend="c", steps=10)
    yield dict(name="seasonal_ar_const", description=(
        "(1,0,0)(1,0,0,12) with constant on a simulated monthly series"),
        series=seasonal_ar_series(), order=(1, 0, 0),
        seasonal_order=(1, 0, 0, 12), trend="c", steps=24)
    yield dict(name="pressure_large_level", description=(
        "Barometric pressure in Pa: AR(2) with constant far from zero"),
        series=np.round(101325.0 + 40.0 * simulate_arma(
            106, 168, [1.1, -0.3], [], sigma=0.5), 1),
        order=(2, 0, 0), seasonal_order=(0, 0, 0, 0), trend="c", steps=12)
    yield dict(name="sensor_hourly", description=(
        "Five days of hourly sensor readings, (1,0,0)(1,1,0,24)"),
        series=sensor_series(), order=(1, 0, 0),
        seasonal_order=(1, 1, 0, 24), trend="n", steps=24)
    crop = crop_temperature()
    yield dict(name="crop_temperature", description=(
        "CROP farm hourly mean temperature (MonitoredV1.csv, 481 hours), "
        "the original DTBase's default order (4,1,2)(1,1,0,24)"),
        series=crop, order=CROP_ORDER, seasonal_order=CROP_SEASONAL_ORDER,
        trend="n", steps=48)
    # Missing values. Each case puts gaps where they test something: at
    # the very start (before the differencing is pinned down), in runs, and
    # at the very end, where the forecast origin itself is unobserved.
    yield dict(name="airline_log_missing", description=(
        "Airline model on log passengers with 7 values missing, the first "
        "and the last among them"),
        series=with_missing(np.log(air), [0, 5, 40, 41, 77, 120, 143]),
        order=(0, 1, 1), seasonal_order=(0, 1, 1, 12), trend="n", steps=24)
    arma = 10.0 + simulate_arma(107, 220, [0.6], [0.3])
    gaps = np.random.RandomState(108).choice(220, 25, replace=False)
    yield dict(name="arma11_const_missing", description=(
        "ARMA(1,1) with constant, 25 of 220 values missing at random"),
        series=with_missing(arma, gaps), order=(1, 0, 1),
        seasonal_order=(0, 0, 0, 0), trend="c", steps=10)
    walk = np.cumsum(0.2 + simulate_arma(109, 180, [0.5], []))
    yield dict(name="arima110_drift_missing", description=(
        "ARIMA(1,1,0) with drift, a run of 6 values and 3 single values "
        "missing, the last two values among them"),
        series=with_missing(walk, [3, 60, 61, 62, 63, 64, 65, 178, 179]),
        order=(1, 1, 0), seasonal_order=(0, 0, 0, 0), trend="c", steps=10)
    yield dict(name="crop_temperature_missing", description=(
        "The CROP series with a 5-hour outage and 4 lost readings, "
        "(4,1,2)(1,1,0,24)"),
        series=with_missing(crop, [30, 200, 201, 202, 203, 204, 333, 400,
                                   470]),
        order=CROP_ORDER, seasonal_order=CROP_SEASONAL_ORDER, trend="n",
        steps=48)


def build(case, **overrides):
    options = dict(MODEL_OPTIONS, **overrides)
    return SARIMAX(case["series"], order=case["order"],
                   seasonal_order=case["seasonal_order"],
                   trend=case["trend"], **options)


def standard_errors(res):
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.diag(res.cov_params_approx))


def fixture(case):
    model = build(case)
    start = model.start_params
    res = model.fit(start_params=start, **FIT_OPTIONS)
    for options in POLISH_OPTIONS:
        polished = model.fit(start_params=res.params, **options)
        if polished.llf >= res.llf:
            res = polished
    levels = build(case, simple_differencing=False, use_exact_diffuse=True)
    fc = levels.filter(res.params).get_forecast(case["steps"])
    ci = fc.conf_int(alpha=ALPHA)
    return {
        "name": case["name"],
        "description": case["description"],
        "generator": "scripts/arima_reference.py",
        "statsmodels_version": statsmodels.__version__,
        "model_options": MODEL_OPTIONS,
        "fit_options": {k: v for k, v in FIT_OPTIONS.items() if k != "disp"},
        "polish_options": [{k: v for k, v in o.items() if k != "disp"}
                           for o in POLISH_OPTIONS],
        "order": list(case["order"]),
        "seasonal_order": list(case["seasonal_order"]),
        "trend": case["trend"],
        "series": [None if np.isnan(v) else float(v)
                   for v in case["series"]],
        "param_names": list(model.param_names),
        "start_params": [float(v) for v in start],
        "params": [float(v) for v in res.params],
        # Standard errors from the numerical Hessian of the log-likelihood
        # (null where it is not negative definite): how well the data
        # identify each parameter, for tests on flat likelihoods.
        "bse": [None if not np.isfinite(v) else float(v)
                for v in standard_errors(res)],
        "llf": float(res.llf),
        "aic": float(res.aic),
        "aicc": float(res.aicc),
        "bic": float(res.bic),
        "nobs": len(case["series"]),
        "nobs_effective": int(res.nobs),
        # The gradient of the log-likelihood at params, as evidence that
        # params is the optimum (the optimiser's own flags are too strict
        # to be met in floating point at these tolerances).
        "max_abs_score": float(np.max(np.abs(model.score(res.params)))),
        "forecast": {
            "steps": case["steps"],
            "alpha": ALPHA,
            "mean": [float(v) for v in fc.predicted_mean],
            "se": [float(v) for v in fc.se_mean],
            "lower": [float(v) for v in ci[:, 0]],
            "upper": [float(v) for v in ci[:, 1]],
        },
    }


def write_fixtures():
    os.makedirs(TESTDATA, exist_ok=True)
    for case in cases():
        fx = fixture(case)
        path = os.path.join(TESTDATA, case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(fx, f, indent=1)
            f.write("\n")
        print("%-20s |score|=%.1e llf=%.6f params=%s" % (
            fx["name"], fx["max_abs_score"], fx["llf"],
            np.round(fx["params"], 5)))


# The fits timed on the airline and the CROP series: a label, options of
# the model, options of fit().
TIMED_FITS = [
    ("simple_differencing=True, fit()", {}, {}),
    ("simple_differencing=True, fit(cov_type='none')", {},
     {"cov_type": "none"}),
    ("simple_differencing=False (default), fit()",
     {"simple_differencing": False}, {}),
]


def time_fits(case, repeats, model_options=None, fit_options=None):
    """Fit the model of case repeats times; return the median wall time in
    milliseconds and the last fit's results."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        res = build(case, **(model_options or {})).fit(
            disp=False, **(fit_options or {}))
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3, res


def time_airline(repeats):
    """Print the median wall time of statsmodels fitting the airline model.

    A plain fit() also estimates the covariance of the parameters, which the
    Go package does not do, so the time without it is shown as well.
    """
    case = next(cases())
    print("statsmodels %s SARIMAX airline (0,1,1)(0,1,1,12) on log "
          "passengers, median of %d fits:"
          % (statsmodels.__version__, repeats))
    for label, model_options, fit_options in TIMED_FITS:
        ms, _ = time_fits(case, repeats, model_options, fit_options)
        print("  %-48s %8.1f ms" % (label, ms))


def time_crop(repeats):
    """Time statsmodels fitting (4,1,2)(1,1,0,24) to the CROP series.

    The last line, "statsmodels_ms <median>", is the figure that
    scripts/bench-arima.sh compares with Go's BenchmarkFitCROP: the median
    wall time of SARIMAX(**MODEL_OPTIONS).fit(disp=False, cov_type='none'),
    i.e. the same model and options as the fixture, statsmodels' default
    optimiser and settings, and no covariance matrix of the estimates
    (which the Go package does not compute either). The other rows are for
    context. The log-likelihood each reaches is printed too, since
    statsmodels' default of 50 L-BFGS iterations may stop short.
    """
    case = next(c for c in cases() if c["name"] == "crop_temperature")
    print("statsmodels %s SARIMAX %s%s on %d hours of CROP temperature, "
          "median of %d fits:" % (statsmodels.__version__, CROP_ORDER,
                                  CROP_SEASONAL_ORDER, len(case["series"]),
                                  repeats))
    primary = None
    for label, model_options, fit_options in TIMED_FITS:
        ms, res = time_fits(case, repeats, model_options, fit_options)
        print("  %-48s %8.1f ms  llf %.4f converged %s" % (
            label, ms, res.llf, res.mle_retvals.get("converged")))
        if fit_options.get("cov_type") == "none":
            primary = ms
    print("statsmodels_ms %.3f" % primary)


SIXTY_DAYS_CSV = os.path.join(TESTDATA, "synthetic-hourly-60d.csv")


def prepare_sixty_days():
    """Write 60 days of hourly farm-like temperature: a daily cycle, a slow
    drift and AR(2) weather noise, from a fixed seed. The CROP data holds
    only 20 days, and the original's training window is 60."""
    rng = np.random.default_rng(20240326)
    n = 60 * 24
    hours = np.arange(n)
    noise = ArmaProcess([1, -0.6, 0.2], [1]).generate_sample(
        n, scale=0.4, distrvs=rng.standard_normal)
    y = (20 + 3 * np.sin(2 * np.pi * hours / 24) + 0.002 * hours
         + 0.5 * np.sin(2 * np.pi * hours / (24 * 7)) + noise)
    with open(SIXTY_DAYS_CSV, "w") as f:
        f.write("hour,temperature\n")
        for h, v in zip(hours, y):
            f.write("%d,%.6f\n" % (h, v))


def time_sixty_days(repeats):
    """Time statsmodels fitting (4,1,2)(1,1,0,24) to 60 days of hourly data.

    The last line, "statsmodels_ms <median>", is what scripts/bench-arima.sh
    compares with Go's BenchmarkFit60Days (same series, model and options)."""
    series = np.loadtxt(SIXTY_DAYS_CSV, delimiter=",", skiprows=1)[:, 1]
    case = {"series": series, "order": CROP_ORDER,
            "seasonal_order": CROP_SEASONAL_ORDER, "trend": "n"}
    ms, res = time_fits(case, repeats, fit_options={"cov_type": "none"})
    print("statsmodels %s SARIMAX %s%s on %d hours (60 days), median of %d "
          "fits: llf %.4f" % (statsmodels.__version__, CROP_ORDER,
                              CROP_SEASONAL_ORDER, len(series), repeats,
                              res.llf))
    print("statsmodels_ms %.3f" % ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time", action="store_true",
                        help="time statsmodels on the airline model instead "
                             "of writing fixtures")
    parser.add_argument("--time-crop", action="store_true",
                        help="time statsmodels fitting (4,1,2)(1,1,0,24) to "
                             "the CROP hourly temperature series")
    parser.add_argument("--prepare-crop", action="store_true",
                        help="rebuild testdata/crop-temperature-hourly.csv "
                             "from the shared CROP data")
    parser.add_argument("--prepare-60d", action="store_true",
                        help="write testdata/synthetic-hourly-60d.csv")
    parser.add_argument("--time-60d", action="store_true",
                        help="time statsmodels fitting (4,1,2)(1,1,0,24) to "
                             "60 days of hourly data")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.prepare_crop:
        prepare_crop()
    elif args.time:
        time_airline(args.repeats)
    elif args.time_crop:
        time_crop(args.repeats)
    elif args.prepare_60d:
        prepare_sixty_days()
    elif args.time_60d:
        time_sixty_days(args.repeats)
    else:
        write_fixtures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
