package web

import (
	"context"
	"errors"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// maxPlotPoints bounds what one series sends to a chart, whatever the
// range: about two points per pixel of a wide screen.
const maxPlotPoints = 4000

// maxPlotSeries bounds the series of one /ui/api/plots request: each costs
// a read of the store, and a page cannot show more lines than this anyway.
const maxPlotSeries = 200

// latestRow is one sensor measure's newest reading, as the dashboard and
// the sensor page show it.
type latestRow struct {
	Sensor    string
	Measure   string
	MeasureID int64
	Units     string
	Datatype  dtbase.Datatype
	Value     string
	Time      time.Time
	Age       string
	Stale     bool
	Spark     string // SVG polyline points, empty when there is nothing to draw
}

// latestForSensor returns the newest reading of each of a sensor's measures.
func (h *Handler) latestForSensor(r *http.Request, det *dtbase.SensorDetails) ([]latestRow, error) {
	latest, err := h.store.LatestReadings(r.Context(), dtbase.LatestReadingFilter{UniqueIdentifiers: []string{det.UniqueIdentifier}})
	if err != nil {
		return nil, err
	}
	ids := measureIDs(det.Type.Measures)
	now := h.now()
	rows := make([]latestRow, len(latest))
	for i, l := range latest {
		rows[i] = newLatestRow(l, ids, now)
	}
	derived, err := h.derivedLatest(r.Context(), []derivedSensor{newDerivedSensor(det.UniqueIdentifier, det.Type.Name, latest)}, []dtbase.SensorType{det.Type})
	if err != nil {
		return nil, err
	}
	rows = append(rows, derived...)
	ptrs := make([]*latestRow, len(rows))
	for i := range rows {
		ptrs[i] = &rows[i]
	}
	err = h.addSparklines(r.Context(), ptrs, map[string]int64{det.UniqueIdentifier: det.ID})
	return rows, err
}

// measureIDs maps "name\x00units" to a measure's id.
func measureIDs(ms []dtbase.Measure) map[string]int64 {
	out := make(map[string]int64, len(ms))
	for _, m := range ms {
		out[m.Name+"\x00"+derefString(m.Units)] = m.ID
	}
	return out
}

func newLatestRow(l dtbase.LatestReading, ids map[string]int64, now time.Time) latestRow {
	return latestRow{Sensor: l.UniqueIdentifier, Measure: l.MeasureName, Units: derefString(l.MeasureUnits),
		MeasureID: ids[l.MeasureName+"\x00"+derefString(l.MeasureUnits)], Datatype: l.Datatype,
		Value: formatValue(l.Value), Time: l.Time, Age: formatAge(now, l.Time)}
}

// chartConfig is what the charts island reads from a data-config
// attribute: the series to draw and the range.
type chartConfig struct {
	Mode   string        `json:"mode"` // "explorer" or "compact"
	From   string        `json:"from"`
	To     string        `json:"to"`
	Charts []chartSpec   `json:"charts"`
	Series []seriesIdent `json:"-"`
}

// chartSpec is one plot: a measure with one line per sensor.
type chartSpec struct {
	Title  string        `json:"title"`
	Units  string        `json:"units"`
	Series []seriesIdent `json:"series"`
	// Alert rules' threshold lines and alert events (see addAlertOverlays).
	Thresholds []chartThreshold `json:"thresholds,omitempty"`
	Markers    []chartMarker    `json:"markers,omitempty"`
}

type seriesIdent struct {
	Sensor    string `json:"sensor"`
	MeasureID int64  `json:"measure"`
	Label     string `json:"label"`
}

// sensorChart plots a sensor's numeric measures over the default range
// (defaultRange), and returns the CSV download of the same range.
func (h *Handler) sensorChart(ctx context.Context, det *dtbase.SensorDetails, latest []latestRow) (*chartConfig, string, error) {
	var end time.Time
	for _, l := range latest {
		if l.Time.After(end) {
			end = l.Time
		}
	}
	if end.IsZero() {
		return nil, "", nil
	}
	end = end.Add(time.Minute).Truncate(time.Minute)
	cfg := &chartConfig{Mode: "compact"}
	var plotted []dtbase.Measure
	for _, m := range det.Type.Measures {
		if m.Datatype == dtbase.String {
			continue
		}
		si := seriesIdent{Sensor: det.UniqueIdentifier, MeasureID: m.ID, Label: det.UniqueIdentifier}
		cfg.Charts = append(cfg.Charts, chartSpec{Title: m.Name, Units: derefString(m.Units), Series: []seriesIdent{si}})
		cfg.Series = append(cfg.Series, si)
		plotted = append(plotted, m)
	}
	if len(cfg.Charts) == 0 {
		return nil, "", nil
	}
	from, err := h.defaultFrom(ctx, []string{det.UniqueIdentifier}, plotted, end)
	if err != nil {
		return nil, "", err
	}
	cfg.From, cfg.To = dtbase.FormatTime(from), dtbase.FormatTime(end)
	if err := h.addAlertOverlays(ctx, cfg, det.Type.Name, from, end); err != nil {
		return nil, "", err
	}
	return cfg, csvURL(cfg.Series, from, end), nil
}

// defaultSpan is how much of a series' newest data a plot opens on.
const defaultSpan = 24 * time.Hour

// defaultFrom is where a default range ending at end starts: defaultSpan
// before it, or at the first reading of the sensors' measures when they
// have none earlier, so a plot opens on its data and not on empty days.
func (h *Handler) defaultFrom(ctx context.Context, sensors []string, measures []dtbase.Measure, end time.Time) (time.Time, error) {
	from := end.Add(-defaultSpan)
	earliest := end
	for _, uid := range sensors {
		for _, m := range measures {
			if m.ID < 0 {
				// A derived series starts with its inputs, and finding its
				// first point before the range would compute all of it.
				continue
			}
			rm, err := h.store.FindReadingMeasure(ctx, uid, m.Name, m.Units)
			if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
				continue
			}
			if err != nil {
				return from, err
			}
			t, err := h.firstReading(ctx, rm, time.Unix(0, 0), from.Add(-time.Microsecond))
			if err != nil || !t.IsZero() {
				return from, err
			}
			if t, err = h.firstReading(ctx, rm, from, end); err != nil {
				return from, err
			}
			if !t.IsZero() && t.Before(earliest) {
				earliest = t
			}
		}
	}
	if earliest.Equal(end) {
		return from, nil
	}
	return earliest.Truncate(time.Minute), nil
}

