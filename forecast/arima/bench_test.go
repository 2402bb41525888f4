package arima

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkFitAirline times Fit on the Box-Jenkins airline model, the
// figure to compare with `scripts/arima_reference.py --time`.
func BenchmarkFitAirline(b *testing.B) {
	benchmarkFit(b, "airline_log")
}

// BenchmarkFitSensorHourly times Fit on five days of hourly readings with a
// daily season, (1,0,0)(1,1,0,24).
func BenchmarkFitSensorHourly(b *testing.B) {
	benchmarkFit(b, "sensor_hourly")
}

// BenchmarkFitCROP times Fit of the original DTBase's default order
// (4,1,2)(1,1,0,24) on the CROP farm's hourly temperature (481 hours, all
// that testdata/crop-temperature-hourly.csv holds). scripts/bench-arima.sh
// runs it next to statsmodels fitting the same model to the same series
// (scripts/arima_reference.py --time-crop) and prints both.
func BenchmarkFitCROP(b *testing.B) {
	benchmarkFit(b, "crop_temperature")
}

// BenchmarkFitCROPMissing is BenchmarkFitCROP with 9 of the hours
// missing, which rules out the fast Chandrasekhar recursions.
func BenchmarkFitCROPMissing(b *testing.B) {
	benchmarkFit(b, "crop_temperature_missing")
}

// benchmarkFit times Fit on the series of the named fixture, with its
// specification.
func benchmarkFit(b *testing.B, name string) {
	f := loadFixture(b, name)
	spec := f.spec()
	for b.Loop() {
		if _, err := Fit(f.Series, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAutoAirline times the stepwise order selection on the log
// airline series (14 candidate fits).
func BenchmarkAutoAirline(b *testing.B) {
	y := loadFixture(b, "airline_log").Series
	for b.Loop() {
		if _, err := Auto(y, 12, AutoOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit60Days times Fit of (4,1,2)(1,1,0,24) on 60 days of hourly
// data (testdata/synthetic-hourly-60d.csv, the original's training window).
// scripts/bench-arima.sh runs it next to statsmodels fitting the same model
// to the same series (scripts/arima_reference.py --time-60d).
func BenchmarkFit60Days(b *testing.B) {
	y := loadHourlyCSV(b, "testdata/synthetic-hourly-60d.csv")
	spec := Spec{Order: Order{4, 1, 2}, Seasonal: SeasonalOrder{1, 1, 0, 24}}
	var m *Model
	for b.Loop() {
		var err error
		if m, err = Fit(y, spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(m.LogLikelihood, "llf")
}

// loadHourlyCSV reads the second column of a CSV with a header line.
func loadHourlyCSV(tb testing.TB, path string) []float64 {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var y []float64
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i == 0 {
			continue
		}
		_, v, _ := strings.Cut(line, ",")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			tb.Fatalf("%s line %d: %v", path, i+1, err)
		}
		y = append(y, f)
	}
	return y
}
