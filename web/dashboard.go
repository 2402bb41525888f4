package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
)

// dashboardPageSize is how many sensors a dashboard page lists; it bounds
// the sparkline scans of one view whatever the size of the twin.
const dashboardPageSize = 20

type dashboardData struct {
	Now      time.Time
	Counts   []countCard
	Filter   dashboardFilter
	Types    []string
	Groups   []sensorGroup
	Series   int // series with readings
	Stale    int // of which stale
	Matching int // sensors that pass the filter
	Page     int
	Pages    int
	Prev     string
	Next     string
	StaleURL string
	Services *serviceSummary
	Alerts   []dtbase.Alert // not resolved, firing first (alerts.go)
}

// dashboardFilter is the dashboard's view, all of it in the URL.
type dashboardFilter struct {
	Group string // "type", "location" or "none"
	Type  string
	Q     string
	Stale bool
}

func (f dashboardFilter) url(page int) string {
	group, stale := f.Group, ""
	if group == "type" {
		group = "" // the default
	}
	if f.Stale {
		stale = "1"
	}
	return "/" + buildQuery("group", group, "type", f.Type, "q", f.Q, "stale", stale, "page", pageParam(page))
}

type countCard struct {
	Label string
	N     int
	Link  string
}

// sensorGroup is the sensors of one type or location on a page.
type sensorGroup struct {
	Name    string
	Sensors []*sensorLatest
}

// sensorLatest groups a sensor's latest values.
type sensorLatest struct {
	Sensor string
	Name   string
	Type   string
	group  string
	stale  bool
	Rows   []latestRow
}