// firstReading returns the time of the first reading of rm in [lo, hi],
// or the zero time when there is none.
func (h *Handler) firstReading(ctx context.Context, rm dtbase.ReadingMeasure, lo, hi time.Time) (t time.Time, err error) {
	err = h.store.ScanReadings(ctx, rm, lo, hi, func(rd dtbase.Reading) error {
		t = rd.Time
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return t, err
}

// explorerData is the explorer page's model. The URL holds the whole state:
// type, sensor (repeated), measure (repeated ids), from and to.
type explorerData struct {
	Types     []dtbase.SensorType
	Type      *dtbase.SensorType
	Sensors   []dtbase.Sensor
	Measures  []dtbase.Measure // the type's plottable measures
	Chosen    []string
	ChosenM   []string
	From, To  time.Time
	Ranges    []quickRange
	Chart     *chartConfig
	CSV       string
	Message   string
	HasString bool
}

type quickRange struct {
	Label, Query string
}

// sensorTypeNamed returns the type of types called name, the first one
// when name is empty, or nil when there is none.
func sensorTypeNamed(types []dtbase.SensorType, name string) *dtbase.SensorType {
	if name == "" && len(types) > 0 {
		return &types[0]
	}
	for i := range types {
		if types[i].Name == name {
			return &types[i]
		}
	}
	return nil
}

// queryRange reads a page's range from the query's from and to into *from
// and *to, which hold the defaults, and returns what is wrong with them, if
// anything; a value that is wrong leaves its default.
func queryRange(q url.Values, from, to *time.Time) (msg string) {
	for _, f := range []struct {
		key string
		t   *time.Time
	}{{"from", from}, {"to", to}} {
		if t, err := parseFormTime(q.Get(f.key), *f.t); err == nil {
			*f.t = t
		} else {
			msg = dtbase.ErrorMessage(err)
		}
	}
	return msg
}

// explorerPage lets a user pick a sensor type, sensors, measures and a
// range; the charts island draws them, fetching downsampled series.
func (h *Handler) explorerPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		return err
	}
	d := &explorerData{Types: types, Chosen: q["sensor"], ChosenM: q["measure"]}
	typeName := q.Get("type")
	d.Type = sensorTypeNamed(types, typeName)
	v := &view{Title: "Time-series explorer", Nav: "explorer", Session: s, Data: d, Wide: true,
		Scripts: []string{"js/charts.js"}, Styles: []string{"uplot.css"}}
	if d.Type == nil {
		if typeName != "" {
			d.Message = "There is no sensor type " + typeName + "."
		}
		h.render(w, r, http.StatusOK, "explorer.html", v)
		return nil
	}
	for _, m := range d.Type.Measures {
		if m.Datatype == dtbase.String {
			d.HasString = true
			continue
		}
		d.Measures = append(d.Measures, m)
	}
	derived, err := h.derivedForType(ctx, d.Type)
	if err != nil {
		return err
	}
	d.Measures = append(d.Measures, derived...)
	if d.Sensors, err = h.store.FindSensors(ctx, dtbase.SensorFilter{TypeName: &d.Type.Name}); err != nil {
		return err
	}
	// A choice made under another type is dropped. Without a choice, show
	// every sensor (up to ten) and every measure.
	d.Chosen = slices.DeleteFunc(d.Chosen, func(uid string) bool {
		return !slices.ContainsFunc(d.Sensors, func(x dtbase.Sensor) bool { return x.UniqueIdentifier == uid })
	})
	d.ChosenM = slices.DeleteFunc(d.ChosenM, func(id string) bool {
		return !slices.ContainsFunc(d.Measures, func(m dtbase.Measure) bool { return strconv.FormatInt(m.ID, 10) == id })
	})
	if len(d.Chosen) == 0 {
		for i, x := range d.Sensors {
			if i == 10 {
				break
			}
			d.Chosen = append(d.Chosen, x.UniqueIdentifier)
		}
	}
	if len(d.ChosenM) == 0 {
		for _, m := range d.Measures {
			if m.ID > 0 { // derived measures are computed only when picked
				d.ChosenM = append(d.ChosenM, strconv.FormatInt(m.ID, 10))
			}
		}
	}
	// The default range is the last day of the data shown (or all of it
	// when shorter), so a twin whose data stopped still opens on something.
	end := h.now()
	d.From = end.Add(-defaultSpan)
	if len(d.Chosen) > 0 && (q.Get("from") == "" || q.Get("to") == "") {
		var err error
		end, err = h.defaultEnd(ctx, d.Chosen)
		if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			return err
		}
		var chosenM []dtbase.Measure
		for _, m := range d.Measures {
			if slices.Contains(d.ChosenM, strconv.FormatInt(m.ID, 10)) {
				chosenM = append(chosenM, m)
			}
		}
		if d.From, err = h.defaultFrom(ctx, d.Chosen, chosenM, end); err != nil {
			return err
		}
	}
	d.To = end
	d.Message = queryRange(q, &d.From, &d.To)
	if !d.From.Before(d.To) {
		d.Message = "The start of the range must be before its end."
	}
	for _, qr := range []struct {
		label string
		dur   time.Duration
	}{{"24 h", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}, {"1 year", 365 * 24 * time.Hour}} {
		qq := url.Values{"type": {d.Type.Name}, "sensor": d.Chosen, "measure": d.ChosenM,
			"from": {d.To.Add(-qr.dur).UTC().Format("2006-01-02T15:04")}, "to": {d.To.UTC().Format("2006-01-02T15:04")}}
		d.Ranges = append(d.Ranges, quickRange{qr.label, "/explorer?" + qq.Encode()})
	}
	chosen := map[string]bool{}
	for _, c := range d.Chosen {
		chosen[c] = true
	}
	if d.Message == "" {
		cfg := &chartConfig{Mode: "explorer", From: dtbase.FormatTime(d.From), To: dtbase.FormatTime(d.To)}
		for _, m := range d.Measures {
			if !slices.Contains(d.ChosenM, strconv.FormatInt(m.ID, 10)) {
				continue
			}
			spec := chartSpec{Title: m.Name, Units: derefString(m.Units)}
			for _, x := range d.Sensors {
				if chosen[x.UniqueIdentifier] {
					// Legends name a sensor by its name when it has one:
					// ids are often opaque (MAC addresses).
					label := x.UniqueIdentifier
					if n := derefString(x.Name); n != "" {
						label = n
					}
					spec.Series = append(spec.Series, seriesIdent{Sensor: x.UniqueIdentifier, MeasureID: m.ID, Label: label})
					cfg.Series = append(cfg.Series, spec.Series[len(spec.Series)-1])
				}
			}
			if len(spec.Series) > 0 {
				cfg.Charts = append(cfg.Charts, spec)
			}
		}
		if len(cfg.Charts) > 0 {
			if err := h.addAlertOverlays(ctx, cfg, d.Type.Name, d.From, d.To); err != nil {
				return err
			}
			d.Chart = cfg
			d.CSV = csvURL(cfg.Series, d.From, d.To)
		}
	}
	h.render(w, r, http.StatusOK, "explorer.html", v)
	return nil
}

