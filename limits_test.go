package dtbase

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	// at returns n characters of 4 bytes each: limits count characters.
	at := func(n int) string { return strings.Repeat("😀", n) }
	over := func(n int) string { return strings.Repeat("a", n+1) }
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name  string
		v     interface{ Validate() error }
		field string // named in the error; "" when valid
	}{
		{"identifier at limits", &Identifier{Name: at(MaxNameLen), Units: ptr(at(MaxUnitsLen))}, ""},
		{"identifier name", &Identifier{Name: over(MaxNameLen)}, "name"},
		{"identifier units", &Identifier{Name: "x", Units: ptr(over(MaxUnitsLen))}, "units"},
		{"schema at limits", &LocationSchema{Name: at(MaxNameLen), Description: ptr(at(MaxDescriptionLen)),
			Identifiers: []Identifier{{Name: at(MaxNameLen)}}}, ""},
		{"schema name", &LocationSchema{Name: over(MaxNameLen)}, "name"},
		{"schema description", &LocationSchema{Name: "s", Description: ptr(over(MaxDescriptionLen))}, "description"},
		{"schema identifier units", &LocationSchema{Name: "s", Identifiers: []Identifier{{Name: "a"}, {Name: "b", Units: ptr(over(MaxUnitsLen))}}}, "identifiers[1].units"},
		{"measure at limits", &Measure{Name: at(MaxNameLen), Units: ptr(at(MaxUnitsLen))}, ""},
		{"measure name", &Measure{Name: over(MaxNameLen)}, "name"},
		{"sensor type at limits", &SensorType{Name: at(MaxNameLen), Description: ptr(at(MaxDescriptionLen)), Measures: []Measure{{Name: at(MaxNameLen)}}}, ""},
		{"sensor type description", &SensorType{Name: "t", Description: ptr(over(MaxDescriptionLen))}, "description"},
		{"sensor type measure name", &SensorType{Name: "t", Measures: []Measure{{Name: over(MaxNameLen)}}}, "measures[0].name"},
		{"sensor at limits", &Sensor{UniqueIdentifier: at(MaxNameLen), TypeName: at(MaxNameLen), Name: ptr(at(MaxNameLen)), Notes: ptr(at(MaxNotesLen))}, ""},
		{"sensor unique identifier", &Sensor{UniqueIdentifier: over(MaxNameLen), TypeName: "t"}, "unique_identifier"},
		{"sensor type name", &Sensor{UniqueIdentifier: "s", TypeName: over(MaxNameLen)}, "type_name"},
		{"sensor name", &Sensor{UniqueIdentifier: "s", TypeName: "t", Name: ptr(over(MaxNameLen))}, "name"},
		{"sensor notes", &Sensor{UniqueIdentifier: "s", TypeName: "t", Notes: ptr(over(MaxNotesLen))}, "notes"},
		{"sensor update at limits", &SensorUpdate{Name: ptr(at(MaxNameLen)), Notes: ptr(at(MaxNotesLen))}, ""},
		{"sensor update notes", &SensorUpdate{Notes: ptr(over(MaxNotesLen))}, "notes"},
		{"model at limit", &Model{Name: at(MaxNameLen)}, ""},
		{"model name", &Model{Name: over(MaxNameLen)}, "name"},
		{"scenario at limits", &ModelScenario{ModelName: at(MaxNameLen), Description: ptr(at(MaxDescriptionLen))}, ""},
		{"scenario without description", &ModelScenario{ModelName: "m"}, ""},
		{"scenario description", &ModelScenario{ModelName: "m", Description: ptr(over(MaxDescriptionLen))}, "description"},
		{"model measure at limits", &ModelMeasure{Name: at(MaxNameLen), Units: at(MaxUnitsLen)}, ""},
		{"model measure units", &ModelMeasure{Name: "m", Units: over(MaxUnitsLen)}, "units"},
		{"run at limits", &NewModelRun{ModelName: at(MaxNameLen), ScenarioDescription: at(MaxDescriptionLen), SensorUniqueID: ptr(at(MaxNameLen)),
			SensorMeasure: &ModelSensorMeasure{Name: at(MaxNameLen), Units: ptr(at(MaxUnitsLen))},
			Series:        []NewModelSeries{{MeasureName: at(MaxNameLen), MeasureUnits: ptr(at(MaxUnitsLen))}}}, ""},
		{"run model name", &NewModelRun{ModelName: over(MaxNameLen)}, "model_name"},
		{"run scenario", &NewModelRun{ModelName: "m", ScenarioDescription: over(MaxDescriptionLen)}, "scenario_description"},
		{"run sensor", &NewModelRun{ModelName: "m", SensorUniqueID: ptr(over(MaxNameLen))}, "sensor_unique_id"},
		{"run sensor measure units", &NewModelRun{ModelName: "m", SensorMeasure: &ModelSensorMeasure{Name: "x", Units: ptr(over(MaxUnitsLen))}}, "sensor_measure.units"},
		{"run series measure", &NewModelRun{ModelName: "m", Series: []NewModelSeries{{MeasureName: "a"}, {MeasureName: over(MaxNameLen)}}}, "measures_and_values[1].measure_name"},
		{"service at limits", &Service{Name: at(MaxNameLen), URL: "https://example.org/" + strings.Repeat("x", MaxURLLen-20), HTTPMethod: "GET",
			Credential: &ServiceCredential{Header: strings.Repeat("X", MaxHeaderNameLen)}}, ""},
		{"service name", &Service{Name: over(MaxNameLen), URL: "/x", HTTPMethod: "GET"}, "name"},
		{"service url", &Service{Name: "s", URL: over(MaxURLLen), HTTPMethod: "GET"}, "url"},
		{"service credential header", &Service{Name: "s", URL: "/x", HTTPMethod: "GET", Credential: &ServiceCredential{Header: over(MaxHeaderNameLen)}}, "credential_header"},
		{"service method", &Service{Name: "s", URL: "/x", HTTPMethod: "get"}, "http_method"},
		{"service update at limits", &ServiceUpdate{URL: ptr(strings.Repeat("x", MaxURLLen))}, ""},
		{"service update url", &ServiceUpdate{URL: ptr(over(MaxURLLen))}, "url"},
		{"service update method", &ServiceUpdate{HTTPMethod: ptr("PATCH")}, "http_method"},
		{"parameter set at limits", &ParameterSet{ServiceName: at(MaxNameLen), Name: at(MaxNameLen)}, ""},
		{"parameter set name", &ParameterSet{ServiceName: "s", Name: over(MaxNameLen)}, "name"},
		{"schedule at limits", &Schedule{ServiceName: at(MaxNameLen), Name: at(MaxNameLen), Cron: at(MaxCronLen), TimeZone: at(MaxTimeZoneLen),
			ParameterSetName: ptr(at(MaxNameLen))}, ""},
		{"schedule name", &Schedule{ServiceName: "s", Name: over(MaxNameLen)}, "name"},
		{"schedule cron", &Schedule{ServiceName: "s", Name: "n", Cron: over(MaxCronLen)}, "cron"},
		{"schedule time zone", &Schedule{ServiceName: "s", Name: "n", TimeZone: over(MaxTimeZoneLen)}, "timezone"},
		{"schedule parameter set", &Schedule{ServiceName: "s", Name: "n", ParameterSetName: ptr(over(MaxNameLen))}, "parameter_set_name"},
		{"user at limit", &User{Email: strings.Repeat("a", MaxEmailLen-12) + "@example.com", Role: RoleViewer}, ""},
		{"user email", &User{Email: over(MaxEmailLen), Role: RoleViewer}, "email"},
		{"user role", &User{Email: "a@b.c", Role: "root"}, "role"},
		{"series at limits", &ReadingSeries{UniqueIdentifier: at(MaxNameLen), MeasureName: at(MaxNameLen), MeasureUnits: ptr(at(MaxUnitsLen))}, ""},
		{"series sensor", &ReadingSeries{UniqueIdentifier: over(MaxNameLen), MeasureName: "m"}, "unique_identifier"},
		{"series measure units", &ReadingSeries{UniqueIdentifier: "s", MeasureName: "m", MeasureUnits: ptr(over(MaxUnitsLen))}, "measure_units"},
		{"api key at limit", &APIKey{Name: at(MaxNameLen)}, ""},
		{"api key name", &APIKey{Name: over(MaxNameLen)}, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID {
				t.Fatalf("want EINVALID naming %s, got %v", tc.field, err)
			}
			if msg := ErrorMessage(err); !strings.HasPrefix(msg, tc.field+" ") {
				t.Errorf("message %q does not start with the field %q", msg, tc.field)
			}
		})
	}
}

