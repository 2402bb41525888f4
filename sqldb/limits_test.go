package sqldb_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestStoreTextLimits writes text over its limit through every store
// method that stores text. Each answers EINVALID naming the field, on
// SQLite as on PostgreSQL, where a 3 KB name in an index once failed as an
// internal error; at the limit, in 4-byte characters, each write succeeds.
func TestStoreTextLimits(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateSensorType(ctx, &dtbase.SensorType{Name: "T"}))
	must(db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "S", TypeName: "T"}))
	must(db.CreateModel(ctx, "Mo"))
	must(db.CreateService(ctx, &dtbase.Service{Name: "Svc", URL: "https://example.org/", HTTPMethod: "POST"}))

	big := strings.Repeat("a", 3<<10)
	// wide is n 4-byte characters; tag keeps rows at the limit apart.
	wide := func(n int, tag string) string { return strings.Repeat("😀", n-len(tag)) + tag }
	tests := []struct {
		name  string
		field string
		write func(v string) error
		limit int
	}{
		{"location schema", "name", func(v string) error {
			return db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: v})
		}, dtbase.MaxNameLen},
		{"location schema description", "description", func(v string) error {
			return db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "d", Description: &v})
		}, dtbase.MaxDescriptionLen},
		{"location identifier", "identifiers[0].name", func(v string) error {
			return db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "i", Identifiers: []dtbase.Identifier{{Name: v, Datatype: dtbase.Float}}})
		}, dtbase.MaxNameLen},
		{"insert-location identifier units", "identifiers[0].units", func(v string) error {
			_, err := db.CreateLocationWithIdentifiers(ctx, []dtbase.Identifier{{Name: "u", Units: &v, Datatype: dtbase.Float}}, []dtbase.Value{dtbase.FloatValue(1)})
			return err
		}, dtbase.MaxUnitsLen},
		{"sensor type", "name", func(v string) error {
			return db.CreateSensorType(ctx, &dtbase.SensorType{Name: v})
		}, dtbase.MaxNameLen},
		{"sensor type measure units", "measures[0].units", func(v string) error {
			return db.CreateSensorType(ctx, &dtbase.SensorType{Name: "mu", Measures: []dtbase.Measure{{Name: "m", Units: &v, Datatype: dtbase.Float}}})
		}, dtbase.MaxUnitsLen},
		{"sensor", "unique_identifier", func(v string) error {
			return db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: v, TypeName: "T"})
		}, dtbase.MaxNameLen},
		{"sensor notes", "notes", func(v string) error {
			return db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "n" + v[:4], TypeName: "T", Notes: &v})
		}, dtbase.MaxNotesLen},
		{"sensor edit", "name", func(v string) error {
			return db.UpdateSensor(ctx, "S", dtbase.SensorUpdate{Name: &v})
		}, dtbase.MaxNameLen},
		{"model", "name", func(v string) error { return db.CreateModel(ctx, v) }, dtbase.MaxNameLen},
		{"model scenario", "description", func(v string) error {
			return db.CreateModelScenario(ctx, "Mo", &v)
		}, dtbase.MaxDescriptionLen},
		{"model measure", "name", func(v string) error {
			return db.CreateModelMeasure(ctx, &dtbase.ModelMeasure{Name: v, Units: "u", Datatype: dtbase.Float})
		}, dtbase.MaxNameLen},
		{"model run scenario", "scenario_description", func(v string) error {
			return db.CreateModelRuns(ctx, []*dtbase.NewModelRun{{ModelName: "Mo", ScenarioDescription: v, CreateScenario: true}})
		}, dtbase.MaxDescriptionLen},
		{"service", "name", func(v string) error {
			return db.CreateService(ctx, &dtbase.Service{Name: v, URL: "https://example.org/", HTTPMethod: "POST"})
		}, dtbase.MaxNameLen},
		{"service edit", "url", func(v string) error {
			return db.UpdateService(ctx, "Svc", dtbase.ServiceUpdate{URL: ptr("https://example.org/" + v[:len(v)-20])})
		}, dtbase.MaxURLLen},
		{"parameter set", "name", func(v string) error {
			return db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "Svc", Name: v, Parameters: json.RawMessage(`{}`)})
		}, dtbase.MaxNameLen},
		{"schedule", "name", func(v string) error {
			return db.CreateSchedule(ctx, &dtbase.Schedule{ServiceName: "Svc", Name: v, Cron: "0 2 * * *", TimeZone: "UTC", Enabled: true, NextRun: time.Now()})
		}, dtbase.MaxNameLen},
		{"user", "email", func(v string) error {
			return db.CreateUser(ctx, &dtbase.User{Email: v[:len(v)-12] + "@example.com", PasswordHash: []byte("x"), Role: dtbase.RoleViewer})
		}, dtbase.MaxEmailLen},
		{"api key", "name", func(v string) error {
			return db.CreateAPIKey(ctx, &dtbase.APIKey{Name: v, Role: dtbase.RoleViewer, Prefix: "p", CreatedBy: "t"}, []byte(v))
		}, dtbase.MaxNameLen},
	}
	// Readings name their sensor and measure: a lookup, refused alike.
	_, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "S", MeasureName: big}})
	if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.HasPrefix(dtbase.ErrorMessage(err), "measure_name is too long") {
		t.Errorf("readings of a 3 KB measure name: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{strings.Repeat("a", tc.limit+1), big} {
				if len(v) <= tc.limit {
					continue
				}
				err := tc.write(v)
				if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.HasPrefix(dtbase.ErrorMessage(err), tc.field+" is too long") {
					t.Fatalf("%d characters: want EINVALID naming %s, got %v", len(v), tc.field, err)
				}
			}
			v := strings.Repeat("a", tc.limit)
			if tc.field != "url" && tc.field != "email" {
				v = wide(tc.limit, tc.name[:2])
			}
			if err := tc.write(v); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
		})
	}
}
