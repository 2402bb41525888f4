#!/usr/bin/env bash
# Times the fit of the original DTBase's default SARIMA order,
# (4,1,2)(1,1,0,24), on the CROP farm's hourly temperature
# (forecast/arima/testdata/crop-temperature-hourly.csv, 481 hours: all the
# shared CROP data holds, about 20 days) in Go and in statsmodels, one after
# the other on this machine, and prints both and their ratio.
#
#   Go:          go test -bench '^BenchmarkFitCROP$' ./forecast/arima
#                (arima.Fit; mean ns/op over at least BENCHTIME)
#   statsmodels: scripts/arima_reference.py --time-crop
#                (median wall time of SARIMAX(...).fit(disp=False,
#                cov_type='none') with the fixtures' model options)
#
# Then the same for 60 days of hourly data (BenchmarkFit60Days, --time-60d).
#
# Usage: scripts/bench-arima.sh [BENCHTIME] [REPEATS]
#   BENCHTIME  go test -benchtime, default 5s
#   REPEATS    statsmodels fits to take the median of, default 9
# Needs Debian's python3-statsmodels (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-5s}
repeats=${2:-9}

# compare BENCHMARK BENCHTIME FLAG REPEATS TITLE: runs the Go benchmark and
# arima_reference.py FLAG (statsmodels fitting the same model to the same
# series, median of REPEATS fits) and prints both and their ratio under TITLE.
header='goos|goarch|cpu|' # the machine, shown once
compare() {
  local go_out go_ns py_out py_ms
  go_out=$(go test -run '^$' -bench "^$1\$" -benchtime "$2" ./forecast/arima)
  echo "$go_out" | grep -E "^(${header}Benchmark)"
  header=
  go_ns=$(echo "$go_out" | awk -v b="$1" '$1 ~ "^" b { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") print $i }')
  if [ -z "$go_ns" ]; then
    echo "no $1 result" >&2
    exit 1
  fi

  py_out=$(/usr/bin/python3 -W ignore scripts/arima_reference.py "$3" --repeats "$4")
  echo "$py_out" | grep -v '^statsmodels_ms'
  py_ms=$(echo "$py_out" | awk '/^statsmodels_ms/ { print $2 }')

  awk -v ns="$go_ns" -v ms="$py_ms" -v title="$5" 'BEGIN {
    go_ms = ns / 1e6
    printf "\n%s:\n", title
    printf "  Go arima.Fit                                %8.1f ms\n", go_ms
    printf "  statsmodels fit(cov_type=\"none\")            %8.1f ms\n", ms
    printf "  ratio statsmodels / Go                      %8.1f\n", ms / go_ms
  }'
}

compare BenchmarkFitCROP "$benchtime" --time-crop "$repeats" "(4,1,2)(1,1,0,24) on 481 hours of CROP temperature"
# The same model on 60 days of hourly data, the original's training window.
compare BenchmarkFit60Days 3x --time-60d 3 "(4,1,2)(1,1,0,24) on 60 days (1440 hours) of hourly data"
