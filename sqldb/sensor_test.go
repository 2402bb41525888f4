package sqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func mustSensorType(t *testing.T, db *sqldb.DB, name string, ms ...dtbase.Measure) *dtbase.SensorType {
	t.Helper()
	st := &dtbase.SensorType{Name: name, Measures: ms}
	if err := db.CreateSensorType(context.Background(), st); err != nil {
		t.Fatalf("create sensor type %s: %v", name, err)
	}
	return st
}

func mustSensor(t *testing.T, db *sqldb.DB, typeName, uid string) {
	t.Helper()
	if err := db.CreateSensor(context.Background(), &dtbase.Sensor{UniqueIdentifier: uid, TypeName: typeName}); err != nil {
		t.Fatalf("create sensor %s: %v", uid, err)
	}
}

func TestSensorTypes(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	temp := dtbase.Measure{Name: "temperature", Units: ptr("K"), Datatype: dtbase.Float}
	count := dtbase.Measure{Name: "count", Datatype: dtbase.Integer} // null units
	mustSensorType(t, db, "a", temp, count)
	// Reusing both measures, the null-units one included (B5), and a new one
	// listed after them in the same request (B7).
	b := mustSensorType(t, db, "b", dtbase.Measure{Name: "temperature", Units: ptr("K"), Datatype: dtbase.String}, count,
		dtbase.Measure{Name: "on", Datatype: dtbase.Boolean})
	if b.Measures[0].Datatype != dtbase.Float {
		t.Errorf("reused measure has datatype %s, want the stored float", b.Measures[0].Datatype)
	}
	mustSensorType(t, db, "empty")
	ms, err := db.ListMeasures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := mapped(ms, func(m dtbase.Measure) string { return m.Name })
	if want := []string{"temperature", "count", "on"}; !cmp.Equal(names, want) {
		t.Errorf("measures %v, want %v", names, want)
	}
	types, err := db.ListSensorTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 3 || len(types[1].Measures) != 3 || types[2].Measures == nil || len(types[2].Measures) != 0 {
		t.Errorf("types %+v", types)
	}

	for _, tc := range []struct {
		name string
		st   dtbase.SensorType
		code string
	}{
		{"duplicate name", dtbase.SensorType{Name: "a"}, dtbase.ECONFLICT},
		{"measure twice", dtbase.SensorType{Name: "c", Measures: []dtbase.Measure{count, count}}, dtbase.ECONFLICT},
		{"new measure twice", dtbase.SensorType{Name: "c", Measures: []dtbase.Measure{{Name: "n", Datatype: dtbase.Float}, {Name: "n", Datatype: dtbase.Float}}}, dtbase.ECONFLICT},
		{"bad datatype", dtbase.SensorType{Name: "c", Measures: []dtbase.Measure{{Name: "n", Datatype: "int"}}}, dtbase.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			expectCode(t, db.CreateSensorType(ctx, &st), tc.code)
		})
	}
	// A failure after a new measure was written keeps nothing.
	st := dtbase.SensorType{Name: "a", Measures: []dtbase.Measure{{Name: "fresh", Datatype: dtbase.Float}}}
	expectCode(t, db.CreateSensorType(ctx, &st), dtbase.ECONFLICT)
	if ms, _ := db.ListMeasures(ctx); len(ms) != 3 {
		t.Errorf("%d measures after failed inserts, want 3", len(ms))
	}

	// Same name, other units: a separate measure.
	mustSensorType(t, db, "d", dtbase.Measure{Name: "temperature", Units: ptr("°C"), Datatype: dtbase.Float})
	if ms, _ := db.ListMeasures(ctx); len(ms) != 4 {
		t.Errorf("%d measures, want 4", len(ms))
	}

	mustSensor(t, db, "a", "s1")
	expectCode(t, db.DeleteSensorType(ctx, "a"), dtbase.ECONFLICT)
	expectCode(t, db.DeleteSensorType(ctx, "nope"), dtbase.ENOTFOUND)
	if err := db.DeleteSensorType(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := db.ListMeasures(ctx); len(ms) != 4 {
		t.Errorf("measures must survive their type's deletion")
	}
}

