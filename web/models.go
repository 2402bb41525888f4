package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// anyScenario is the scenario filter value that selects every scenario.
const anyScenario = "\x00any"

type modelsData struct {
	Models    []modelRow
	Model     string
	Scenarios []dtbase.ModelScenario // of the chosen model
	Scenario  string
	From, To  time.Time
	Runs      []dtbase.ModelRun
	AnyValue  string
}

type modelRow struct {
	dtbase.Model
	Scenarios []dtbase.ModelScenario
}

// modelsPage lists models with their scenarios, and the runs of one model
// filtered by creation date and scenario.
func (h *Handler) modelsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	models, err := h.store.ListModels(ctx)
	if err != nil {
		return err
	}
	scenarios, err := h.store.ListModelScenarios(ctx)
	if err != nil {
		return err
	}
	d := &modelsData{Model: q.Get("model"), Scenario: q.Get("scenario"), AnyValue: anyScenario}
	if d.Scenario == "" {
		d.Scenario = anyScenario
	}
	for _, m := range models {
		row := modelRow{Model: m}
		for _, sc := range scenarios {
			if sc.ModelID == m.ID {
				row.Scenarios = append(row.Scenarios, sc)
			}
		}
		d.Models = append(d.Models, row)
		if d.Model == "" {
			d.Model = m.Name
		}
		if m.Name == d.Model {
			d.Scenarios = row.Scenarios
		}
	}
	// Runs of the last 30 days by default, whole days in UTC.
	today := h.now().Truncate(24 * time.Hour)
	d.From, d.To = today.Add(-29*24*time.Hour), today.Add(24*time.Hour-time.Microsecond)
	if t, err := time.Parse("2006-01-02", q.Get("from")); err == nil {
		d.From = t
	}
	if t, err := time.Parse("2006-01-02", q.Get("to")); err == nil {
		d.To = t.Add(24*time.Hour - time.Microsecond)
	}
	if d.Model != "" {
		f := dtbase.ModelRunFilter{ModelName: d.Model, From: d.From, To: d.To}
		if d.Scenario != anyScenario {
			sc := d.Scenario
			f.Scenario = &sc
		}
		runs, err := h.store.ListModelRuns(ctx, f)
		if err != nil {
			return err
		}
		// Newest first, as people look for the latest forecast.
		for i := len(runs) - 1; i >= 0; i-- {
			d.Runs = append(d.Runs, runs[i])
		}
	}
	h.render(w, r, http.StatusOK, "models.html", &view{Title: "Models", Nav: "models", Session: s, Data: d})
	return nil
}

func (h *Handler) createModel(r *http.Request, s *session) (string, string, error) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return "/models", "", invalid("The model needs a name.")
	}
	if err := h.store.CreateModel(r.Context(), name); err != nil {
		return "/models", "", err
	}
	return "/models?model=" + url.QueryEscape(name), "Model " + name + " created.", nil
}

func (h *Handler) deleteModel(r *http.Request, s *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteModel, "/models", "Model %s deleted.", "Model %s has runs; delete them first.")
}

func (h *Handler) createScenario(r *http.Request, s *session) (string, string, error) {
	model := r.PostFormValue("model")
	desc := strPtr(r.PostFormValue("description"))
	back := "/models?model=" + url.QueryEscape(model)
	if err := h.store.CreateModelScenario(r.Context(), model, desc); err != nil {
		return back, "", err
	}
	return back, "Scenario created.", nil
}

func (h *Handler) deleteScenario(r *http.Request, s *session) (string, string, error) {
	model := r.PostFormValue("model")
	back := "/models?model=" + url.QueryEscape(model)
	var desc *string
	if r.PostFormValue("null") != "1" {
		d := r.PostFormValue("description")
		desc = &d
	}
	if err := h.store.DeleteModelScenario(r.Context(), model, desc); err != nil {
		return back, "", onConflict(err, "The scenario has runs; delete them first.")
	}
	return back, "Scenario deleted.", nil
}

func modelRunURL(id int64) string { return "/models/run?id=" + strconv.FormatInt(id, 10) }