// csvURL is the download of the given series over [from, to] at full
// resolution.
func csvURL(series []seriesIdent, from, to time.Time) string {
	q := url.Values{}
	for _, s := range series {
		q.Add("sensor", s.Sensor)
		q.Add("measure", strconv.FormatInt(s.MeasureID, 10))
	}
	q.Set("from", dtbase.FormatTime(from))
	q.Set("to", dtbase.FormatTime(to))
	return "/ui/api/readings.csv?" + q.Encode()
}

// api wraps an island endpoint: a session of at least role, errors as
// JSON. A request that writes (anything but GET) also needs the session's
// CSRF token in X-CSRF-Token, so the cookie alone cannot change anything.
func (h *Handler) api(role dtbase.Role, fn func(w http.ResponseWriter, r *http.Request, s *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := h.loadSession(w, r)
		if s == nil {
			writeJSONError(w, http.StatusUnauthorized, "Your session has expired. Reload the page to sign in again.")
			return
		}
		if !s.User.Role.Allows(role) {
			writeJSONError(w, http.StatusForbidden, "This needs the "+string(role)+" role.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.checkCSRF(r) {
			writeJSONError(w, http.StatusForbidden, "The page has expired. Reload it and try again.")
			return
		}
		if err := fn(w, r, s); err != nil {
			status := http.StatusBadRequest
			if !isClientError(err) {
				h.log.Error("island request failed", "path", r.URL.Path, "err", err)
				status = http.StatusInternalServerError
			}
			writeJSONError(w, status, dtbase.ErrorMessage(err))
		}
	})
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := toJSON(struct {
		Detail string `json:"detail"`
	}{msg})
	w.Write([]byte(b))
}

