package dtbase_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestReadingSeries plots and summarises series of each datatype, and
// writes them as CSV that imports again into an empty database as the same
// readings, strings that need quoting included.
func TestReadingSeries(t *testing.T) {
	ctx := context.Background()
	units := "°C, inside"
	measures := []dtbase.Measure{{Name: "f", Units: &units, Datatype: dtbase.Float}, {Name: "i", Datatype: dtbase.Integer},
		{Name: "b", Datatype: dtbase.Boolean}, {Name: "s", Datatype: dtbase.String}}
	setup := func(t *testing.T) dtbase.Store {
		db := sqldbtest.Open(t)
		sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "kind", Measures: measures}, "s 1")
		return db
	}
	src := setup(t)
	t0 := time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC) // across the epoch
	var ts []time.Time
	values := map[string][]dtbase.Value{}
	for k := range 100 {
		ts = append(ts, t0.Add(time.Duration(k)*time.Minute))
		values["f"] = append(values["f"], dtbase.FloatValue(float64(k%10)-2.5))
		values["i"] = append(values["i"], dtbase.IntValue(int64(k%7)))
		values["b"] = append(values["b"], dtbase.BoolValue(k%3 == 0))
		values["s"] = append(values["s"], dtbase.StringValue(`say "hi", `+strings.Repeat("x", k%3)))
	}
	var series []dtbase.ReadingSeries
	for _, m := range measures {
		series = append(series, dtbase.ReadingSeries{UniqueIdentifier: "s 1", MeasureName: m.Name, Values: values[m.Name], Timestamps: ts})
	}
	if _, err := src.InsertReadings(ctx, series); err != nil {
		t.Fatal(err)
	}
	find := func(db dtbase.Store, name string) dtbase.ReadingMeasure {
		rm, err := db.FindReadingMeasure(ctx, "s 1", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rm
	}
	f := func(x float64) *float64 { return &x }
	from, to := t0, ts[len(ts)-1]
	for _, c := range []struct {
		measure string
		want    dtbase.ReadingSummary
	}{
		{"f", dtbase.ReadingSummary{Count: 100, Min: f(-2.5), Max: f(6.5), Mean: f(2)}},
		{"i", dtbase.ReadingSummary{Count: 100, Min: f(0), Max: f(6), Mean: f(2.95)}},
		{"b", dtbase.ReadingSummary{Count: 100}},
	} {
		t.Run("plot "+c.measure, func(t *testing.T) {
			pts, sum, err := dtbase.PlotReadings(ctx, src, find(src, c.measure), from, to, 20)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if len(pts) > 20 || len(pts) < 10 {
				t.Errorf("%d points, want at most 20", len(pts))
			}
		})
	}
	t.Run("a string measure is not plotted", func(t *testing.T) {
		if _, _, err := dtbase.PlotReadings(ctx, src, find(src, "s"), from, to, 20); dtbase.ErrorCode(err) != dtbase.EINVALID {
			t.Errorf("got %v, want EINVALID", err)
		}
	})
	t.Run("csv round trip", func(t *testing.T) {
		csv := []byte(dtbase.ReadingCSVHeader)
		for _, m := range measures {
			rm := find(src, m.Name)
			prefix := dtbase.AppendReadingCSVPrefix(nil, rm)
			if err := src.ScanReadings(ctx, rm, from, to, func(r dtbase.Reading) error {
				csv = dtbase.AppendReadingCSVRow(csv, prefix, r)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		dst := setup(t)
		res, err := dtbase.ImportReadingsCSV(ctx, dst, strings.NewReader(string(csv)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Inserted != 400 {
			t.Errorf("imported %+v, want 400 readings", res)
		}
		for _, m := range measures {
			var got []dtbase.Value
			if err := dst.ScanReadings(ctx, find(dst, m.Name), from, to, func(r dtbase.Reading) error {
				got = append(got, r.Value)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(values[m.Name], got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", m.Name, diff)
			}
		}
	})
}