type modelRunData struct {
	Cmp     *dtbase.ModelRunComparison
	Plot    *runPlot
	Details string
	CSV     string
}

// runPlot is what the charts island draws for a run: the forecast with
// its interval band against the observed readings.
type runPlot struct {
	Mode   string      `json:"mode"` // "run"
	Title  string      `json:"title"`
	Units  string      `json:"units"`
	Series []runSeries `json:"series"`
	Bands  [][2]int    `json:"bands"` // pairs of (upper, lower) series indexes
}

type runSeries struct {
	Label string    `json:"label"`
	Kind  string    `json:"kind"` // "observed", "mean", "lower", "upper", "other"
	T     []float64 `json:"t"`
	V     []float64 `json:"v"`
}

// maxObservedPoints bounds the observed series embedded in a run page.
const maxObservedPoints = 4000

func (h *Handler) modelRunPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil {
		h.errorPage(w, r, s, http.StatusNotFound, "Not found", "There is no model run with that id.")
		return nil
	}
	cmp, err := h.store.CompareModelRun(r.Context(), id, 0)
	if err != nil {
		return err
	}
	history, err := h.runHistory(r.Context(), cmp)
	if err != nil {
		return err
	}
	d := &modelRunData{Cmp: cmp, Plot: buildRunPlot(cmp, history), Details: prettyJSON(cmp.Run.Details),
		CSV: "/ui/api/model-run.csv?id=" + strconv.FormatInt(id, 10)}
	h.render(w, r, http.StatusOK, "model_run.html", &view{Title: "Model run " + strconv.FormatInt(id, 10), Nav: "models", Session: s, Data: d,
		Scripts: []string{"js/charts.js"}, Styles: []string{"uplot.css"}, Wide: true})
	return nil
}

// runHistory returns the observed readings before a run's forecast starts,
// over twice the forecast's span, so a fresh forecast is drawn against the
// history it continues. It is empty for a run without a sensor measure.
func (h *Handler) runHistory(ctx context.Context, cmp *dtbase.ModelRunComparison) ([]dtbase.ModelPoint, error) {
	run := cmp.Run
	if run.SensorUniqueID == nil || run.SensorMeasure == nil || run.SensorMeasureDatatype == dtbase.String {
		return nil, nil
	}
	first, last, ok := dtbase.OutputSpan(cmp.Outputs)
	if !ok {
		return nil, nil
	}
	span := max(last.Sub(first), time.Hour)
	before := first.Add(-time.Microsecond)
	if len(cmp.Observed) > 0 && cmp.Observed[0].Time.Before(first) {
		before = cmp.Observed[0].Time.Add(-time.Microsecond)
	}
	in, err := h.store.FindModelInputSeries(ctx, *run.SensorUniqueID, run.SensorMeasure.Name, run.SensorMeasure.Units, first.Add(-2*span), before)
	if err != nil {
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			return nil, nil // the sensor or measure is gone; the outputs still draw
		}
		return nil, err
	}
	return in.Points, nil
}

