package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// TestOpenAPIDocumentsStatuses sends requests that property-based testing
// from /openapi.json (schemathesis) found answered with a status the
// document did not list, and checks that each status is now documented and
// each 4xx is JSON with a detail.
func TestOpenAPIDocumentsStatuses(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses   map[string]json.RawMessage `json:"responses"`
			RequestBody struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	e.get("/openapi.json").JSON(t, &doc)

	for _, c := range []struct {
		name, method, path, ctype, body string
		token                           bool
		want                            int
	}{
		{"login with an unknown email", "POST", "/auth/login", "application/json", `{"email":"","password":"x"}`, false, 401},
		{"login with a wrong password", "POST", "/auth/login", "application/json", `{"email":"` + testAdmin + `","password":"x"}`, false, 401},
		{"upload with no body", "POST", "/sensor/upload-readings-csv", "", "", true, 400},
		{"upload of a malformed csv", "POST", "/sensor/upload-readings-csv", "text/csv", "a,b\n1", true, 400},
		{"upload as multipart without a file part", "POST", "/sensor/upload-readings-csv", "multipart/form-data; boundary=x", "--x--\r\n", true, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := newRequest(c.method, c.path, c.body)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.token {
				req.Header.Set("Authorization", "Bearer "+e.token)
			}
			r := e.serve(req)
			if r.Status != c.want {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, c.want)
			}
			op := doc.Paths[c.path][strings.ToLower(c.method)]
			if _, ok := op.Responses[strconv.Itoa(r.Status)]; !ok {
				t.Errorf("status %d of %s %s is not in /openapi.json", r.Status, c.method, c.path)
			}
			if r.Status >= 400 && (!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Detail() == string(r.Body)) {
				t.Errorf("4xx without a JSON detail: %s %s", r.Header.Get("Content-Type"), r.Body)
			}
		})
	}

	// The CSV upload documents the bodies it reads.
	upload := doc.Paths["/sensor/upload-readings-csv"]["post"].RequestBody.Content
	for _, ct := range []string{"text/csv", "multipart/form-data"} {
		if _, ok := upload[ct]; !ok {
			t.Errorf("upload-readings-csv does not document a %s body", ct)
		}
	}
	if _, ok := doc.Paths["/auth/login"]["post"].Responses[strconv.Itoa(http.StatusTooManyRequests)]; !ok {
		t.Error("the login rate limit (429) is not documented")
	}
}

// TestBindRejectsNUL covers the 500s that schemathesis found on
// PostgreSQL, which refuses NUL characters in text (SQLSTATE 22021): a NUL
// in any string, location coordinate value or map key is now a 422 naming
// the field, on both engines.
func TestBindRejectsNUL(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ path, body, loc string }{
		{"/sensor/insert-sensor-type", `{"name":"a\u0000","measures":[]}`, `["body","name"]`},
		{"/service/delete-parameter-set", `{"service_name":"s","name":"2\u0000"}`, `["body","name"]`},
		{"/service/delete-schedule", `{"service_name":"\u0000","name":"x"}`, `["body","service_name"]`},
		{"/user/create-api-key", `{"name":"k\u0000","role":"admin"}`, `["body","name"]`},
		{"/sensor/list-sensors", `{"type_name":"\u0000"}`, `["body","type_name"]`},
		{"/location/list-locations", `{"schema_name":"s","coordinates":{"zone":"\u0000"}}`, `["body","coordinates","zone"]`},
		{"/location/insert-location-for-schema", `{"schema_name":"s","coordinates":{"z\u0000":1}}`, `["body","coordinates","z\u0000"]`},
		{"/auth/login", `{"email":"\u0000","password":"x"}`, `["body","email"]`},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := e.post(c.path, c.body)
			if r.Status != 422 || !strings.Contains(string(r.Body), `"loc":`+c.loc) || !strings.Contains(string(r.Body), "NUL") {
				t.Errorf("%s: %d %s, want 422 at %s", c.body, r.Status, r.Body, c.loc)
			}
		})
	}
}