// dashboard shows the twin at a glance: counts, the newest value of every
// sensor's measures with its age and a 24 h sparkline, grouped by type or
// location, filtered and a page at a time, and the service activity.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := &dashboardData{Now: h.now(), Page: 1, Filter: dashboardFilter{Group: q.Get("group"), Type: q.Get("type"),
		Q: strings.TrimSpace(q.Get("q")), Stale: q.Get("stale") != ""}}
	if d.Filter.Group != "location" && d.Filter.Group != "none" {
		d.Filter.Group = "type"
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = p
	}
	// The latest values and the service activity are read beside the rest:
	// on a big twin they are most of the time of a view.
	var (
		wg                 sync.WaitGroup
		latest             []dtbase.LatestReading
		latestErr, servErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		latest, latestErr = h.store.LatestReadings(ctx, dtbase.LatestReadingFilter{})
	}()
	go func() {
		defer wg.Done()
		d.Services, servErr = h.serviceSummary(ctx, d.Now)
	}()
	defer wg.Wait() // on an early return too, so nothing outlives the request
	var err error
	if d.Alerts, err = h.openAlerts(ctx); err != nil {
		return err
	}
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		return err
	}
	sensors, err := h.store.FindSensors(ctx, dtbase.SensorFilter{WithLocation: d.Filter.Group == "location"})
	if err != nil {
		return err
	}
	schemas, err := h.store.ListLocationSchemas(ctx)
	if err != nil {
		return err
	}
	models, err := h.store.ListModels(ctx)
	if err != nil {
		return err
	}
	d.Counts = []countCard{
		{"Sensor types", len(types), "/sensors"},
		{"Sensors", len(sensors), "/sensors"},
		{"Location schemas", len(schemas), "/locations"},
		{"Models", len(models), "/models"},
	}
	wg.Wait()
	if err := cmp.Or(latestErr, servErr); err != nil {
		return err
	}
	if d.Services != nil {
		d.Counts = append(d.Counts, countCard{"Services", d.Services.Count, "/services"})
	}
	for _, t := range types {
		d.Types = append(d.Types, t.Name)
	}

	ids := map[string]int64{}
	for _, t := range types {
		for k, v := range measureIDs(t.Measures) {
			ids[k] = v
		}
	}
	bySensor := make(map[string]*sensorLatest, len(sensors))
	all := make([]*sensorLatest, len(sensors))
	sensorID := make(map[string]int64, len(sensors))
	for i, x := range sensors {
		sl := &sensorLatest{Sensor: x.UniqueIdentifier, Name: derefString(x.Name), Type: x.TypeName, group: x.TypeName}
		switch d.Filter.Group {
		case "location":
			sl.group = "Not placed"
			if x.Location != nil {
				l := x.Location.Location
				sl.group = l.Schema
				if len(l.Identifiers) > 0 {
					sl.group += ": " + l.Identifiers[0].Name + " " + formatValue(l.Values[0])
				}
			}
		case "none":
			sl.group = ""
		}
		all[i], bySensor[x.UniqueIdentifier], sensorID[x.UniqueIdentifier] = sl, sl, x.ID
	}
	rows := make([]latestRow, len(latest))
	for i, l := range latest {
		rows[i] = newLatestRow(l, ids, d.Now)
	}
	if err := h.markStale(ctx, rows, sensorID, d.Now); err != nil {
		return err
	}
	d.Series = len(rows)
	for _, row := range rows {
		sl := bySensor[row.Sensor]
		if sl == nil {
			continue // created after the sensor list was read
		}
		if row.Stale {
			d.Stale++
			sl.stale = true
		}
		sl.Rows = append(sl.Rows, row)
	}

	text := strings.ToLower(d.Filter.Q)
	shown := all[:0:0]
	for _, sl := range all {
		if d.Filter.Type != "" && sl.Type != d.Filter.Type ||
			d.Filter.Stale && !sl.stale ||
			text != "" && !strings.Contains(strings.ToLower(sl.Sensor+"\x00"+sl.Name), text) {
			continue
		}
		shown = append(shown, sl)
	}
	slices.SortStableFunc(shown, func(a, b *sensorLatest) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		return strings.Compare(a.Sensor, b.Sensor)
	})
	d.Matching = len(shown)
	d.Pages = max(1, (len(shown)+dashboardPageSize-1)/dashboardPageSize)
	d.Page = min(d.Page, d.Pages)
	page := shown[(d.Page-1)*dashboardPageSize : min(len(shown), d.Page*dashboardPageSize)]
	if err := h.addDerivedLatest(ctx, page, types, latest); err != nil {
		return err
	}
	var pageRows []*latestRow
	for _, sl := range page {
		for i := range sl.Rows {
			pageRows = append(pageRows, &sl.Rows[i])
		}
		if n := len(d.Groups); n == 0 || d.Groups[n-1].Name != sl.group {
			d.Groups = append(d.Groups, sensorGroup{Name: sl.group})
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Sensors = append(g.Sensors, sl)
	}
	if err := h.addSparklines(ctx, pageRows, sensorID); err != nil {
		return err
	}
	if d.Page > 1 {
		d.Prev = d.Filter.url(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = d.Filter.url(d.Page + 1)
	}
	sf := d.Filter
	sf.Stale = true
	d.StaleURL = sf.url(1)
	h.render(w, r, http.StatusOK, "dashboard.html", &view{Title: "Dashboard", Nav: "dashboard", Session: s, Data: d})
	return nil
}

// addSparklines draws, for each row, the 24 hours up to the series' newest
// reading (the last 24 h when data is live) and decides whether the series
// is stale (see isStale). Series are read a few at a time, each with one
// scan.
func (h *Handler) addSparklines(ctx context.Context, rows []*latestRow, sensorID map[string]int64) error {
	return forEachRow(rows, func(row *latestRow) error { return h.addSparkline(ctx, row, sensorID[row.Sensor]) })
}

// forEachRow calls fn on the rows from a few goroutines and returns the
// first error.
func forEachRow(rows []*latestRow, fn func(*latestRow) error) error {
	const workers = 4
	jobs := make(chan *latestRow)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for row := range jobs {
				if first == nil {
					first = fn(row)
				}
			}
			errs <- first
		}()
	}
	for _, row := range rows {
		jobs <- row
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) addSparkline(ctx context.Context, row *latestRow, sensorID int64) error {
	now := h.now()
	if row.Datatype == dtbase.String || sensorID == 0 || row.MeasureID == 0 {
		row.Stale = isStale(now.Sub(row.Time), 0)
		return nil
	}
	k := seriesKey{sensorID, row.MeasureID}
	if e, ok := h.intervals.get(k); ok && e.sparkAt.Equal(row.Time) && now.Sub(e.measured) <= intervalTTL {
		// Nothing new since the line was drawn.
		row.Spark, row.Stale = e.spark, isStale(now.Sub(row.Time), e.interval)
		return nil
	}
	rm := dtbase.ReadingMeasure{SensorID: sensorID, MeasureID: row.MeasureID, UniqueIdentifier: row.Sensor,
		MeasureName: row.Measure, MeasureUnits: strPtr(row.Units), Datatype: row.Datatype}
	from, to := row.Time.Add(-24*time.Hour), row.Time
	pts, sum, err := dtbase.PlotReadings(ctx, h.store, rm, from, to, 96)
	if err != nil {
		return err
	}
	t, v := plotArrays(pts)
	row.Spark = sparkline(t, v, 120, 28)
	var interval time.Duration
	if sum.Count >= 2 {
		// The newest reading is row.Time, the end of the range.
		first, err := h.firstReading(ctx, rm, from, to)
		if err != nil {
			return err
		}
		interval = to.Sub(first) / time.Duration(sum.Count-1)
	}
	row.Stale = isStale(now.Sub(row.Time), interval)
	h.intervals.put(k, intervalEntry{interval: interval, measured: now, spark: row.Spark, sparkAt: row.Time})
	return nil
}

