package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// uploadModel posts a file to the site page's upload form.
func (b *browser) uploadModel(schema string, data []byte) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.token)
	mw.WriteField("schema", schema)
	fw, _ := mw.CreateFormFile("model", "site.glb")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+"/site/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Referer", b.e.srv.URL+siteURL(schema))
	return b.do(req)
}

func TestSitePage(t *testing.T) {
	e := newSeededEnv(t)
	e.user("ed@example.com", dtbase.RoleEditor)
	b := e.signIn("ed@example.com")
	ctx := context.Background()

	p := b.get("/site?schema=farm-xyz")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "js/site.js") || !strings.Contains(p.Body, `id="site-table"`) ||
		!strings.Contains(p.Body, "sensor-a") || strings.Contains(p.Body, "js/site3d.js\"></script>") {
		t.Fatalf("site page: %d\n%s", p.Status, p.Body)
	}

	var st siteState
	res := b.get("/ui/api/site?schema=farm-xyz")
	if err := json.Unmarshal([]byte(res.Body), &st); err != nil {
		t.Fatalf("state: %v: %s", err, res.Body)
	}
	if len(st.Sensors) != 8 || len(st.Locations) != 8 || st.Placement.X != "x" || st.Alerts == nil {
		t.Fatalf("state: %d sensors, %d locations, placement %+v", len(st.Sensors), len(st.Locations), st.Placement)
	}
	if _, ok := st.Sensors[0].Latest["temperature (°C)"]; !ok {
		t.Fatalf("latest of sensor-a: %+v", st.Sensors[0].Latest)
	}

	// A firing alert on a placed sensor is listed for the view to highlight.
	sensorA, cold := "sensor-a", -1000.0
	if err := e.db.CreateAlertRule(ctx, &dtbase.AlertRule{Name: "always", Target: dtbase.AlertTarget{Sensor: &sensorA},
		Measure: "temperature", Condition: dtbase.AlertCondition{Kind: "threshold", Op: "above", Value: &cold},
		Severity: "warning", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.insert(dtbase.ReadingSeries{UniqueIdentifier: sensorA, MeasureName: "temperature",
		Timestamps: []time.Time{e.clock().Add(time.Minute)}, Values: []dtbase.Value{dtbase.FloatValue(21)}})
	st = siteState{}
	if err := json.Unmarshal([]byte(b.get("/ui/api/site?schema=farm-xyz").Body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Alerts) != 1 || st.Alerts[0].Sensor != sensorA || st.Alerts[0].Name != "always" {
		t.Fatalf("site alerts: %+v", st.Alerts)
	}

	end := e.clock()
	q := url.Values{"schema": {"farm-xyz"}, "measure": {"temperature"}, "units": {"°C"}, "points": {"50"},
		"from": {end.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {end.Format(time.RFC3339)}}
	var rep siteReplay
	res = b.get("/ui/api/site-replay?" + q.Encode())
	if err := json.Unmarshal([]byte(res.Body), &rep); err != nil {
		t.Fatalf("replay: %v: %s", err, res.Body)
	}
	if len(rep.Series) != 6 { // the CO2 sensors have no temperature
		t.Fatalf("replay has %d series, want 6", len(rep.Series))
	}
	for _, s := range rep.Series {
		if len(s.T) == 0 || len(s.T) > 50 || len(s.T) != len(s.V) {
			t.Fatalf("series %s: %d times, %d values", s.Sensor, len(s.T), len(s.V))
		}
	}

	// Uploads: a bad file leaves nothing; a good one is stored and served.
	bad := b.uploadModel("farm-xyz", []byte("solid cube"))
	if bad.Status != http.StatusSeeOther {
		t.Fatalf("bad upload: %d", bad.Status)
	}
	if _, err := e.db.FindSiteModel(ctx, "farm-xyz", false); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("a bad upload stored a model: %v", err)
	}
	if flash := b.get(siteURL("farm-xyz")); !strings.Contains(flash.Body, "neither a binary glTF") {
		t.Fatalf("no error shown after a bad upload")
	}
	glb := dtbase.EncodeGLB([]byte(`{"asset":{"version":"2.0"}}`), nil)
	if ok := b.uploadModel("farm-xyz", glb); ok.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d", ok.Status)
	}
	if flash := b.get(siteURL("farm-xyz")); !strings.Contains(flash.Body, "stored as version 1") || !strings.Contains(flash.Body, "/ui/api/site-model?") {
		t.Fatalf("upload not confirmed:\n%s", flash.Body)
	}
	file := b.get("/ui/api/site-model?schema=farm-xyz")
	if file.Status != 200 || file.Body != string(glb) || file.Header.Get("ETag") == "" {
		t.Fatalf("model file: %d %v", file.Status, file.Header)
	}

	// Placement, and placing a location as a click on the model would.
	res = b.submit("/site/placement", url.Values{"schema": {"farm-xyz"}, "x": {"x"}, "y": {"y"}, "z": {"z"}, "unit": {"cm"},
		"offset_x": {"1"}, "rotation": {"90"}, "scale": {""}}, siteURL("farm-xyz"))
	if p, err := e.db.FindSitePlacement(ctx, "farm-xyz"); res.Status != http.StatusSeeOther || err != nil || p.Unit != "cm" || p.Offset[0] != 1 || p.Scale != 1 {
		t.Fatalf("placement: %d %+v %v", res.Status, p, err)
	}
	locs, _ := e.db.FindLocations(ctx, "farm-xyz", nil)
	res = b.submit("/site/place", url.Values{"schema": {"farm-xyz"}, "location": {strconv.FormatInt(locs[0].ID, 10)},
		"id_x": {"12.5"}, "id_y": {"3"}, "id_z": {"0.5"}}, siteURL("farm-xyz"))
	after, _ := e.db.FindLocations(ctx, "farm-xyz", dtbase.Coordinates{"x": dtbase.FloatValue(12.5)})
	if res.Status != http.StatusSeeOther || res.Location != siteURL("farm-xyz") || len(after) != 1 {
		t.Fatalf("place: %d %s, %d locations at x=12.5", res.Status, res.Location, len(after))
	}
}