// TestOpenAPITextLimits checks that /openapi.json states the domain's text
// limits: each string a request body carries has a maxLength taken from
// dtbase.TextLimits, except strings checked against a fixed set of values
// and the credentials of /auth.
func TestOpenAPITextLimits(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	e.get("/openapi.json").JSON(t, &doc)

	limits := map[float64]bool{}
	for _, v := range dtbase.TextLimits {
		limits[float64(v)] = true
	}
	// Fields whose values come from a fixed set, checked on their own;
	// passwords, whose policy is the auth rules'; and the values of
	// readings, locations and model runs, which no index holds and which
	// the body limit bounds.
	skip := map[string]bool{"datatype": true, "http_method": true, "trend": true, "fill": true, "aggregates": true,
		"password": true, "values": true, "readings": true}
	var walk func(where string, s map[string]any, seen map[string]bool)
	walk = func(where string, s map[string]any, seen map[string]bool) {
		if ref, ok := s["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if !seen[name] {
				seen[name] = true
				walk(where, doc.Components.Schemas[name], seen)
			}
			return
		}
		for _, alt := range anySlice(s["anyOf"]) {
			walk(where, alt.(map[string]any), seen)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(where+"[]", items, seen)
		}
		if props, ok := s["properties"].(map[string]any); ok {
			for k, p := range props {
				if !skip[k] {
					walk(where+"."+k, p.(map[string]any), seen)
				}
			}
		}
		if s["type"] == "string" && s["enum"] == nil && s["format"] == nil {
			max, ok := s["maxLength"].(float64)
			if !ok || !limits[max] {
				t.Errorf("%s: a string without a maxLength from dtbase.TextLimits: %v", where, s)
			}
		}
	}
	for path, ops := range doc.Paths {
		if strings.HasPrefix(path, "/auth/") {
			continue
		}
		for method, op := range ops {
			if c, ok := op.RequestBody.Content["application/json"]; ok {
				walk(method+" "+path, c.Schema, map[string]bool{})
			}
		}
	}

	// Spot checks that the numbers are the constants.
	for _, c := range []struct {
		schema, field string
		want          int
	}{
		{"ModelScenarioBody", "description", dtbase.MaxDescriptionLen},
		{"InsertModelRunRequest", "scenario_description", dtbase.MaxDescriptionLen},
		{"InsertServiceRequest", "name", dtbase.MaxNameLen},
		{"InsertServiceRequest", "url", dtbase.MaxURLLen},
		{"ParameterSetRequest", "name", dtbase.MaxNameLen},
		{"ScheduleRequest", "name", dtbase.MaxNameLen},
		{"CreateUserRequest", "email", dtbase.MaxEmailLen},
		{"InsertSensorRequest", "notes", dtbase.MaxNotesLen},
	} {
		p, _ := doc.Components.Schemas[c.schema]["properties"].(map[string]any)[c.field].(map[string]any)
		if alts := anySlice(p["anyOf"]); len(alts) > 0 {
			p = alts[0].(map[string]any)
		}
		if got, _ := p["maxLength"].(float64); int(got) != c.want {
			t.Errorf("%s.%s: maxLength %v, want %d", c.schema, c.field, p["maxLength"], c.want)
		}
	}

	// Numbers carry the bounds their handlers check.
	for _, c := range []struct {
		schema, field string
		min, max      any
	}{
		{"InsertServiceRequest", "timeout_seconds", 1.0, float64(dtbase.MaxServiceTimeout / time.Second)},
		{"EditServiceRequest", "timeout_seconds", 0.0, float64(dtbase.MaxServiceTimeout / time.Second)},
		{"ReadingDownsampleRequest", "max_points", 2.0, float64(maxDownsamplePoints)},
		{"ListRunsRequest", "limit", 0.0, nil},
	} {
		p, _ := doc.Components.Schemas[c.schema]["properties"].(map[string]any)[c.field].(map[string]any)
		if alts := anySlice(p["anyOf"]); len(alts) > 0 {
			p = alts[0].(map[string]any)
		}
		if p["minimum"] != c.min || p["maximum"] != c.max {
			t.Errorf("%s.%s: minimum %v maximum %v, want %v and %v", c.schema, c.field, p["minimum"], p["maximum"], c.min, c.max)
		}
	}
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}