// resolveSeriesList finds the reading measures of sensor and measure id
// pairs (derived measures have negative ids), reading the list of measures
// once.
func (h *Handler) resolveSeriesList(ctx context.Context, sensors, measureIDs []string) ([]dtbase.ReadingMeasure, error) {
	var measures []dtbase.Measure
	out := make([]dtbase.ReadingMeasure, len(sensors))
	for i, sensor := range sensors {
		id, err := strconv.ParseInt(measureIDs[i], 10, 64)
		if err != nil {
			return nil, invalid("measure must be a measure id, not %q", measureIDs[i])
		}
		if id < 0 {
			if out[i], err = h.derivedSeries(ctx, sensor, id); err != nil {
				return nil, err
			}
			continue
		}
		if measures == nil {
			if measures, err = h.store.ListMeasures(ctx); err != nil {
				return nil, err
			}
		}
		j := slices.IndexFunc(measures, func(m dtbase.Measure) bool { return m.ID == id })
		if j < 0 {
			return nil, dtbase.Errorf(dtbase.ENOTFOUND, "No measure with id %d", id)
		}
		if out[i], err = h.store.FindReadingMeasure(ctx, sensor, measures[j].Name, measures[j].Units); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rangeParams reads from and to (any timestamp the API accepts).
func rangeParams(q url.Values) (from, to time.Time, err error) {
	var ok bool
	if from, ok = dtbase.ParseTime(q.Get("from")); !ok {
		return from, to, invalid("from: %q is not a timestamp", q.Get("from"))
	}
	if to, ok = dtbase.ParseTime(q.Get("to")); !ok {
		return from, to, invalid("to: %q is not a timestamp", q.Get("to"))
	}
	if to.Before(from) {
		return from, to, invalid("from must not be after to")
	}
	return from, to, nil
}

// seriesAnswer is a series for uPlot: parallel arrays of Unix seconds and
// values (booleans as 0/1), with the statistics of the full range.
type seriesAnswer struct {
	Sensor      string                `json:"sensor"`
	Measure     string                `json:"measure"`
	Units       string                `json:"units"`
	T           []float64             `json:"t"`
	V           []float64             `json:"v"`
	Downsampled bool                  `json:"downsampled"`
	Stats       dtbase.ReadingSummary `json:"stats"`
}

// seriesJSON answers /ui/api/series?sensor=&measure=<id>&from=&to=&points=
// with at most points readings (default and cap maxPlotPoints) that keep
// peaks, and the exact count, min, max and mean over the range. One scan
// of the range computes both, so a year of minute data costs one pass.
func (h *Handler) seriesJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	ans, err := h.plotAnswers(r.Context(), []string{q.Get("sensor")}, []string{q.Get("measure")}, q)
	if err != nil {
		return err
	}
	return writePlotJSON(w, r, ans[0])
}

// plotsJSON answers /ui/api/plots with sensor and measure repeated in
// pairs (and from, to, points as /ui/api/series) with {"series": [...]},
// one answer of /ui/api/series per pair in their order, read together in
// one call of the store.
func (h *Handler) plotsJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	sensors, measures := q["sensor"], q["measure"]
	if len(sensors) == 0 || len(sensors) != len(measures) {
		return invalid("give sensor and measure in pairs")
	}
	if len(sensors) > maxPlotSeries {
		return invalid("%d series asked for; one plot shows at most %d", len(sensors), maxPlotSeries)
	}
	ans, err := h.plotAnswers(r.Context(), sensors, measures, q)
	if err != nil {
		return err
	}
	return writePlotJSON(w, r, struct {
		Series []*seriesAnswer `json:"series"`
	}{ans})
}