// buildRunPlot orders the series so that bands pair up: for each "Mean X"
// with "Lower Bound X" and "Upper Bound X", the bounds are filled between.
// history, the readings before the forecast, is drawn as observed too.
func buildRunPlot(cmp *dtbase.ModelRunComparison, history []dtbase.ModelPoint) *runPlot {
	p := &runPlot{Mode: "run", Title: cmp.Run.ModelName}
	if sm := cmp.Run.SensorMeasure; sm != nil {
		p.Units = derefString(sm.Units)
	}
	if observed := append(history[:len(history):len(history)], cmp.Observed...); len(observed) > 0 {
		label := "observed"
		if cmp.Run.SensorUniqueID != nil && cmp.Run.SensorMeasure != nil {
			label = *cmp.Run.SensorUniqueID + " " + cmp.Run.SensorMeasure.Name
		}
		rs := runSeries{Label: label, Kind: "observed"}
		step := 1
		if len(observed) > maxObservedPoints {
			step = (len(observed) + maxObservedPoints - 1) / maxObservedPoints
		}
		for i := 0; i < len(observed); i += step {
			if f, ok := observed[i].Value.Float(); ok {
				rs.T = append(rs.T, float64(observed[i].Time.UnixMicro())/1e6)
				rs.V = append(rs.V, f)
			}
		}
		p.Series = append(p.Series, rs)
	}
	index := map[string]int{}
	for _, o := range cmp.Outputs {
		if o.Measure.Datatype == dtbase.String {
			continue
		}
		kind := "other"
		switch {
		case strings.HasPrefix(o.Measure.Name, "Mean "):
			kind = "mean"
		case strings.HasPrefix(o.Measure.Name, "Lower Bound "):
			kind = "lower"
		case strings.HasPrefix(o.Measure.Name, "Upper Bound "):
			kind = "upper"
		}
		rs := runSeries{Label: o.Measure.Name, Kind: kind}
		if o.Measure.Units != "" {
			rs.Label += " (" + o.Measure.Units + ")"
		}
		for _, pt := range o.Points {
			if f, ok := pt.Value.Float(); ok {
				rs.T = append(rs.T, float64(pt.Time.UnixMicro())/1e6)
				rs.V = append(rs.V, f)
			}
		}
		index[o.Measure.Name] = len(p.Series)
		p.Series = append(p.Series, rs)
	}
	for name := range index {
		if base, ok := strings.CutPrefix(name, "Mean "); ok {
			lo, okLo := index["Lower Bound "+base]
			up, okUp := index["Upper Bound "+base]
			if okLo && okUp {
				p.Bands = append(p.Bands, [2]int{up, lo})
			}
		}
	}
	sort.Slice(p.Bands, func(i, j int) bool { return p.Bands[i][0] < p.Bands[j][0] })
	return p
}

func (h *Handler) deleteModelRun(r *http.Request, s *session) (string, string, error) {
	id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err != nil {
		return "/models", "", invalid("No run was chosen.")
	}
	run, err := h.store.FindModelRun(r.Context(), id)
	if err != nil {
		return "/models", "", err
	}
	if err := h.store.DeleteModelRun(r.Context(), id); err != nil {
		return modelRunURL(id), "", err
	}
	return "/models?model=" + url.QueryEscape(run.ModelName), "Model run " + strconv.FormatInt(id, 10) + " deleted.", nil
}

// modelRunCSV writes a run's outputs and the observed readings as one
// table: a row per timestamp, a column per output and one for the
// observations, at full resolution.
func (h *Handler) modelRunCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil {
		return invalid("id must be a model run id")
	}
	cmp, err := h.store.CompareModelRun(r.Context(), id, 0)
	if err != nil {
		return err
	}
	header := []string{"timestamp"}
	cols := []map[int64]string{}
	for _, o := range cmp.Outputs {
		name := o.Measure.Name
		if o.Measure.Units != "" {
			name += " (" + o.Measure.Units + ")"
		}
		header = append(header, name)
		m := make(map[int64]string, len(o.Points))
		for _, p := range o.Points {
			m[p.Time.UnixMicro()] = p.Value.String()
		}
		cols = append(cols, m)
	}
	if cmp.Run.SensorUniqueID != nil && cmp.Run.SensorMeasure != nil {
		header = append(header, "observed "+*cmp.Run.SensorUniqueID+" "+cmp.Run.SensorMeasure.Name)
		m := make(map[int64]string, len(cmp.Observed))
		for _, p := range cmp.Observed {
			m[p.Time.UnixMicro()] = p.Value.String()
		}
		cols = append(cols, m)
	}
	seen := map[int64]bool{}
	var times []int64
	for _, c := range cols {
		for t := range c {
			if !seen[t] {
				seen[t] = true
				times = append(times, t)
			}
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="model_run_`+strconv.FormatInt(id, 10)+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(header)
	row := make([]string, len(header))
	for _, t := range times {
		row[0] = dtbase.FormatTime(time.UnixMicro(t))
		for i, c := range cols {
			row[i+1] = c[t]
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
