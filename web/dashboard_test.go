package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

var (
	dashSensor = regexp.MustCompile(`<a href="/sensors/view\?id=([^"]+)">`)
	dashGroup  = regexp.MustCompile(`<th scope="colgroup" colspan="6">([^<]*)</th>`)
)

// TestDashboard: the dashboard groups, filters and pages sensors, and marks
// stale series however many there are.
func TestDashboard(t *testing.T) {
	e := newSeededEnv(t) // sensor-a…f (T&RH) and sensor-g, sensor-h (CO2), live
	end := e.clock().Truncate(10 * time.Minute)
	// Old-1 stopped two days ago; 30 sensors have no readings.
	e.createSensor(dtbase.Sensor{UniqueIdentifier: "Old-1", TypeName: "Aranet T&RH", Name: ptr("Old bench")})
	var ts []time.Time
	var vs []dtbase.Value
	for k := 0; k < 20; k++ {
		ts = append(ts, end.Add(-48*time.Hour-time.Duration(k)*10*time.Minute))
		vs = append(vs, dtbase.FloatValue(1))
	}
	e.insert(dtbase.ReadingSeries{UniqueIdentifier: "Old-1", MeasureName: "temperature", Values: vs, Timestamps: ts})
	for i := range 30 {
		e.createSensor(dtbase.Sensor{UniqueIdentifier: fmt.Sprintf("Empty-%02d", i), TypeName: "Aranet CO2"})
	}
	b := e.signIn("viewer@example.com")
	sensorsOn := func(p page) []string {
		var out []string
		for _, m := range dashSensor.FindAllStringSubmatch(p.Body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	groupsOn := func(p page) []string {
		var out []string
		for _, m := range dashGroup.FindAllStringSubmatch(p.Body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, c := range []struct {
		path        string
		wantSensors string
		wantGroups  string
		wantText    string
	}{
		{"/", "Empty-00,Empty-01,Empty-02,Empty-03,Empty-04,Empty-05,Empty-06,Empty-07,Empty-08,Empty-09,Empty-10,Empty-11,Empty-12,Empty-13,Empty-14,Empty-15,Empty-16,Empty-17,Empty-18,Empty-19",
			"Aranet CO2", "Page 1 of 2 · 39 sensors"},
		{"/?page=2", "Empty-20,Empty-21,Empty-22,Empty-23,Empty-24,Empty-25,Empty-26,Empty-27,Empty-28,Empty-29,sensor-g,sensor-h,Old-1,sensor-a,sensor-b,sensor-c,sensor-d,sensor-e,sensor-f",
			"Aranet CO2,Aranet T&amp;RH", "Page 2 of 2"},
		{"/?stale=1", "Old-1", "Aranet T&amp;RH", "1 sensors"},
		{"/?type=Aranet+T%26RH&q=SENSOR-", "sensor-a,sensor-b,sensor-c,sensor-d,sensor-e,sensor-f", "Aranet T&amp;RH", ">sensor-a</a>"},
		{"/?group=location&q=bench", "Old-1", "Not placed", "Old bench"},
		{"/?group=location&q=sensor-c", "sensor-c", "farm-xyz: x 2", ""},
		{"/?group=none&q=nobody", "", "", "No sensor matches the filter."},
	} {
		res := b.get(c.path)
		if res.Status != http.StatusOK {
			t.Errorf("%s: status %d", c.path, res.Status)
			continue
		}
		if got := strings.Join(sensorsOn(res), ","); got != c.wantSensors {
			t.Errorf("%s lists %s\nwant %s", c.path, got, c.wantSensors)
		}
		if got := strings.Join(groupsOn(res), ","); got != c.wantGroups {
			t.Errorf("%s groups %s, want %s", c.path, got, c.wantGroups)
		}
		if !strings.Contains(res.Body, c.wantText) {
			t.Errorf("%s lacks %q", c.path, c.wantText)
		}
	}
	if res := b.get("/"); !strings.Contains(res.Body, `<span class="n">1</span>stale series of 17`) {
		i := strings.Index(res.Body, "stale series")
		t.Errorf("the stale card does not count one stale series of 17: %s", res.Body[max(0, i-60):i+30])
	}
	// Staleness follows the clock from cached intervals: two hours on,
	// every series is stale.
	e.advance(2 * time.Hour)
	b = e.browser()
	b.login("viewer@example.com")
	if res := b.get("/?stale=1&group=none"); !strings.Contains(res.Body, "9 sensors") {
		i := strings.Index(res.Body, "sensors</")
		t.Errorf("two hours later, not every sensor with readings is stale: %s", res.Body[max(0, i-60):i+30])
	}
}

// TestDashboardFilterURL: the dashboard's links keep the view in the URL,
// leaving out what is the default.
func TestDashboardFilterURL(t *testing.T) {
	for _, c := range []struct {
		f    dashboardFilter
		page int
		want string
	}{
		{dashboardFilter{Group: "type"}, 1, "/"},
		{dashboardFilter{Group: "type"}, 2, "/?page=2"},
		{dashboardFilter{Group: "none", Stale: true}, 1, "/?group=none&stale=1"},
		{dashboardFilter{Group: "location", Type: "Aranet T&RH", Q: "north bench"}, 3, "/?group=location&page=3&q=north+bench&type=Aranet+T%26RH"},
	} {
		if got := c.f.url(c.page); got != c.want {
			t.Errorf("%+v page %d: %q, want %q", c.f, c.page, got, c.want)
		}
	}
}
