package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// sendCSV posts a CSV file to an island endpoint with token as its CSRF
// header (none when token is empty).
func (b *browser) sendCSV(path, body, token string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	return b.do(req)
}

// TestUpload: a CSV file is checked without writing, then stored all or
// nothing; a sensor's page may send columns named after measures alone.
func TestUpload(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	e.createSensor(dtbase.Sensor{UniqueIdentifier: "New-1", TypeName: "Aranet T&RH"})
	b := e.signIn("editor@example.com")
	token := b.token
	count := func() int64 {
		t.Helper()
		var n int64
		err := e.db.ScanReadings(ctx, mustMeasure(t, e, "New-1", "temperature"), time.Unix(0, 0), time.Now().Add(time.Hour), func(dtbase.Reading) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	wide := "timestamp,temperature,humidity\n2025-01-01T00:00:00Z,20.5,40\n2025-01-01T00:10:00Z,21,\n"
	long := "unique_identifier,measure_name,timestamp,value\nNew-1,temperature,2025-01-02T00:00:00Z,19\nNew-1,temperature,2025-01-02T00:10:00Z,oops\n"
	for _, c := range []struct {
		name, path, body, token string
		status                  int
		want                    []string
	}{
		{"check of a sensor's file", "/ui/api/readings/check?sensor=New-1", wide, token, 200,
			[]string{`"layout":"wide"`, `"role":"reading","sensor":"New-1","measure":"temperature","units":"°C","datatype":"float"`, `"readings":3`,
				`{"sensor":"New-1","measure":"humidity","units":"%","count":1,"from":"2025-01-01T00:00:00Z","to":"2025-01-01T00:00:00Z"}`, `"lines":["timestamp,temperature,humidity"`}},
		{"a bad row names its line", "/ui/api/readings/check", long, token, 400, []string{`"detail":"line 3: New-1:temperature (float): `}},
		{"a bad file stores nothing", "/ui/api/readings/upload", long, token, 400, []string{`line 3`}},
		{"measure-only columns need the sensor", "/ui/api/readings/check", wide, token, 400, []string{`line 1: column 2 is named \"temperature\"`}},
		{"no CSRF token", "/ui/api/readings/upload?sensor=New-1", wide, "", 403, []string{"expired"}},
		{"upload", "/ui/api/readings/upload?sensor=New-1", wide, token, 200, []string{`{"rows":3,"inserted":3,"duplicates":0}`}},
		{"upload again", "/ui/api/readings/upload?sensor=New-1", wide, token, 200, []string{`{"rows":3,"inserted":0,"duplicates":3}`}},
	} {
		res := b.sendCSV(c.path, c.body, c.token)
		if res.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, res.Status, c.status, res.Body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(res.Body, w) {
				t.Errorf("%s: answer lacks %s:\n%s", c.name, w, res.Body)
			}
		}
		if res.Status != 200 && !json.Valid([]byte(res.Body)) {
			t.Errorf("%s: error is not JSON: %s", c.name, res.Body)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("%d temperature readings stored, want 2", n)
	}

	// A viewer may not upload, and sees no upload form.
	v := e.signIn("viewer@example.com")
	if res := v.sendCSV("/ui/api/readings/upload?sensor=New-1", wide, v.token); res.Status != http.StatusForbidden {
		t.Errorf("viewer upload: %d", res.Status)
	}
	if res := v.get("/readings/upload"); res.Status != http.StatusForbidden {
		t.Errorf("viewer upload page: %d", res.Status)
	}
	if res := b.get("/readings/upload"); res.Status != 200 || !strings.Contains(res.Body, `data-upload=""`) {
		t.Errorf("upload page: %d", res.Status)
	}
	// An empty sensor's page says how else data gets in.
	e.createSensor(dtbase.Sensor{UniqueIdentifier: "Empty-1", TypeName: "Aranet T&RH"})
	res := v.get("/sensors/view?id=Empty-1")
	for _, w := range []string{"/sensor/insert-sensor-readings", "dtbase import readings --url " + e.srv.URL, "Empty-1,temperature,", "mosquitto_pub", "dtbase/Empty-1/temperature"} {
		if !strings.Contains(res.Body, w) {
			t.Errorf("empty sensor page lacks %q", w)
		}
	}
	if strings.Contains(res.Body, "data-upload") {
		t.Error("a viewer sees the upload form")
	}
}

func mustMeasure(t *testing.T, e *testEnv, uid, name string) dtbase.ReadingMeasure {
	t.Helper()
	rm, err := e.db.FindReadingMeasure(context.Background(), uid, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rm
}