func TestSensors(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustSensorType(t, db, "thermo", dtbase.Measure{Name: "temperature", Units: ptr("K"), Datatype: dtbase.Float})
	mustSensorType(t, db, "other")
	expectCode(t, db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "x", TypeName: "nope"}), dtbase.ENOTFOUND)
	name := "Sensor one"
	if err := db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "s1", TypeName: "thermo", Name: &name}); err != nil {
		t.Fatal(err)
	}
	expectCode(t, db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "s1", TypeName: "other"}), dtbase.ECONFLICT)
	mustSensor(t, db, "other", "s2")

	all, err := db.FindSensors(ctx, dtbase.SensorFilter{})
	if err != nil || len(all) != 2 || all[0].UniqueIdentifier != "s1" || *all[0].Name != name || all[1].Name != nil || all[0].TypeName != "thermo" {
		t.Fatalf("sensors %+v, %v", all, err)
	}
	for typ, want := range map[string]int{"thermo": 1, "other": 1, "nope": 0} {
		got, err := db.FindSensors(ctx, dtbase.SensorFilter{TypeName: &typ})
		if err != nil || len(got) != want || got == nil {
			t.Errorf("type %s: %d sensors (%v), want %d", typ, len(got), err, want)
		}
	}

	notes := "in the lab"
	if err := db.UpdateSensor(ctx, "s2", dtbase.SensorUpdate{Notes: &notes}); err != nil {
		t.Fatal(err)
	}
	expectCode(t, db.UpdateSensor(ctx, "nope", dtbase.SensorUpdate{Notes: &notes}), dtbase.ENOTFOUND)
	d, err := db.FindSensorDetails(ctx, "s2")
	if err != nil || d.Notes == nil || *d.Notes != notes || d.Name != nil || d.Type.Name != "other" || d.Location != nil || len(d.History) != 0 {
		t.Fatalf("details %+v, %v", d, err)
	}
	_, err = db.FindSensorDetails(ctx, "nope")
	expectCode(t, err, dtbase.ENOTFOUND)

	// Deleting cascades to readings and placements; a model run blocks it.
	mustSchema(t, db, "xy", xID, yID)
	if _, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.IntValue(1), "y": dtbase.IntValue(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSensorPlacement(ctx, "s1", "xy", dtbase.Coordinates{"x": dtbase.IntValue(1)}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "s1", MeasureName: "temperature",
		Values: []dtbase.Value{dtbase.FloatValue(2.5)}, Timestamps: []time.Time{time.UnixMicro(1).UTC()}}}); err != nil {
		t.Fatal(err)
	}
	s1 := "s1"
	run := &dtbase.NewModelRun{ModelName: "m", ScenarioDescription: "s", CreateModel: true, CreateScenario: true, SensorUniqueID: &s1}
	if err := db.CreateModelRuns(ctx, []*dtbase.NewModelRun{run}); err != nil {
		t.Fatal(err)
	}
	expectCode(t, db.DeleteSensor(ctx, "s1"), dtbase.ECONFLICT)
	if err := db.DeleteModelRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSensor(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	expectCode(t, db.DeleteSensor(ctx, "s1"), dtbase.ENOTFOUND)
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM reading_float) + (SELECT count(*) FROM sensor_location)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d readings and placements left after delete (%v), want 0", n, err)
	}
	// With its placement gone, the location can be deleted.
	if err := db.DeleteLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.IntValue(1), "y": dtbase.IntValue(1)}); err != nil {
		t.Fatal(err)
	}
}

func TestSensorPlacements(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	db := sqldbtest.OpenAt(t, now)
	mustSensorType(t, db, "thermo")
	mustSensor(t, db, "thermo", "s1")
	mustSchema(t, db, "xy", xID, yID)
	mustSchema(t, db, "rooms", roomID)
	for _, c := range []dtbase.Coordinates{
		{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(1)},
		{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(2)},
		{"x": dtbase.FloatValue(2), "y": dtbase.FloatValue(2)},
	} {
		if _, err := db.CreateLocation(ctx, "xy", c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateLocation(ctx, "rooms", dtbase.Coordinates{"room": dtbase.StringValue("lab")}); err != nil {
		t.Fatal(err)
	}

	t0 := now.Add(-48 * time.Hour)
	for _, tc := range []struct {
		name   string
		uid    string
		schema string
		coords dtbase.Coordinates
		at     time.Time
		code   string
	}{
		{"unknown sensor", "nope", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(2)}, t0, dtbase.ENOTFOUND},
		{"unknown schema", "s1", "nope", dtbase.Coordinates{}, t0, dtbase.ENOTFOUND},
		{"unknown key", "s1", "xy", dtbase.Coordinates{"z": dtbase.FloatValue(2)}, t0, dtbase.EINVALID},
		{"wrong datatype", "s1", "xy", dtbase.Coordinates{"x": dtbase.StringValue("2")}, t0, dtbase.EINVALID},
		{"no match", "s1", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(3)}, t0, dtbase.ENOTFOUND},
		{"ambiguous", "s1", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1)}, t0, dtbase.EINVALID},
		{"subset unambiguous", "s1", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(2)}, t0, ""},
		{"same instant", "s1", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(1)}, t0, dtbase.ECONFLICT},
		{"other schema", "s1", "rooms", dtbase.Coordinates{"room": dtbase.StringValue("lab")}, t0.Add(24 * time.Hour), ""},
		{"future", "s1", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.IntValue(1)}, now.Add(time.Hour), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.CreateSensorPlacement(ctx, tc.uid, tc.schema, tc.coords, tc.at)
			expectCode(t, err, tc.code)
		})
	}
	hist, err := db.ListSensorPlacements(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range hist {
		got = append(got, p.Location.Schema+"@"+dtbase.FormatTime(p.Installed))
	}
	want := []string{"xy@2024-03-01T13:00:00Z", "rooms@2024-02-29T12:00:00Z", "xy@2024-02-28T12:00:00Z"}
	if !cmp.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	// The newest placement installed by now is current; the future one is not.
	d, err := db.FindSensorDetails(ctx, "s1")
	if err != nil || d.Location == nil || d.Location.Location.Schema != "rooms" || len(d.History) != 3 {
		t.Fatalf("details %+v, %v", d, err)
	}
	sensors, err := db.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil || len(sensors) != 1 || sensors[0].Location == nil || sensors[0].Location.Location.Values[0] != dtbase.StringValue("lab") {
		t.Fatalf("sensors with location %+v, %v", sensors, err)
	}
	if hist, err := db.ListSensorPlacements(ctx, "nope"); err != nil || hist == nil || len(hist) != 0 {
		t.Errorf("unknown sensor history %#v, %v; want empty", hist, err)
	}
	// A placed location cannot be deleted.
	expectCode(t, db.DeleteLocation(ctx, "rooms", dtbase.Coordinates{"room": dtbase.StringValue("lab")}), dtbase.ECONFLICT)
}
