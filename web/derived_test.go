package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
)

// TestDerivedMeasurePages: a derived measure is offered by the explorer for
// the type it applies to, plots, downloads, and shows among the latest
// values of the sensor page and the dashboard.
func TestDerivedMeasurePages(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	d := e.defineVPD(t)
	id := strconv.FormatInt(-d.ID, 10)
	b := e.signIn("viewer@example.com")

	// Offered, not computed until picked.
	p := b.get("/explorer?type=" + url.QueryEscape("Aranet T&RH"))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="`+id+`"> vpd (kPa)`) || strings.Contains(p.Body, `&#34;measure&#34;:`+id) {
		t.Fatalf("explorer: %d, no vpd (id %s) to pick, or plotted unpicked:\n%s", p.Status, id, p.Body)
	}
	p = b.get("/explorer?type=" + url.QueryEscape("Aranet T&RH") + "&measure=" + id)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="`+id+`" checked> vpd (kPa)`) || !strings.Contains(p.Body, `&#34;measure&#34;:`+id) {
		t.Fatalf("explorer with vpd picked: %d, not plotted:\n%s", p.Status, p.Body)
	}
	if p := b.get("/explorer?type=" + url.QueryEscape("Aranet CO2")); strings.Contains(p.Body, "vpd") {
		t.Errorf("the CO2 type, without temperature and humidity, offers vpd")
	}

	end := e.clock().Truncate(10 * time.Minute)
	rng := "&from=" + url.QueryEscape(dtbase.FormatTime(end.Add(-time.Hour))) + "&to=" + url.QueryEscape(dtbase.FormatTime(end))
	p = b.get("/ui/api/series?sensor=sensor-a&measure=" + id + rng)
	var ans seriesAnswer
	if err := json.Unmarshal([]byte(p.Body), &ans); p.Status != http.StatusOK || err != nil || ans.Measure != "vpd" || ans.Units != *d.Units || len(ans.V) != 7 {
		t.Fatalf("series: %d %s, want 7 vpd points", p.Status, p.Body)
	}
	m, err := derive.Find(ctx, e.db, "vpd")
	if err != nil {
		t.Fatal(err)
	}
	latest, ok, err := derive.Latest(ctx, e.db, m, "sensor-a", end)
	if err != nil || !ok || ans.V[6] != latest.Value.F {
		t.Fatalf("last plotted vpd %v, derive.Latest %v %v %v", ans.V[6], latest, ok, err)
	}
	p = b.get("/ui/api/readings.csv?sensor=sensor-a&measure=" + id + rng)
	if p.Status != http.StatusOK || strings.Count(p.Body, ",vpd,") != 7 {
		t.Errorf("csv: %d\n%s", p.Status, p.Body)
	}

	want := formatValue(latest.Value)
	for _, path := range []string{"/sensors/view?id=sensor-a", "/"} {
		p := b.get(path)
		i := strings.Index(p.Body, ">vpd<")
		if p.Status != http.StatusOK || i < 0 || !strings.Contains(p.Body[i:], want) {
			t.Errorf("%s: %d, no latest vpd %s", path, p.Status, want)
		}
	}
}

// defineVPD defines the vapour-pressure deficit of the seeded T&RH sensors
// as a derived measure.
func (e *testEnv) defineVPD(t *testing.T) *dtbase.DerivedMeasure {
	t.Helper()
	kpa := "kPa"
	d := &dtbase.DerivedMeasure{Name: "vpd", Units: &kpa, Expression: "vpd(temperature, humidity)", SensorType: strPtr("Aranet T&RH")}
	if err := derive.Define(context.Background(), e.db, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDerivedRunPage: the page of a forecast of a derived measure draws the
// derived series it predicts, before and during the forecast, and scores
// the forecast against it.
func TestDerivedRunPage(t *testing.T) {
	e := newSeededEnv(t)
	e.defineVPD(t)
	end := e.clock().Truncate(10 * time.Minute)
	var ts []time.Time
	var mean []dtbase.Value
	for k := range 24 {
		ts = append(ts, end.Add(-24*time.Hour+time.Duration(k)*time.Hour))
		mean = append(mean, dtbase.FloatValue(0.9))
	}
	uid, kpa := "sensor-a", "kPa"
	run := &dtbase.NewModelRun{ModelName: "arima", ScenarioDescription: "default", CreateModel: true, CreateScenario: true, CreateMeasures: true,
		SensorUniqueID: &uid, SensorMeasure: &dtbase.ModelSensorMeasure{Name: "vpd"},
		Series: []dtbase.NewModelSeries{{MeasureName: "Mean vpd", MeasureUnits: &kpa, Datatype: dtbase.Float, Values: mean, Timestamps: ts}}}
	if err := derive.WithDerived(e.db).CreateModelRuns(context.Background(), []*dtbase.NewModelRun{run}); err != nil {
		t.Fatal(err)
	}
	page := e.signIn("viewer@example.com").get("/models/run?id=" + strconv.FormatInt(run.ID, 10)).Body
	var plot runPlot
	chartsOf(t, page, &plot)
	var observed *runSeries
	for i := range plot.Series {
		if plot.Series[i].Kind == "observed" {
			observed = &plot.Series[i]
		}
	}
	if observed == nil || !strings.Contains(observed.Label, "vpd") || observed.T[0] >= float64(ts[0].Unix()) || observed.T[len(observed.T)-1] < float64(ts[23].Unix()) {
		t.Fatalf("the page draws no vpd before and through the forecast: %+v", plot.Series)
	}
	if !strings.Contains(page, "Coverage") || !regexp.MustCompile(`<td>Mean vpd</td><td class="num hide-sm">24</td>`).MatchString(page) {
		t.Errorf("the page scores no forecast hour against the derived vpd:\n%s", page)
	}
}
