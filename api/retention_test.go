package api

import (
	"net/http"
	"testing"

	"github.com/dtbase/dtbase"
)

func TestSensorTypeRetentionAPI(t *testing.T) {
	e := newEnv(t)
	e.floatType("th", "humidity", "%")
	e.floatType("co2")
	for _, c := range []struct {
		name   string
		role   dtbase.Role
		body   map[string]any
		status int
		text   string
	}{
		{"set", dtbase.RoleAdmin, map[string]any{"name": "th", "retention_days": 30}, 200, "Retention set"},
		{"for ever", dtbase.RoleAdmin, map[string]any{"name": "co2", "retention_days": 0}, 200, "Retention set"},
		{"editor", dtbase.RoleEditor, map[string]any{"name": "th", "retention_days": 1}, 403, ""},
		{"unknown type", dtbase.RoleAdmin, map[string]any{"name": "nope", "retention_days": 1}, 400, "nope"},
		{"negative", dtbase.RoleAdmin, map[string]any{"name": "th", "retention_days": -1}, 422, "retention_days"},
		{"too long", dtbase.RoleAdmin, map[string]any{"name": "th", "retention_days": dtbase.MaxRetentionDays + 1}, 422, "retention_days"},
		{"missing key", dtbase.RoleAdmin, map[string]any{"name": "th"}, 422, "retention_days"},
		{"not a number", dtbase.RoleAdmin, map[string]any{"name": "th", "retention_days": "soon"}, 422, "retention_days"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/sensor/update-sensor-type-retention", c.body, e.as(c.role))
			if c.text == "" {
				if r.Status != c.status {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				return
			}
			wantAnswer(t, r, c.status, c.text)
		})
	}
	jsonEq(t, e.get("/sensor/list-sensor-type-retentions").Body, `[{"name":"co2","retention_days":0},{"name":"th","retention_days":30}]`)
	// null returns the type to the server's default.
	e.must(200, "/sensor/update-sensor-type-retention", map[string]any{"name": "co2", "retention_days": nil})
	jsonEq(t, e.get("/sensor/list-sensor-type-retentions").Body, `[{"name":"th","retention_days":30}]`)
}
