package web

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
)

// seedDemo loads the CROP farm demo, forecasts one sensor's temperature
// from 12 hours before its last reading (as `dtbase demo` does) and adds
// the echo service with runs.
func (e *testEnv) seedDemo() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	sum, err := demo.Load(ctx, e.db, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	sensors, err := e.db.FindSensors(ctx, dtbase.SensorFilter{TypeName: ptr(demo.TypeTRH)})
	if err != nil || len(sensors) == 0 {
		t.Fatalf("demo sensors: %v", err)
	}
	p := dtbase.DefaultForecastParams()
	p.Sensors = []string{sensors[0].UniqueIdentifier}
	p.Measures = []dtbase.ForecastMeasure{{Name: demo.MeasureTemp}}
	p.Model.Settings = map[string]any{"order": []int{1, 0, 1}, "seasonal_order": []int{0, 1, 1, 24}}
	p.TrainingDays = 3
	p.PredictFrom = sum.To.Add(-12 * time.Hour)
	forecasts := &forecast.Service{Store: e.db, Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}}
	if _, err := forecasts.RunForecasts(ctx, p); err != nil {
		t.Fatalf("demo forecast: %v", err)
	}
	e.seedService(sum.To)
}

var (
	linkPattern    = regexp.MustCompile(`\shref="([^"]*)"`)
	formPattern    = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	attrPattern    = regexp.MustCompile(`\b(action|method|name|value|type)="([^"]*)"`)
	inputPattern   = regexp.MustCompile(`<input\b[^>]*>`)
	selectPattern  = regexp.MustCompile(`(?s)<select\b([^>]*)>(.*?)</select>`)
	optionPattern  = regexp.MustCompile(`<option\b([^>]*)>`)
	pointerPattern = regexp.MustCompile(`0x[0-9a-f]+`)
)

func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrPattern.FindAllStringSubmatch(tag, -1) {
		if _, ok := out[m[1]]; !ok {
			out[m[1]] = html.UnescapeString(m[2])
		}
	}
	return out
}

// pageTargets returns the internal links of a page and the URLs its GET
// forms submit with their default values.
func pageTargets(body string) []string {
	var out []string
	for _, m := range linkPattern.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	for _, f := range formPattern.FindAllStringSubmatch(body, -1) {
		fa := attrs(f[1])
		if !strings.EqualFold(fa["method"], "get") && fa["method"] != "" {
			continue
		}
		q := url.Values{}
		for _, in := range inputPattern.FindAllString(f[2], -1) {
			a := attrs(in)
			if a["name"] == "" || a["type"] == "submit" || (a["type"] == "checkbox" || a["type"] == "radio") && !strings.Contains(in, " checked") {
				continue
			}
			q.Add(a["name"], a["value"])
		}
		for _, sel := range selectPattern.FindAllStringSubmatch(f[2], -1) {
			name := attrs(sel[1])["name"]
			opts := optionPattern.FindAllStringSubmatch(sel[2], -1)
			for i, o := range opts {
				if strings.Contains(o[1], " selected") || i == 0 && !strings.Contains(sel[2], " selected") {
					q.Add(name, attrs(o[1])["value"])
				}
			}
		}
		out = append(out, fa["action"]+"?"+q.Encode())
	}
	return out
}

// TestCrawlDemo signs in on the demo and follows every internal link and
// GET form of every page two levels deep from the dashboard: every target
// answers below 400 and no URL holds a Go pointer.
func TestCrawlDemo(t *testing.T) {
	e := newEnv(t)
	e.seedDemo()
	b := e.signIn("admin@example.com")

	type item struct {
		path, from string
		depth      int
	}
	seen := map[string]bool{"/": true}
	queue := []item{{path: "/"}}
	pages := 0
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if pointerPattern.MatchString(it.path) {
			t.Errorf("%s links to %s, a Go pointer", it.from, it.path)
			continue
		}
		res := b.get(it.path)
		pages++
		if res.Status >= 400 {
			t.Errorf("%s (linked from %s): status %d", it.path, it.from, res.Status)
			continue
		}
		var targets []string
		switch {
		case res.Status >= 300:
			targets = []string{res.Location}
		case it.depth < 2 && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"):
			targets = pageTargets(res.Body)
		}
		for _, target := range targets {
			u, err := url.Parse(target)
			if err != nil {
				t.Errorf("%s links to %q: %v", it.path, target, err)
				continue
			}
			if u.Host != "" || u.Scheme != "" || u.Path == "" || u.Path == "/logout" {
				continue // external, same page or signing out
			}
			u.Fragment = ""
			next := u.String()
			if !seen[next] {
				seen[next] = true
				depth := it.depth + 1
				if res.Status >= 300 {
					depth = it.depth
				}
				queue = append(queue, item{path: next, from: it.path, depth: depth})
			}
		}
	}
	t.Logf("%d URLs fetched", pages)
	if pages < 100 {
		t.Errorf("only %d URLs reached; the crawl lost its way", pages)
	}
}

func TestBuildQuery(t *testing.T) {
	s, empty := "a b", ""
	n := int64(7)
	var nilStr *string
	for _, c := range []struct {
		kv   []any
		want string
	}{
		{[]any{"id", &s}, "?id=a+b"},
		{[]any{"id", &n}, "?id=7"},
		{[]any{"id", nilStr, "x", &empty}, ""},
		{[]any{"id", "c4:93", "m", []string{"1", "2"}}, "?id=c4%3A93&m=1&m=2"},
		{[]any{"n", 3, "z", nil}, "?n=3"},
	} {
		if got := buildQuery(c.kv...); got != c.want {
			t.Errorf("buildQuery(%v) = %q, want %q", c.kv, got, c.want)
		}
	}
}