func TestValidateMessageNamesLimit(t *testing.T) {
	err := (&Model{Name: strings.Repeat("é", MaxNameLen+1)}).Validate()
	want := "name is too long: at most 100 characters, got 101."
	if got := ErrorMessage(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := ValidateCredentialValue(strings.Repeat("k", MaxCredentialLen+1)); ErrorCode(err) != EINVALID {
		t.Errorf("credential value over the limit: %v", err)
	}
}

func TestTooLong(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want bool
	}{
		{"", 0, false},
		{"a", 0, true},
		{"abc", 3, false},
		{"abcd", 3, true},
		{"ééé", 3, false}, // 6 bytes, 3 characters
		{"éééé", 3, true},
	} {
		if got := TooLong(tc.s, tc.max); got != tc.want {
			t.Errorf("TooLong(%q, %d) = %v, want %v", tc.s, tc.max, got, tc.want)
		}
	}
}

// TestLimitsDocumented keeps docs/limits.md's table in step with the
// constants.
func TestLimitsDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range TextLimits {
		row := fmt.Sprintf("| `%s` | ", name)
		i := strings.Index(string(doc), row)
		if i < 0 {
			t.Errorf("docs/limits.md has no row for %s", name)
			continue
		}
		line, _, _ := strings.Cut(string(doc[i:]), "\n")
		if !strings.Contains(line, fmt.Sprintf(" | %d | ", n)) {
			t.Errorf("docs/limits.md: %s is %d, the row says %q", name, n, line)
		}
	}
}
