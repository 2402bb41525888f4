package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

func TestTreeQualityAndMapPages(t *testing.T) {
	e := newSeededEnv(t) // farm-xyz locations with sensor-a … sensor-h, a week of 10-minute readings
	ctx := context.Background()
	if err := e.db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "site", Identifiers: []dtbase.Identifier{
		{Name: "name", Datatype: dtbase.String}, {Name: "lat", Datatype: dtbase.Float}, {Name: "lon", Datatype: dtbase.Float}}}); err != nil {
		t.Fatal(err)
	}
	farm, err := e.db.CreateLocation(ctx, "site", dtbase.Coordinates{"name": dtbase.StringValue("North farm"), "lat": dtbase.FloatValue(51.5), "lon": dtbase.FloatValue(-0.1)})
	if err != nil {
		t.Fatal(err)
	}
	grid, _ := e.db.FindLocations(ctx, "farm-xyz", nil)
	for _, l := range grid[:4] {
		if err := e.db.SetLocationParent(ctx, l.ID, &farm.ID); err != nil {
			t.Fatal(err)
		}
	}
	// sensor-d stops reporting two hours before now: it is stale.
	e.advance(2 * time.Hour)

	b := e.signIn("editor@example.com")
	tree := b.get("/tree")
	if tree.Status != 200 || !strings.Contains(tree.Body, "North farm") || !strings.Contains(tree.Body, ">4 sensors<") {
		t.Fatalf("tree page %d:\n%s", tree.Status, tree.Body)
	}
	if !strings.Contains(tree.Body, ">4 stale<") {
		t.Errorf("the farm's four sensors are two hours silent: want 4 stale rolled up")
	}
	// Moving the farm under one of its own shelves is refused with the reason.
	res := b.submit("/tree/move", url.Values{"location": {strconv.FormatInt(farm.ID, 10)}, "parent": {strconv.FormatInt(grid[0].ID, 10)}}, "/tree")
	if res.Status != http.StatusSeeOther {
		t.Fatalf("move: %d", res.Status)
	}
	if body := b.get("/tree").Body; !strings.Contains(body, "would make a cycle") {
		t.Errorf("no cycle message after a refused move")
	}
	b.submit("/tree/move", url.Values{"location": {strconv.FormatInt(grid[0].ID, 10)}, "parent": {""}}, "/tree")
	if sub, _ := e.db.LocationSubtree(ctx, farm.ID); len(sub) != 4 {
		t.Errorf("after moving a shelf to the root the farm has %v", sub)
	}

	q := b.get("/quality?days=3&location=" + strconv.FormatInt(farm.ID, 10))
	if q.Status != 200 || strings.Count(q.Body, `class="q-sensor"`) != 6 || !strings.Contains(q.Body, "cov-full") || !strings.Contains(q.Body, "cov-none") {
		t.Errorf("quality page %d: want 6 series (3 T&RH sensors × 2) with full and empty days:\n%s", q.Status, q.Body)
	}
	csv := b.get("/quality.csv?id=sensor-b&measure=temperature&days=2")
	if csv.Status != 200 || !strings.HasPrefix(csv.Body, "kind,start,end") || !strings.Contains(csv.Body, "\r\ngap,") {
		t.Errorf("quality CSV %d:\n%s", csv.Status, csv.Body)
	}

	m := b.get("/map")
	if m.Status != 200 || !strings.Contains(m.Body, `data-markers="[{&#34;id&#34;:`) || !strings.Contains(m.Body, "North farm") {
		t.Errorf("map page %d:\n%s", m.Status, m.Body)
	}
	if csp := m.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://tile.openstreetmap.org") {
		t.Errorf("map CSP %q", csp)
	}
}
