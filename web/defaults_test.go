package web

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

var (
	fromPattern   = regexp.MustCompile(`id="from" name="from" type="datetime-local" value="([^"]*)"`)
	chartsPattern = regexp.MustCompile(`data-charts="([^"]*)"`)
	checkedSensor = regexp.MustCompile(`name="sensor" value="([^"]*)" checked`)
)

// chartsOf decodes the charts island's configuration on a page.
func chartsOf(t *testing.T, body string, into any) {
	t.Helper()
	m := chartsPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no chart on the page")
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), into); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultRanges: plots open on the last day of data, or on all of it
// when there is less; a sensor type change drops the other type's choice.
func TestDefaultRanges(t *testing.T) {
	e := newSeededEnv(t) // a week of data ending at the clock, rounded down to 10 minutes
	end := e.clock().Truncate(10 * time.Minute)
	// A sensor with only six hours of readings.
	e.createSensor(dtbase.Sensor{UniqueIdentifier: "Short-1", TypeName: "Aranet T&RH"})
	var ts []time.Time
	var vs []dtbase.Value
	for k := 36; k >= 0; k-- {
		ts = append(ts, end.Add(-time.Duration(k)*10*time.Minute))
		vs = append(vs, dtbase.FloatValue(20))
	}
	e.insert(dtbase.ReadingSeries{UniqueIdentifier: "Short-1", MeasureName: "temperature", Values: vs, Timestamps: ts})
	b := e.signIn("viewer@example.com")
	dayEnd := end.Add(time.Minute)
	for _, c := range []struct{ path, wantFrom string }{
		{"/explorer?type=Aranet+T%26RH&sensor=sensor-a", dayEnd.Add(-24 * time.Hour).Format("2006-01-02T15:04")},
		{"/explorer?type=Aranet+T%26RH&sensor=Short-1", ts[0].Format("2006-01-02T15:04")},
	} {
		res := b.get(c.path)
		m := fromPattern.FindStringSubmatch(res.Body)
		if res.Status != http.StatusOK || m == nil || m[1] != c.wantFrom {
			t.Errorf("%s: status %d, from %v, want %s", c.path, res.Status, m, c.wantFrom)
		}
	}
	for _, c := range []struct{ id, wantFrom string }{
		{"sensor-a", dtbase.FormatTime(dayEnd.Add(-24 * time.Hour))},
		{"Short-1", dtbase.FormatTime(ts[0])},
	} {
		var cfg chartConfig
		chartsOf(t, b.get("/sensors/view?id="+c.id).Body, &cfg)
		if cfg.From != c.wantFrom || cfg.To != dtbase.FormatTime(dayEnd) {
			t.Errorf("sensor %s plots %s to %s, want %s to %s", c.id, cfg.From, cfg.To, c.wantFrom, dtbase.FormatTime(dayEnd))
		}
	}

	// Switching to the CO2 type with a T&RH sensor chosen shows the CO2
	// sensors instead of nothing.
	res := b.get("/explorer?type=Aranet+CO2&sensor=sensor-a&measure=1")
	var got []string
	for _, m := range checkedSensor.FindAllStringSubmatch(res.Body, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != "sensor-g,sensor-h" || !strings.Contains(res.Body, "data-charts=") {
		t.Errorf("after a type change, checked sensors %v; chart shown: %v", got, strings.Contains(res.Body, "data-charts="))
	}
	// The picker names sensors and keeps the case of their ids.
	if res := b.get("/explorer?type=Aranet+T%26RH"); !strings.Contains(res.Body, `<span class="id">Short-1</span>`) {
		t.Error("the sensor picker lacks the id Short-1")
	}
}

// TestRunPageHistory: a forecast's page draws the observations before the
// forecast starts, over twice its span.
func TestRunPageHistory(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("viewer@example.com")
	var plot runPlot
	chartsOf(t, b.get("/models/run?id="+firstRunID(t, e)).Body, &plot)
	var obs, mean *runSeries
	for i := range plot.Series {
		switch plot.Series[i].Kind {
		case "observed":
			obs = &plot.Series[i]
		case "mean":
			mean = &plot.Series[i]
		}
	}
	if obs == nil || mean == nil || len(mean.T) != 24 {
		t.Fatalf("series %+v", plot.Series)
	}
	start, span := mean.T[0], mean.T[len(mean.T)-1]-mean.T[0]
	if obs.T[0] > start-2*span+600 || obs.T[0] < start-2*span-600 {
		t.Errorf("observations start %.0f s before the forecast, want %.0f", start-obs.T[0], 2*span)
	}
	if last := obs.T[len(obs.T)-1]; last < mean.T[len(mean.T)-1] {
		t.Errorf("observations end %.0f s before the forecast's end", mean.T[len(mean.T)-1]-last)
	}
}

// TestBadRangeMessage: a from or to the explorer or the readings page
// cannot read is named in words, without the error's code, and the page
// keeps its default for it.
func TestBadRangeMessage(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("viewer@example.com")
	want := `<div class="flash flash-error" role="alert">` + html.EscapeString(`"soon" is not a date and time.`) + `</div>`
	for _, p := range []string{
		"/explorer?type=Aranet+T%26RH&sensor=sensor-a&from=soon",
		"/explorer?type=Aranet+T%26RH&sensor=sensor-a&to=soon",
		"/readings?sensor=sensor-a&from=soon",
		"/readings?sensor=sensor-a&to=soon",
	} {
		if res := b.get(p); res.Status != http.StatusOK || !strings.Contains(res.Body, want) {
			t.Errorf("%s: %d, no %s", p, res.Status, want)
		}
	}
}