// isStale says whether a series whose newest reading is age old is stale:
// silent for more than three of its typical intervals, and at least five
// minutes; a series without a known interval (a single reading in its last
// day, or text) is stale after a day.
func isStale(age, interval time.Duration) bool {
	if interval <= 0 {
		return age > 24*time.Hour
	}
	return age > max(3*interval, 5*time.Minute)
}

type seriesKey struct{ sensor, measure int64 }

// intervalCache remembers each series' typical interval between readings,
// so that the dashboard knows which of thousands of series are stale from
// their newest readings alone, and its sparkline until a newer reading
// arrives. A series is measured on its first view; a view also measures
// again a few entries older than intervalTTL.
type intervalCache struct {
	mu sync.Mutex
	m  map[seriesKey]intervalEntry
}

type intervalEntry struct {
	interval time.Duration // 0: unknown, a single reading in a day
	measured time.Time
	spark    string    // the sparkline, when drawn
	sparkAt  time.Time // the newest reading the sparkline shows
}

const (
	intervalTTL = time.Hour
	// intervalSample is how many readings of a series' last day measure
	// its interval.
	intervalSample = 50
	// intervalRefreshes bounds the old entries one view measures again.
	intervalRefreshes = 32
)

func (c *intervalCache) get(k seriesKey) (intervalEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *intervalCache) put(k seriesKey, e intervalEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[seriesKey]intervalEntry{}
	}
	c.m[k] = e
}

// measureInterval reads up to intervalSample readings of the day before a
// row's newest one and caches their mean interval.
func (h *Handler) measureInterval(ctx context.Context, row *latestRow, k seriesKey, now time.Time) (time.Duration, error) {
	rm := dtbase.ReadingMeasure{SensorID: k.sensor, MeasureID: k.measure, UniqueIdentifier: row.Sensor,
		MeasureName: row.Measure, MeasureUnits: strPtr(row.Units), Datatype: row.Datatype}
	var first, last time.Time
	n := 0
	err := h.store.ScanReadings(ctx, rm, row.Time.Add(-24*time.Hour), row.Time, func(rd dtbase.Reading) error {
		if n == 0 {
			first = rd.Time
		}
		last = rd.Time
		if n++; n == intervalSample {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	var interval time.Duration
	if n >= 2 {
		interval = last.Sub(first) / time.Duration(n-1)
	}
	h.intervals.put(k, intervalEntry{interval: interval, measured: now})
	return interval, nil
}

// markStale sets Stale on every row from the cached interval of its
// series, measuring the series not seen yet and a few of those measured
// longest ago.
func (h *Handler) markStale(ctx context.Context, rows []latestRow, sensorID map[string]int64, now time.Time) error {
	type aged struct {
		row      *latestRow
		measured time.Time
	}
	var measure []*latestRow
	var old []aged
	for i := range rows {
		row := &rows[i]
		k := seriesKey{sensorID[row.Sensor], row.MeasureID}
		if row.Datatype == dtbase.String || k.sensor == 0 || k.measure == 0 {
			row.Stale = isStale(now.Sub(row.Time), 0)
			continue
		}
		e, ok := h.intervals.get(k)
		if !ok {
			measure = append(measure, row)
			continue
		}
		if now.Sub(e.measured) > intervalTTL {
			old = append(old, aged{row, e.measured})
		}
		row.Stale = isStale(now.Sub(row.Time), e.interval)
	}
	slices.SortFunc(old, func(a, b aged) int { return a.measured.Compare(b.measured) })
	for _, a := range old[:min(len(old), intervalRefreshes)] {
		measure = append(measure, a.row)
	}
	return forEachRow(measure, func(row *latestRow) error {
		interval, err := h.measureInterval(ctx, row, seriesKey{sensorID[row.Sensor], row.MeasureID}, now)
		row.Stale = isStale(now.Sub(row.Time), interval)
		return err
	})
}
