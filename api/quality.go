package api

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/quality"
)

// qualityOptions are the tuning fields of the quality requests.
type qualityOptions struct {
	// GapFactor is k: gaps longer than k intervals are listed (default 3).
	GapFactor *float64 `json:"gap_factor" dt:"optional"`
	// FlatlineMinutes is the shortest unchanged run listed (default 60).
	FlatlineMinutes *float64 `json:"flatline_minutes" dt:"optional"`
}

type qualityRequest struct {
	UniqueIdentifier string    `json:"unique_identifier" dt:"max=name"`
	MeasureName      string    `json:"measure_name" dt:"max=name"`
	MeasureUnits     *string   `json:"measure_units" dt:"optional,max=units"`
	DtFrom           time.Time `json:"dt_from"`
	DtTo             time.Time `json:"dt_to"`
	qualityOptions
}

type qualityOverviewRequest struct {
	DtFrom time.Time `json:"dt_from"`
	DtTo   time.Time `json:"dt_to"`
	// LocationID limits the overview to the sensors placed now at the
	// location or under it.
	LocationID *int64 `json:"location_id" dt:"optional"`
	qualityOptions
}

type measureRangeRequest struct {
	MeasureName  string   `json:"measure_name" dt:"max=name"`
	MeasureUnits *string  `json:"measure_units" dt:"optional,max=units"`
	Min          *float64 `json:"min"`
	Max          *float64 `json:"max"`
}

type gapOut struct {
	Start         dtbase.Time `json:"start"`
	End           dtbase.Time `json:"end"`
	LengthSeconds float64     `json:"length_seconds"`
}

type flatlineOut struct {
	Start         dtbase.Time `json:"start"`
	End           dtbase.Time `json:"end"`
	LengthSeconds float64     `json:"length_seconds"`
	Value         float64     `json:"value"`
	Readings      int         `json:"readings"`
}

type dayOut struct {
	Date            string  `json:"date"`
	Readings        int     `json:"readings"`
	CoveragePercent float64 `json:"coverage_percent"`
}

type qualityOut struct {
	UniqueIdentifier string         `json:"unique_identifier"`
	MeasureName      string         `json:"measure_name"`
	MeasureUnits     *string        `json:"measure_units"`
	Readings         int            `json:"readings"`
	IntervalSeconds  float64        `json:"interval_seconds"`
	CoveragePercent  float64        `json:"coverage_percent"`
	GapCount         int            `json:"gap_count"`
	Gaps             []gapOut       `json:"gaps"`
	Duplicates       int            `json:"duplicates"`
	OutOfRangeCount  int            `json:"out_of_range_count"`
	OutOfRange       []readingPoint `json:"out_of_range"`
	FlatlineCount    int            `json:"flatline_count"`
	Flatlines        []flatlineOut  `json:"flatlines"`
	Days             []dayOut       `json:"days"`
}

func (s *Server) qualityRoutes() {
	handle(s, http.MethodPost, "/sensor/data-quality", dtbase.RoleViewer, http.StatusOK,
		"Data quality of one measure of a sensor over a range", s.dataQuality).description = qualityHelp
	handle(s, http.MethodPost, "/sensor/data-quality-overview", dtbase.RoleViewer, http.StatusOK,
		"Data quality of every numeric measure of every sensor (or those under a location) over a range",
		s.dataQualityOverview).description = qualityHelp + " Lists of gaps, flatlines and out-of-range readings are left empty here; the counts are exact."
	handle(s, http.MethodPost, "/sensor/set-measure-range", dtbase.RoleEditor, http.StatusOK,
		"Set the physical range of a measure (min and max null: clear it)", s.setMeasureRange).description =
		"Readings outside the range are still stored; the data quality check reports them."
	s.csvDownload("/sensor/data-quality.csv", "Download the data quality of one measure of a sensor as CSV",
		"Columns kind,start,end,length_seconds,value,readings,coverage_percent; kind is day, gap, flatline or out_of_range.",
		s.dataQualityCSV, sensorParam,
		queryParam{"measure_name", "string", "a measure of the sensor's type", true},
		queryParam{"measure_units", "string", "units of the measure, when the name is ambiguous", false},
		fromParam, toParam,
		queryParam{"gap_factor", "number", "k: gaps longer than k intervals are listed (default 3)", false},
		queryParam{"flatline_minutes", "number", "shortest unchanged run listed (default 60)", false})
}

const qualityHelp = "The expected interval is the median time between consecutive readings. coverage_percent is the share of the " +
	"readings expected at that interval over the range (both ends included) that are there, at most 100; per UTC day likewise. " +
	"A gap is a stretch longer than gap_factor intervals without readings, the range's ends counting as readings. A flatline is " +
	"a run of one value lasting at least flatline_minutes. out_of_range uses the measure's physical range (set-measure-range). " +
	"duplicates is always 0: a second reading at a stored timestamp is refused on insert."

// options checks the tuning fields; a bad one is a 422 naming it.
func (q qualityOptions) options() (quality.Options, error) {
	var o quality.Options
	if q.GapFactor != nil {
		if *q.GapFactor < 1 || *q.GapFactor > 1000 {
			return o, invalidField([]any{"gap_factor"}, "gap_factor must be between 1 and 1000", *q.GapFactor)
		}
		o.GapFactor = *q.GapFactor
	}
	if q.FlatlineMinutes != nil {
		if *q.FlatlineMinutes <= 0 || *q.FlatlineMinutes > 1e7 {
			return o, invalidField([]any{"flatline_minutes"}, "flatline_minutes must be above 0 and at most 10000000", *q.FlatlineMinutes)
		}
		o.Flatline = time.Duration(*q.FlatlineMinutes * float64(time.Minute))
	}
	return o, nil
}

