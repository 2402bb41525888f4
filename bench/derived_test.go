package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// derivedPoints is the length of each input series of the derived
// measure benchmark.
const derivedPoints = 100_000

// BenchmarkDerived computes VPD from temperature and relative humidity
// over derivedPoints timestamps and prints its time as a ratio against
// reading the two inputs in the same run. Run it with -benchtime 1x.
func BenchmarkDerived(b *testing.B) {
	ctx := context.Background()
	db := sqldbtest.Open(b)
	u := func(s string) *string { return &s }
	sqldbtest.Sensors(b, db, dtbase.SensorType{Name: "trh", Measures: []dtbase.Measure{
		{Name: "temperature", Units: u("°C"), Datatype: dtbase.Float}, {Name: "rh", Units: u("%"), Datatype: dtbase.Float}}}, "s")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts []time.Time
	var temp, rh []dtbase.Value
	for i := 0; i < derivedPoints; i++ {
		ts = append(ts, t0.Add(time.Duration(i)*time.Minute))
		temp = append(temp, dtbase.FloatValue(15+float64(i%600)/50))
		rh = append(rh, dtbase.FloatValue(40+float64(i%500)/10))
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "s", MeasureName: "temperature", Timestamps: ts, Values: temp},
		{UniqueIdentifier: "s", MeasureName: "rh", Timestamps: ts, Values: rh}}); err != nil {
		b.Fatal(err)
	}
	d := &dtbase.DerivedMeasure{Name: "vpd", Units: u("kPa"), Expression: "vpd(temperature, rh)", SensorType: u("trh")}
	if err := derive.Define(ctx, db, d); err != nil {
		b.Fatal(err)
	}
	vpd, err := derive.Find(ctx, db, "vpd")
	if err != nil {
		b.Fatal(err)
	}
	from, to := t0, ts[len(ts)-1]
	readInputs := func() {
		n := 0
		for _, name := range []string{"temperature", "rh"} {
			m, err := db.FindReadingMeasure(ctx, "s", name, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.ScanReadings(ctx, m, from, to, func(dtbase.Reading) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if n != 2*derivedPoints {
			b.Fatalf("read %d inputs", n)
		}
	}
	compute := func() {
		n := 0
		if err := derive.Readings(ctx, db, vpd, "s", from, to, func(dtbase.Reading) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != derivedPoints {
			b.Fatalf("computed %d points", n)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := bestOf(3, readInputs)
		derived := bestOf(3, compute)
		b.ReportMetric(float64(derived)/float64(raw), "derived/inputs")
		fmt.Printf("\nderived VPD over %d timestamps on %s: reading the 2 inputs %s, computing %s = %.2f× the inputs\n\n",
			derivedPoints, db.Dialect, raw.Round(time.Millisecond), derived.Round(time.Millisecond), float64(derived)/float64(raw))
	}
}
