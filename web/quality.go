package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dtbase/dtbase/quality"
)

// Bounds of the quality page's range, in days.
const (
	defaultQualityDays = 7
	maxQualityDays     = 366
)

type qualityData struct {
	Days     int
	Location int64 // 0: every sensor
	Nodes    []*treeNode
	Dates    []string
	Rows     []qualityRow
}

type qualityRow struct {
	quality.Row
	Cells []qualityCell
}

type qualityCell struct {
	Date     string
	Coverage float64
	Readings int
	Class    string
}

// qualityRange reads ?days= and ?location= and returns the range: whole
// UTC days ending with today.
func (h *Handler) qualityRange(r *http.Request) (days int, loc int64, from, to time.Time) {
	days = defaultQualityDays
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && n >= 1 {
		days = min(n, maxQualityDays)
	}
	loc, _ = strconv.ParseInt(r.URL.Query().Get("location"), 10, 64)
	to = h.now()
	from = to.Truncate(24*time.Hour).AddDate(0, 0, 1-days)
	return days, loc, from, to
}

func (h *Handler) qualityPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	days, loc, from, to := h.qualityRange(r)
	d := &qualityData{Days: days, Location: loc}
	var uids []string
	if loc != 0 {
		ps, err := h.store.SensorsUnder(ctx, loc, to)
		if err != nil {
			return err
		}
		uids = []string{}
		for _, p := range ps {
			uids = append(uids, p.UniqueIdentifier)
		}
	}
	nodes, err := h.store.LocationTree(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		d.Nodes = append(d.Nodes, &treeNode{ID: n.ID, Schema: n.Schema, Label: nodeLabel(&n.Location)})
	}
	rows, err := quality.Overview(ctx, h.store, uids, from, to, quality.Options{})
	if err != nil {
		return err
	}
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		d.Dates = append(d.Dates, day.Format("01-02"))
	}
	for _, row := range rows {
		qr := qualityRow{Row: row}
		for _, day := range row.Report.Days {
			qr.Cells = append(qr.Cells, qualityCell{day.Date.Format(time.DateOnly), day.Coverage, day.Readings, coverageClass(day.Coverage, day.Readings)})
		}
		d.Rows = append(d.Rows, qr)
	}
	h.render(w, r, http.StatusOK, "quality.html", &view{Title: "Data quality", Nav: "quality", Session: s, Data: d, Wide: true})
	return nil
}

// coverageClass buckets a day's coverage for the heat-map's colours.
func coverageClass(c float64, readings int) string {
	switch {
	case readings == 0:
		return "cov-none"
	case c >= 99:
		return "cov-full"
	case c >= 90:
		return "cov-high"
	case c >= 50:
		return "cov-mid"
	}
	return "cov-low"
}

// qualityCSV downloads the report of one series over the page's range.
func (h *Handler) qualityCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	_, _, from, to := h.qualityRange(r)
	q := r.URL.Query()
	var units *string
	if q.Has("units") {
		u := q.Get("units")
		units = &u
	}
	m, err := h.store.FindReadingMeasure(ctx, q.Get("id"), q.Get("measure"), units)
	if err != nil {
		return err
	}
	opt := quality.Options{}
	if opt.Range, err = h.store.FindMeasureRange(ctx, m.MeasureID); err != nil {
		return err
	}
	rep, err := quality.Check(ctx, h.store, m, from, to, opt)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="quality.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := quality.WriteCSV(w, rep); err != nil {
		h.log.Info("quality CSV cut short", "err", err)
	}
	return nil
}
