package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
)

// TestTextLimits sends every text field of the bodies that write (and some
// that look up) at its limit and over it. Over the limit, the answer is
// the binder's 422 naming the field and the limit, the same whatever the
// database: a 3 KB or 1 MB name once gave PostgreSQL's index row error as
// a 500. At the limit, counted in characters of up to 4 bytes, the write
// succeeds on both databases.
func TestTextLimits(t *testing.T) {
	e, _ := newServiceEnv(t)
	e.must(201, "/sensor/insert-sensor-type", `{"name":"T","description":null,"measures":[{"name":"M","units":null,"datatype":"float"}]}`)
	e.must(201, "/sensor/insert-sensor", `{"type_name":"T","unique_identifier":"S"}`)
	e.must(201, "/model/insert-model", `{"name":"Mo"}`)
	e.must(201, "/service/insert-service", `{"name":"Svc","url":"https://example.org/run","http_method":"POST"}`)

	// wide fills n characters of 4 bytes each, the last one naming the
	// case so that rows at the limit do not collide.
	wide := func(n, i int) string { return strings.Repeat("😀", n-1) + string(rune('A'+i)) }
	ascii := func(prefix string) func(n, i int) string {
		return func(n, i int) string { return prefix + strings.Repeat("x", n-len(prefix)-1) + string(rune('A'+i)) }
	}
	email := func(n, _ int) string { return "a" + strings.Repeat("x", n-13) + "@example.com" }
	const (
		notChecked = 0 // at the limit the request fails for another reason (a lookup, a format)
	)
	tests := []struct {
		path  string
		body  string // V is replaced by the JSON string
		loc   []any
		limit int
		fill  func(n, i int) string
		want  int // status at the limit
	}{
		{"/location/insert-location-schema", `{"name":V,"description":null,"identifiers":[]}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/location/insert-location-schema", `{"name":"ls-d","description":V,"identifiers":[]}`, []any{"body", "description"}, dtbase.MaxDescriptionLen, wide, 201},
		{"/location/insert-location-schema", `{"name":"ls-i","description":null,"identifiers":[{"name":V,"units":null,"datatype":"float"}]}`, []any{"body", "identifiers", float64(0), "name"}, dtbase.MaxNameLen, wide, 201},
		{"/location/insert-location-schema", `{"name":"ls-u","description":null,"identifiers":[{"name":"iu","units":V,"datatype":"float"}]}`, []any{"body", "identifiers", float64(0), "units"}, dtbase.MaxUnitsLen, wide, 201},
		{"/location/insert-location", `{"identifiers":[{"name":V,"units":null,"datatype":"float"}],"values":[1]}`, []any{"body", "identifiers", float64(0), "name"}, dtbase.MaxNameLen, wide, 201},
		{"/location/insert-location-for-schema", `{"schema_name":V,"coordinates":{}}`, []any{"body", "schema_name"}, dtbase.MaxNameLen, wide, 400},
		{"/sensor/insert-sensor-type", `{"name":V,"description":null,"measures":[]}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/sensor/insert-sensor-type", `{"name":"st-d","description":V,"measures":[]}`, []any{"body", "description"}, dtbase.MaxDescriptionLen, wide, 201},
		{"/sensor/insert-sensor-type", `{"name":"st-m","description":null,"measures":[{"name":V,"units":null,"datatype":"float"}]}`, []any{"body", "measures", float64(0), "name"}, dtbase.MaxNameLen, wide, 201},
		{"/sensor/insert-sensor-type", `{"name":"st-u","description":null,"measures":[{"name":"mu","units":V,"datatype":"float"}]}`, []any{"body", "measures", float64(0), "units"}, dtbase.MaxUnitsLen, wide, 201},
		{"/sensor/insert-sensor", `{"type_name":"T","unique_identifier":V}`, []any{"body", "unique_identifier"}, dtbase.MaxNameLen, wide, 201},
		{"/sensor/insert-sensor", `{"type_name":"T","unique_identifier":"s-n","name":V}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/sensor/insert-sensor", `{"type_name":"T","unique_identifier":"s-no","notes":V}`, []any{"body", "notes"}, dtbase.MaxNotesLen, wide, 201},
		{"/sensor/edit-sensor", `{"unique_identifier":"S","name":V,"notes":"n"}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 200},
		{"/sensor/edit-sensor", `{"unique_identifier":"S","name":"n","notes":V}`, []any{"body", "notes"}, dtbase.MaxNotesLen, wide, 200},
		{"/model/insert-model", `{"name":V}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/model/insert-model-scenario", `{"model_name":"Mo","description":V}`, []any{"body", "description"}, dtbase.MaxDescriptionLen, wide, 201},
		{"/model/insert-model-scenario", `{"model_name":V,"description":null}`, []any{"body", "model_name"}, dtbase.MaxNameLen, wide, 400},
		{"/model/insert-model-measure", `{"name":V,"units":"u","datatype":"float"}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/model/insert-model-measure", `{"name":"mm","units":V,"datatype":"float"}`, []any{"body", "units"}, dtbase.MaxUnitsLen, wide, 201},
		{"/model/insert-model-run", `{"model_name":"Mo","scenario_description":V,"measures_and_values":[],"create_scenario":true}`, []any{"body", "scenario_description"}, dtbase.MaxDescriptionLen, wide, 201},
		{"/model/insert-model-run", `{"model_name":V,"scenario_description":"s","measures_and_values":[]}`, []any{"body", "model_name"}, dtbase.MaxNameLen, wide, 400},
		{"/model/insert-model-run", `{"model_name":"Mo","scenario_description":"s","create_scenario":true,"measures_and_values":[{"measure_name":V,"values":[],"timestamps":[]}]}`, []any{"body", "measures_and_values", float64(0), "measure_name"}, dtbase.MaxNameLen, wide, 400},
		{"/service/insert-service", `{"name":V,"url":"https://example.org/run","http_method":"POST"}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/service/insert-service", `{"name":"svc-url","url":V,"http_method":"POST"}`, []any{"body", "url"}, dtbase.MaxURLLen, ascii("https://example.org/"), 201},
		{"/service/insert-service", `{"name":"svc-h","url":"https://example.org/run","http_method":"POST","credential_header":V,"credential_value":"v"}`, []any{"body", "credential_header"}, dtbase.MaxHeaderNameLen, ascii("X-"), 201},
		{"/service/insert-service", `{"name":"svc-v","url":"https://example.org/run","http_method":"POST","credential_header":"X-Key","credential_value":V}`, []any{"body", "credential_value"}, dtbase.MaxCredentialLen, ascii("k"), 201},
		{"/service/edit-service", `{"name":"Svc","url":V}`, []any{"body", "url"}, dtbase.MaxURLLen, ascii("https://example.org/"), 200},
		{"/service/insert-parameter-set", `{"service_name":"Svc","name":V,"parameters":{}}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/service/insert-schedule", `{"service_name":"Svc","name":V,"cron":"0 2 * * *"}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
		{"/service/insert-schedule", `{"service_name":"Svc","name":"sc-c","cron":V}`, []any{"body", "cron"}, dtbase.MaxCronLen, wide, notChecked},
		{"/service/insert-schedule", `{"service_name":"Svc","name":"sc-t","cron":"0 2 * * *","timezone":V}`, []any{"body", "timezone"}, dtbase.MaxTimeZoneLen, wide, notChecked},
		{"/user/create-user", `{"email":V,"password":"a long enough passphrase 42","role":"viewer"}`, []any{"body", "email"}, dtbase.MaxEmailLen, email, 201},
		{"/user/create-api-key", `{"name":V,"role":"viewer"}`, []any{"body", "name"}, dtbase.MaxNameLen, wide, 201},
	}
	for i, tc := range tests {
		field := strings.Trim(fmt.Sprint(tc.loc[1:]), "[]")
		body := func(v string) string {
			raw, _ := json.Marshal(v)
			return strings.Replace(tc.body, "V", string(raw), 1)
		}
		t.Run(tc.path+" "+field, func(t *testing.T) {
			var prev []byte
			for _, n := range []int{tc.limit + 1, 3 << 10, 1 << 20} {
				if n <= tc.limit {
					continue // a 3 KB value is within a long limit
				}
				r := e.post(tc.path, body(strings.Repeat("a", n)))
				if r.Status != 422 {
					t.Fatalf("%d characters: status %d, want 422: %.300s", n, r.Status, r.Body)
				}
				var got struct{ Detail []fieldError }
				r.JSON(t, &got)
				if len(got.Detail) != 1 {
					t.Fatalf("%d characters: want one error, got %s", n, r.Body)
				}
				d := got.Detail[0]
				want := fieldError{Type: "string_too_long", Loc: tc.loc, Msg: fmt.Sprintf("String should have at most %d characters", tc.limit),
					Ctx: map[string]any{"max_length": float64(tc.limit)}}
				d.Input = nil
				if diff := cmp.Diff(want, d); diff != "" {
					t.Errorf("%d characters: (-want +got)\n%s", n, diff)
				}
				// Long inputs are echoed by their first 200 bytes, so 3 KB
				// and 1 MB get the very same answer.
				if n > 1000 && prev != nil && !bytes.Equal(prev, r.Body) {
					t.Errorf("%d characters: answer differs from the shorter one:\n%.400s\n%.400s", n, r.Body, prev)
				}
				if n > 1000 {
					prev = r.Body
				}
			}
			v := tc.fill(tc.limit, i)
			if got := []rune(v); len(got) != tc.limit {
				t.Fatalf("test value has %d characters, want %d", len(got), tc.limit)
			}
			r := e.post(tc.path, body(v))
			switch {
			case tc.want == notChecked && (r.Status == 422 || r.Status >= 500):
				t.Errorf("at the limit: status %d: %.300s", r.Status, r.Body)
			case tc.want != notChecked && r.Status != tc.want:
				t.Errorf("at the limit: status %d, want %d: %.300s", r.Status, tc.want, r.Body)
			}
		})
	}
}
