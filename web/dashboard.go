package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
)

// maxSparklines bounds the work of one dashboard view; beyond it rows are
// listed without a sparkline.
const maxSparklines = 200

type dashboardData struct {
	Now      time.Time
	Counts   []countCard
	Sensors  []sensorLatest
	Stale    int
	Services *serviceSummary
	Alerts   []dtbase.Alert // not resolved, firing first (alerts.go)
}

type countCard struct {
	Label string
	N     int
	Link  string
}

// sensorLatest groups a sensor's latest values.
type sensorLatest struct {
	Sensor string
	Type   string
	Rows   []latestRow
}

// dashboard shows the twin at a glance: counts, every sensor's newest
// value per measure with its age and a 24 h sparkline, and the service
// activity.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := &dashboardData{Now: h.now()}
	var err error
	if d.Alerts, err = h.openAlerts(ctx); err != nil {
		h.fail(w, r, s, err)
		return
	}
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	sensors, err := h.store.FindSensors(ctx, dtbase.SensorFilter{})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	schemas, err := h.store.ListLocationSchemas(ctx)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	models, err := h.store.ListModels(ctx)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d.Counts = []countCard{
		{"Sensor types", len(types), "/sensors"},
		{"Sensors", len(sensors), "/sensors"},
		{"Location schemas", len(schemas), "/locations"},
		{"Models", len(models), "/models"},
	}
	if d.Services, err = h.serviceSummary(ctx, d.Now); err != nil {
		h.fail(w, r, s, err)
		return
	}
	if d.Services != nil {
		d.Counts = append(d.Counts, countCard{"Services", d.Services.Count, "/services"})
	}

	latest, err := h.store.LatestReadings(ctx, dtbase.LatestReadingFilter{})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	ids := map[string]int64{}
	for _, t := range types {
		for k, v := range measureIDs(t.Measures) {
			ids[k] = v
		}
	}
	typeOf := map[string]string{}
	sensorID := map[string]int64{}
	for _, x := range sensors {
		typeOf[x.UniqueIdentifier] = x.TypeName
		sensorID[x.UniqueIdentifier] = x.ID
	}
	rows := make([]latestRow, len(latest))
	for i, l := range latest {
		rows[i] = newLatestRow(l, ids, d.Now)
	}
	if err := h.addSparklines(ctx, rows[:min(len(rows), maxSparklines)], sensorID); err != nil {
		h.fail(w, r, s, err)
		return
	}
	for _, row := range rows {
		if row.Stale {
			d.Stale++
		}
		if n := len(d.Sensors); n == 0 || d.Sensors[n-1].Sensor != row.Sensor {
			d.Sensors = append(d.Sensors, sensorLatest{Sensor: row.Sensor, Type: typeOf[row.Sensor]})
		}
		last := &d.Sensors[len(d.Sensors)-1]
		last.Rows = append(last.Rows, row)
	}
	h.render(w, r, http.StatusOK, "dashboard.html", &view{Title: "Dashboard", Nav: "dashboard", Session: s, Data: d})
}

// addSparklines draws, for each row, the 24 hours up to the series' newest
// reading (the last 24 h when data is live) and decides whether the series
// is stale: silent for more than three of its typical intervals, and at
// least five minutes; a series with a single reading in the window is
// stale after a day. Series are read a few at a time, each with one scan.
func (h *Handler) addSparklines(ctx context.Context, rows []latestRow, sensorID map[string]int64) error {
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
					first = h.addSparkline(ctx, row, sensorID[row.Sensor])
				}
			}
			errs <- first
		}()
	}
	for i := range rows {
		jobs <- &rows[i]
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
	age := h.now().Sub(row.Time)
	if row.Datatype == dtbase.String || sensorID == 0 || row.MeasureID == 0 {
		row.Stale = age > 24*time.Hour
		return nil
	}
	rm := dtbase.ReadingMeasure{SensorID: sensorID, MeasureID: row.MeasureID, UniqueIdentifier: row.Sensor,
		MeasureName: row.Measure, MeasureUnits: strPtr(row.Units), Datatype: row.Datatype}
	from, to := row.Time.Add(-24*time.Hour), row.Time
	ds := newDownsampler(from, to, 48)
	err := h.store.ScanReadings(ctx, rm, from, to, func(rd dtbase.Reading) error {
		f, _ := numeric(rd.Value)
		ds.add(rd.Time.UnixMicro(), f)
		return nil
	})
	if err != nil {
		return err
	}
	t, v := ds.points()
	row.Spark = sparkline(t, v, 120, 28)
	if ds.count < 2 || len(t) < 2 {
		row.Stale = age > 24*time.Hour
		return nil
	}
	interval := time.Duration((ds.last - ds.first) / (ds.count - 1) * int64(time.Microsecond))
	row.Stale = age > max(3*interval, 5*time.Minute)
	return nil
}