// plotAnswers plots the series of the sensor and measure id pairs over the
// range and points of q.
func (h *Handler) plotAnswers(ctx context.Context, sensors, measures []string, q url.Values) ([]*seriesAnswer, error) {
	rms, err := h.resolveSeriesList(ctx, sensors, measures)
	if err != nil {
		return nil, err
	}
	for _, rm := range rms {
		if rm.Datatype == dtbase.String {
			return nil, invalid("%s is a string measure and cannot be plotted", rm.MeasureName)
		}
	}
	from, to, err := rangeParams(q)
	if err != nil {
		return nil, err
	}
	points := maxPlotPoints
	if p, err := strconv.Atoi(q.Get("points")); err == nil && p >= 2 && p < points {
		points = p
	}
	plots, err := dtbase.PlotSeries(ctx, h.store, rms, from, to, points)
	if err != nil {
		return nil, err
	}
	out := make([]*seriesAnswer, len(plots))
	for i, p := range plots {
		rm := rms[i]
		out[i] = &seriesAnswer{Sensor: rm.UniqueIdentifier, Measure: rm.MeasureName, Units: derefString(rm.MeasureUnits),
			Downsampled: int64(len(p.Points)) < p.Summary.Count, Stats: p.Summary}
		out[i].T, out[i].V = plotArrays(p.Points)
	}
	return out, nil
}

func writePlotJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := toJSON(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, max-age=10")
	writeMaybeGzip(w, r, http.StatusOK, []byte(body))
	return nil
}

// plotArrays returns the times (Unix seconds) and values (booleans as 0
// and 1) of readings, as uPlot and the sparklines take them.
func plotArrays(pts []dtbase.Reading) (t, v []float64) {
	t, v = make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		t[i] = float64(p.Time.UnixMicro()) / 1e6
		v[i], _ = p.Value.Float()
	}
	return t, v
}

// readingsCSV streams every reading of the given series (sensor and
// measure repeated in pairs) in [from, to]: what a chart shows, at full
// resolution, one row per reading.
func (h *Handler) readingsCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	sensors, measures := q["sensor"], q["measure"]
	if len(sensors) == 0 || len(sensors) != len(measures) {
		return invalid("give sensor and measure in pairs")
	}
	from, to, err := rangeParams(q)
	if err != nil {
		return err
	}
	rms, err := h.resolveSeriesList(ctx, sensors, measures)
	if err != nil {
		return err
	}
	uid, names := "readings", []string(nil)
	if len(rms) == 1 {
		uid, names = rms[0].UniqueIdentifier, []string{rms[0].MeasureName}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dtbase.ReadingCSVFileName(uid, names)}))
	buf := append(make([]byte, 0, 64<<10), dtbase.ReadingCSVHeader...)
	wrote := false // once a chunk is out, an error can no longer be a JSON answer
	for _, rm := range rms {
		prefix := dtbase.AppendReadingCSVPrefix(nil, rm)
		err := h.store.ScanReadings(ctx, rm, from, to, func(rd dtbase.Reading) error {
			buf = dtbase.AppendReadingCSVRow(buf, prefix, rd)
			if len(buf) >= 60<<10 {
				wrote = true
				_, err := w.Write(buf)
				buf = buf[:0]
				return err
			}
			return nil
		})
		if err != nil && !wrote {
			return err
		}
		if err != nil {
			// The header is sent; all we can do is end the file visibly.
			h.log.Error("csv download failed", "err", err)
			buf = append(buf, "# download failed: "+dtbase.ErrorMessage(err)+"\r\n"...)
			break
		}
	}
	w.Write(buf)
	return nil
}

// readingsData is the readings table: one row per timestamp, one column
// per measure of the sensor's type.
type readingsData struct {
	Types    []dtbase.SensorType
	Type     *dtbase.SensorType
	Sensors  []dtbase.Sensor
	Sensor   string
	From, To time.Time
	Columns  []dtbase.Measure
	Rows     []readingsRow
	Page     int
	Next     string
	First    string
	CSV      string
	Message  string
}

type readingsRow struct {
	Time  time.Time
	Cells []string
}

const readingsPageSize = 100

