package arima

import "testing"

// BenchmarkFitAirline times Fit on the Box-Jenkins airline model, the
// figure to compare with `scripts/arima_reference.py --time`.
func BenchmarkFitAirline(b *testing.B) {
	f := loadFixture(b, "airline_log")
	spec := f.spec()
	for b.Loop() {
		if _, err := Fit(f.Series, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitSensorHourly times Fit on five days of hourly readings with a
// daily season, (1,0,0)(1,1,0,24).
func BenchmarkFitSensorHourly(b *testing.B) {
	f := loadFixture(b, "sensor_hourly")
	spec := f.spec()
	for b.Loop() {
		if _, err := Fit(f.Series, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitCROP times Fit of the original DTBase's default order
// (4,1,2)(1,1,0,24) on the CROP farm's hourly temperature (481 hours, all
// that testdata/crop-temperature-hourly.csv holds). scripts/bench-arima.sh
// runs it next to statsmodels fitting the same model to the same series
// (scripts/arima_reference.py --time-crop) and prints both.
func BenchmarkFitCROP(b *testing.B) {
	f := loadFixture(b, "crop_temperature")
	spec := f.spec()
	for b.Loop() {
		if _, err := Fit(f.Series, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitCROPMissing is BenchmarkFitCROP with 9 of the hours
// missing, which rules out the fast Chandrasekhar recursions.
func BenchmarkFitCROPMissing(b *testing.B) {
	f := loadFixture(b, "crop_temperature_missing")
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