func (s *Server) checkQuality(ctx context.Context, uid, name string, units *string, from, to time.Time, opt quality.Options) (*quality.Report, dtbase.ReadingMeasure, error) {
	m, err := s.store.FindReadingMeasure(ctx, uid, name, units)
	if err != nil {
		return nil, m, err
	}
	if opt.Range, err = s.store.FindMeasureRange(ctx, m.MeasureID); err != nil {
		return nil, m, err
	}
	rep, err := quality.Check(ctx, s.store, m, from, to, opt)
	return rep, m, err
}

func (s *Server) dataQuality(ctx context.Context, req *qualityRequest) (qualityOut, error) {
	opt, err := req.options()
	if err != nil {
		return qualityOut{}, err
	}
	rep, m, err := s.checkQuality(ctx, req.UniqueIdentifier, req.MeasureName, req.MeasureUnits, req.DtFrom, req.DtTo, opt)
	if err != nil {
		return qualityOut{}, err
	}
	return qualityOf(m.UniqueIdentifier, m.MeasureName, m.MeasureUnits, rep, true), nil
}

func (s *Server) dataQualityOverview(ctx context.Context, req *qualityOverviewRequest) ([]qualityOut, error) {
	opt, err := req.options()
	if err != nil {
		return nil, err
	}
	var uids []string
	if req.LocationID != nil {
		if uids, err = s.sensorsUnderNow(ctx, *req.LocationID); err != nil {
			return nil, err
		}
	}
	rows, err := quality.Overview(ctx, s.store, uids, req.DtFrom, req.DtTo, opt)
	if err != nil {
		return nil, err
	}
	return each(rows, func(r quality.Row) qualityOut {
		return qualityOf(r.UniqueIdentifier, r.MeasureName, r.MeasureUnits, r.Report, false)
	}), nil
}

func qualityOf(uid, name string, units *string, rep *quality.Report, lists bool) qualityOut {
	out := qualityOut{UniqueIdentifier: uid, MeasureName: name, MeasureUnits: units, Readings: rep.Readings,
		IntervalSeconds: rep.Interval.Seconds(), CoveragePercent: rep.Coverage, GapCount: rep.GapCount,
		OutOfRangeCount: rep.OutOfRangeCount, FlatlineCount: rep.FlatlineCount,
		Gaps: []gapOut{}, OutOfRange: []readingPoint{}, Flatlines: []flatlineOut{},
		Days: each(rep.Days, func(d quality.Day) dayOut { return dayOut{d.Date.Format(time.DateOnly), d.Readings, d.Coverage} })}
	if !lists {
		return out
	}
	out.Gaps = each(rep.Gaps, func(g quality.Gap) gapOut {
		return gapOut{dtbase.Time(g.Start), dtbase.Time(g.End), g.Length().Seconds()}
	})
	out.Flatlines = each(rep.Flatlines, func(f quality.Flatline) flatlineOut {
		return flatlineOut{dtbase.Time(f.Start), dtbase.Time(f.End), f.End.Sub(f.Start).Seconds(), f.Value, f.Readings}
	})
	out.OutOfRange = each(rep.OutOfRange, pointOf)
	return out
}

func (s *Server) setMeasureRange(ctx context.Context, req *measureRangeRequest) (detail, error) {
	return done(s.store.SetMeasureRange(ctx, req.MeasureName, req.MeasureUnits, dtbase.MeasureRange{Min: req.Min, Max: req.Max}), "Measure range set")
}

// dataQualityCSV answers the data quality of one series as CSV.
func (s *Server) dataQualityCSV(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	c := queryCheck{q: q}
	c.require("unique_identifier", "measure_name")
	from, to := c.timeRange()
	var qo qualityOptions
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"gap_factor", &qo.GapFactor}, {"flatline_minutes", &qo.FlatlineMinutes}} {
		if v := q.Get(p.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				c.errs = append(c.errs, fieldError{Type: "float_parsing", Loc: []any{"query", p.name}, Msg: "Input should be a valid number", Input: mustJSON(v)})
				continue
			}
			*p.dst = &f
		}
	}
	if c.failed(w, r) {
		return
	}
	opt, err := qo.options()
	if err != nil {
		writeError(w, r, err)
		return
	}
	var units *string
	if q.Has("measure_units") {
		u := q.Get("measure_units")
		units = &u
	}
	rep, _, err := s.checkQuality(r.Context(), q.Get("unique_identifier"), q.Get("measure_name"), units, from, to, opt)
	if err != nil {
		writeError(w, r, err)
		return
	}
	st := newReadingStream(w, r, "text/csv; charset=utf-8")
	st.header = func(h http.Header) {
		name := dtbase.ReadingCSVFileName(q.Get("unique_identifier"), []string{q.Get("measure_name")})
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "quality_" + name}))
		h.Set("Cache-Control", "no-store")
	}
	var buf bytes.Buffer
	err = quality.WriteCSV(&buf, rep)
	st.buf = append(st.buf, buf.Bytes()...)
	st.finish(err)
}
