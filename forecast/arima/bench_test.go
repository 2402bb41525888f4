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