// readingsPage shows the raw readings of a sensor over a range, a page at
// a time. Paging is by time: the next page starts after the last
// timestamp shown, so it stays fast at any depth.
func (h *Handler) readingsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		return err
	}
	d := &readingsData{Types: types, Sensor: q.Get("sensor"), Page: 1}
	v := &view{Title: "Readings", Nav: "readings", Session: s, Data: d}
	typeName := q.Get("type")
	if d.Sensor != "" && typeName == "" {
		if det, err := h.store.FindSensorDetails(ctx, d.Sensor); err == nil {
			typeName = det.TypeName
		}
	}
	if d.Type = sensorTypeNamed(types, typeName); d.Type == nil {
		h.render(w, r, http.StatusOK, "readings.html", v)
		return nil
	}
	if d.Sensors, err = h.store.FindSensors(ctx, dtbase.SensorFilter{TypeName: &d.Type.Name}); err != nil {
		return err
	}
	found := false
	for _, x := range d.Sensors {
		found = found || x.UniqueIdentifier == d.Sensor
	}
	if !found {
		d.Sensor = ""
		if len(d.Sensors) > 0 {
			d.Sensor = d.Sensors[0].UniqueIdentifier
		}
	}
	if d.Sensor == "" {
		h.render(w, r, http.StatusOK, "readings.html", v)
		return nil
	}
	// Default: the day up to the sensor's newest reading.
	end, err := h.defaultEnd(ctx, []string{d.Sensor})
	if err != nil {
		return err
	}
	d.From, d.To = end.Add(-24*time.Hour), end
	d.Message = queryRange(q, &d.From, &d.To)
	start := d.From
	if t, ok := dtbase.ParseTime(q.Get("after")); ok {
		start = t.Add(time.Microsecond)
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = p
	}
	if d.Message != "" || d.To.Before(start) {
		h.render(w, r, http.StatusOK, "readings.html", v)
		return nil
	}
	d.Columns = d.Type.Measures
	cells := map[int64][]string{}
	var series []seriesIdent
	for ci, m := range d.Columns {
		series = append(series, seriesIdent{Sensor: d.Sensor, MeasureID: m.ID})
		rm, err := h.store.FindReadingMeasure(ctx, d.Sensor, m.Name, m.Units)
		if err != nil {
			return err
		}
		n := 0
		err = h.store.ScanReadings(ctx, rm, start, d.To, func(rd dtbase.Reading) error {
			if n > readingsPageSize {
				return errStop
			}
			n++
			us := rd.Time.UnixMicro()
			row := cells[us]
			if row == nil {
				row = make([]string, len(d.Columns))
				cells[us] = row
			}
			row[ci] = formatValue(rd.Value)
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
	}
	times := make([]int64, 0, len(cells))
	for us := range cells {
		times = append(times, us)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	more := len(times) > readingsPageSize
	if more {
		times = times[:readingsPageSize]
	}
	for _, us := range times {
		d.Rows = append(d.Rows, readingsRow{Time: time.UnixMicro(us).UTC(), Cells: cells[us]})
	}
	base := url.Values{"type": {d.Type.Name}, "sensor": {d.Sensor}, "from": {d.From.UTC().Format("2006-01-02T15:04")}, "to": {d.To.UTC().Format("2006-01-02T15:04")}}
	if more {
		next := url.Values{}
		for k, v := range base {
			next[k] = v
		}
		next.Set("after", dtbase.FormatTime(d.Rows[len(d.Rows)-1].Time))
		next.Set("page", strconv.Itoa(d.Page+1))
		d.Next = "/readings?" + next.Encode()
	}
	if d.Page > 1 {
		d.First = "/readings?" + base.Encode()
	}
	d.CSV = csvURL(series, d.From, d.To)
	h.render(w, r, http.StatusOK, "readings.html", v)
	return nil
}

// errStop ends a scan early.
var errStop = errors.New("stop")

// sparkline draws a series as SVG polyline points in a w×h box.
func sparkline(t, v []float64, w, h float64) string {
	if len(t) < 2 {
		return ""
	}
	t0, t1 := t[0], t[len(t)-1]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if t1 == t0 {
		return ""
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	var b strings.Builder
	for i := range t {
		x := (t[i] - t0) / (t1 - t0) * w
		y := h - 1 - (v[i]-lo)/(hi-lo)*(h-2)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
}

// defaultEnd is where a default range ends: the minute after the newest
// reading of the sensors, or now when they have none. On error it returns
// now with the error.
func (h *Handler) defaultEnd(ctx context.Context, sensors []string) (time.Time, error) {
	end := h.now()
	latest, err := h.store.LatestReadings(ctx, dtbase.LatestReadingFilter{UniqueIdentifiers: sensors})
	if err != nil {
		return end, err
	}
	var newest time.Time
	for _, l := range latest {
		if l.Time.After(newest) {
			newest = l.Time
		}
	}
	if !newest.IsZero() {
		end = newest.Add(time.Minute).Truncate(time.Minute)
	}
	return end, nil
}
