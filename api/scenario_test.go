package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestNoServerErrorsOnBadInput sends malformed JSON, missing fields, wrong
// types, oversized strings and unknown fields to every endpoint that exists,
// and requires a JSON answer below 500 each time: a client mistake is never
// a server error. New endpoints are covered as they are registered.
func TestNoServerErrorsOnBadInput(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 10_000)
	for _, rt := range e.srv.order {
		if rt.method == http.MethodGet && rt.req == nil && rt.query == nil {
			continue
		}
		bodies := map[string]string{
			"invalid JSON":   `{"a": `,
			"NaN":            `{"value": NaN}`,
			"array":          `[1, 2]`,
			"string":         `"text"`,
			"number":         `42`,
			"null":           `null`,
			"empty object":   `{}`,
			"unknown fields": `{"surprise": {"deep": [1, 2, 3]}}`,
			"empty body":     ``,
		}
		if rt.req != nil {
			maps.Copy(bodies, fieldVariants(rt.req, long))
		}
		for name, body := range bodies {
			t.Run(rt.path+"/"+name, func(t *testing.T) {
				path := rt.path
				if rt.method == http.MethodGet {
					path += "?unique_identifier=" + long[:200] + "&dt_from=yesterday&measure_name=%00"
				}
				req := newRequest(rt.method, path, body)
				req.Header.Set("Authorization", "Bearer "+e.token)
				r := e.serve(req)
				if r.Status >= 500 {
					t.Fatalf("status %d for %s: %s", r.Status, body[:min(len(body), 200)], r.Body)
				}
				wantJSONDetail(t, r)
			})
		}
	}
}

// wantJSONDetail fails the test when an error answer has no JSON detail.
func wantJSONDetail(t *testing.T, r response) {
	t.Helper()
	if r.Status < 400 {
		return
	}
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &d); err != nil || len(d.Detail) == 0 {
		t.Fatalf("status %d without a JSON detail: %s", r.Status, r.Body)
	}
}

// fieldVariants returns bodies that break one field of a request type at a
// time: a wrong type, a null, an oversized string, and the field missing.
func fieldVariants(t reflect.Type, long string) map[string]string {
	out := map[string]string{}
	fields := plausible(t).(map[string]any) // a plausible body: t is a struct
	enc := func(m map[string]any) string {
		b, _ := json.Marshal(m)
		return string(b)
	}
	out["plausible"] = enc(fields)
	for name := range fields {
		for label, bad := range map[string]any{
			"wrong type": map[string]any{"nested": true}, "null": nil, "long string": long,
			"number": 1e300, "negative": -1, "bool": true, "list": []any{nil, "a", 1.5, false},
		} {
			m := maps.Clone(fields)
			m[name] = bad
			out[fmt.Sprintf("%s %s", name, label)] = enc(m)
		}
		m := maps.Clone(fields)
		delete(m, name)
		out[name+" missing"] = enc(m)
	}
	return out
}

// plausible returns a value of roughly the right shape for a field type, so
// the variants reach the handler rather than stopping at the first field.
func plausible(t reflect.Type) any {
	switch t {
	case objectType:
		return map[string]any{"a": 1}
	case anyType:
		return map[string]any{"a": [2]int{1, 2}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return plausible(t.Elem())
	case reflect.String:
		return "name"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return 1
	case reflect.Bool:
		return true
	case reflect.Slice:
		if t.Elem() == valueType || t.Elem() == timeType {
			if t.Elem() == timeType {
				return []any{"2024-01-01T00:00:00"}
			}
			return []any{1.5}
		}
		return []any{plausible(t.Elem())}
	case reflect.Map:
		return map[string]any{"x": 1}
	case reflect.Struct:
		if t == timeType {
			return "2024-01-01T00:00:00Z"
		}
		if t == valueType {
			return 1.5
		}
		m := map[string]any{}
		for _, f := range wireFields(t) {
			m[f.key] = plausible(f.Type)
		}
		return m
	}
	return nil
}
