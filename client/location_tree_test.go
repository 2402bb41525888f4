package client

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

func TestTreeAndQualityClient(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	locs := placedSensor(t, s.DB, []string{"farm", "shelf"}, 0, time.Hour, 5*time.Hour)
	farm, shelf := locs[0], locs[1]

	c := adminClient(t, s)
	must(t, c.SetLocationParent(ctx, shelf.ID, &farm.ID))
	if err := c.SetLocationParent(ctx, farm.ID, &shelf.ID); StatusOf(err) != 422 {
		t.Errorf("cycle: %v", err)
	}
	tree, err := c.LocationTree(ctx)
	if err != nil || len(tree) != 2 || tree[0].SensorsTotal != 1 || tree[1].ParentID == nil || *tree[1].ParentID != farm.ID {
		t.Fatalf("tree %+v %v", tree, err)
	}
	placed, err := c.SubtreeSensors(ctx, farm.ID, nil)
	if err != nil || len(placed) != 1 || !placed[0].InstallationDatetime.Equal(t0) {
		t.Errorf("subtree sensors %+v %v", placed, err)
	}
	latest, err := c.SubtreeLatestReadings(ctx, farm.ID)
	if err != nil || len(latest) != 1 || latest[0].Value != dtbase.FloatValue(3) {
		t.Errorf("latest %+v %v", latest, err)
	}
	series, err := c.SubtreeReadings(ctx, farm.ID, "temperature", nil, t0, t0.Add(24*time.Hour))
	if err != nil || len(series) != 1 || len(series[0].Readings) != 3 {
		t.Errorf("series %+v %v", series, err)
	}

	must(t, c.SetMeasureRange(ctx, "temperature", nil, nil, ptrTo(2.5)))
	q := QualityQuery{UniqueIdentifier: "s1", MeasureName: "temperature", From: t0, To: t0.Add(5 * time.Hour)}
	rep, err := c.DataQuality(ctx, q)
	if err != nil || rep.GapCount != 1 || !rep.Gaps[0].Start.Equal(t0.Add(time.Hour)) || rep.OutOfRangeCount != 1 || len(rep.Days) != 1 {
		t.Errorf("quality %+v %v", rep, err)
	}
	all, err := c.DataQualityOverview(ctx, t0, t0.Add(5*time.Hour), &farm.ID)
	if err != nil || len(all) != 1 || all[0].GapCount != 1 {
		t.Errorf("overview %+v %v", all, err)
	}
	body, err := c.DataQualityCSV(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, _ := io.ReadAll(body)
	if !strings.Contains(string(b), "gap,2024-01-01T01:00:00Z,2024-01-01T05:00:00Z,14400") {
		t.Errorf("csv %s", b)
	}
}

func TestDerivedClient(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	farm := placedSensor(t, s.DB, []string{"farm"}, 0, time.Hour)[0]
	c := adminClient(t, s)
	must(t, c.InsertDerivedMeasure(ctx, DerivedMeasure{Name: "double", Expression: "2*temperature", SensorType: ptrTo("th")}))
	if err := c.InsertDerivedMeasure(ctx, DerivedMeasure{Name: "bad", Expression: "2*", SensorType: ptrTo("th")}); StatusOf(err) != 422 {
		t.Errorf("bad expression: %v", err)
	}
	must(t, c.InsertDerivedMeasure(ctx, DerivedMeasure{Name: "total", Expression: "temperature", LocationID: &farm.ID, Aggregate: ptrTo("sum")}))
	list, err := c.ListDerivedMeasures(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	rs, err := c.DerivedReadings(ctx, "s1", "double", t0, t0.Add(time.Hour), "")
	if err != nil || len(rs) != 2 || rs[1].Value != dtbase.FloatValue(4) {
		t.Errorf("derived %v %v", rs, err)
	}
	bs, err := c.DerivedAggregate(ctx, "total", t0, t0.Add(time.Hour), "1d")
	if err != nil || len(bs) != 1 || bs[0].Value != 1.5 || !bs[0].Timestamp.Equal(t0) {
		t.Errorf("aggregate %v %v", bs, err)
	}
	body, err := c.DerivedReadingsCSV(ctx, "s1", "double", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "unique_identifier,measure_name,measure_units,timestamp,value\r\ns1,double,,2024-01-01T00:00:00Z,2.0\r\n" {
		t.Errorf("csv %q", b)
	}
	must(t, c.DeleteDerivedMeasure(ctx, "double"))
}

func ptrTo[T any](v T) *T { return &v }

// t0 is the time of the first reading placedSensor stores.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// placedSensor stores the schema "place" (identified by name) with a
// location per name, and sensor s1 of type th (temperature) placed at the
// last of them from t0, with readings 1, 2, 3… at t0 plus each offset. It
// returns the locations in the order of names.
func placedSensor(t *testing.T, db *sqldb.DB, names []string, offsets ...time.Duration) []*dtbase.Location {
	t.Helper()
	ctx := context.Background()
	must(t, db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "place", Identifiers: []dtbase.Identifier{{Name: "name", Datatype: dtbase.String}}}))
	var locs []*dtbase.Location
	for _, n := range names {
		l, err := db.CreateLocation(ctx, "place", dtbase.Coordinates{"name": dtbase.StringValue(n)})
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l)
	}
	must(t, db.CreateSensorType(ctx, &dtbase.SensorType{Name: "th", Measures: []dtbase.Measure{{Name: "temperature", Datatype: dtbase.Float}}}))
	must(t, db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "s1", TypeName: "th"}))
	if _, err := db.CreateSensorPlacement(ctx, "s1", "place", dtbase.Coordinates{"name": dtbase.StringValue(names[len(names)-1])}, t0); err != nil {
		t.Fatal(err)
	}
	series := dtbase.ReadingSeries{UniqueIdentifier: "s1", MeasureName: "temperature"}
	for i, d := range offsets {
		series.Timestamps = append(series.Timestamps, t0.Add(d))
		series.Values = append(series.Values, dtbase.FloatValue(float64(i+1)))
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{series}); err != nil {
		t.Fatal(err)
	}
	return locs
}
