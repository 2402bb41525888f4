package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/google/go-cmp/cmp"
)

// TestPlotsEqualSeries: /ui/api/plots answers, for each pair in one
// request, what /ui/api/series answers for it alone, derived measures
// included.
func TestPlotsEqualSeries(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	d := e.defineVPD(t)
	ids := map[string]string{"vpd": strconv.FormatInt(-d.ID, 10)}
	types, err := e.db.ListSensorTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range types {
		for _, m := range st.Measures {
			ids[m.Name] = strconv.FormatInt(m.ID, 10)
		}
	}
	b := e.signIn("viewer@example.com")
	end := e.clock().Truncate(10 * time.Minute)
	rng := url.Values{"from": {dtbase.FormatTime(end.Add(-2 * 24 * time.Hour))}, "to": {dtbase.FormatTime(end)}, "points": {"50"}}
	pairs := [][2]string{{"sensor-a", "temperature"}, {"sensor-b", "humidity"}, {"sensor-a", "vpd"}, {"sensor-g", "co2"}, {"sensor-c", "temperature"}}

	q := url.Values{}
	var want []*seriesAnswer
	for _, p := range pairs {
		one := url.Values{"sensor": {p[0]}, "measure": {ids[p[1]]}}
		for k, v := range rng {
			one[k] = v
		}
		res := b.get("/ui/api/series?" + one.Encode())
		var a seriesAnswer
		if err := json.Unmarshal([]byte(res.Body), &a); res.Status != http.StatusOK || err != nil {
			t.Fatalf("series %v: %d %s", p, res.Status, res.Body)
		}
		if a.Stats.Count == 0 || a.Sensor != p[0] || a.Measure != p[1] {
			t.Fatalf("series %v: %s %s with %d readings", p, a.Sensor, a.Measure, a.Stats.Count)
		}
		want = append(want, &a)
		q.Add("sensor", p[0])
		q.Add("measure", ids[p[1]])
	}
	for k, v := range rng {
		q[k] = v
	}
	res := b.get("/ui/api/plots?" + q.Encode())
	var got struct {
		Series []*seriesAnswer `json:"series"`
	}
	if err := json.Unmarshal([]byte(res.Body), &got); res.Status != http.StatusOK || err != nil {
		t.Fatalf("plots: %d %s", res.Status, res.Body)
	}
	if diff := cmp.Diff(want, got.Series); diff != "" {
		t.Errorf("plots differ from the series one by one (-want +got):\n%s", diff)
	}

	for _, bad := range []string{
		"/ui/api/plots?sensor=sensor-a&" + rng.Encode(),
		"/ui/api/plots?" + rng.Encode(),
		"/ui/api/plots?sensor=sensor-a&measure=" + ids["temperature"] + "&sensor=sensor-g&measure=" + ids["status"] + "&" + rng.Encode(),
		"/ui/api/plots?sensor=sensor-a&measure=" + ids["temperature"] + "&from=yesterday&to=2024-01-02",
		"/ui/api/plots?" + strings.Repeat("sensor=sensor-a&measure="+ids["temperature"]+"&", maxPlotSeries+1) + rng.Encode(),
	} {
		if res := b.get(bad); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, `"detail"`) {
			t.Errorf("%s: %d %s, want 400 with a detail", bad, res.Status, res.Body)
		}
	}
}
