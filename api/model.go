package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
)

// Models (docs/compatibility.md): models, their scenarios, model measures and
// runs with their outputs, plus our extensions: the id of a new run,
// deleting a run, comparing a run with the readings it predicts, and
// running the ARIMA forecaster.

type modelNameRequest struct {
	Name string `json:"name" dt:"max=name"`
}

type modelBody struct {
	Name string `json:"name"`
}

type modelScenarioBody struct {
	ModelName   string  `json:"model_name" dt:"max=name"`
	Description *string `json:"description" dt:"max=description"`
}

type modelMeasureBody struct {
	Name     string `json:"name" dt:"max=name"`
	Units    string `json:"units" dt:"max=units"`
	Datatype string `json:"datatype"`
}

type deleteModelMeasureRequest struct {
	Name string `json:"name" dt:"max=name"`
	// Units picks one of several measures sharing the name.
	Units *string `json:"units" dt:"optional,max=units"`
}

type sensorMeasureBody struct {
	Name  string  `json:"name" dt:"max=name"`
	Units *string `json:"units" dt:"max=units"`
}

type modelSeriesBody struct {
	MeasureName string `json:"measure_name" dt:"max=name"`
	// MeasureUnits picks one of several model measures sharing the name.
	MeasureUnits *string        `json:"measure_units" dt:"optional,max=units"`
	Values       []dtbase.Value `json:"values"`
	Timestamps   []time.Time    `json:"timestamps"`
}

type insertModelRunRequest struct {
	ModelName           string             `json:"model_name" dt:"max=name"`
	ScenarioDescription string             `json:"scenario_description" dt:"max=description"`
	MeasuresAndValues   []modelSeriesBody  `json:"measures_and_values"`
	TimeCreated         *time.Time         `json:"time_created" dt:"optional"`
	CreateScenario      bool               `json:"create_scenario" dt:"optional"`
	SensorUniqueID      *string            `json:"sensor_unique_id" dt:"optional,max=name"`
	SensorMeasure       *sensorMeasureBody `json:"sensor_measure" dt:"optional"`
}

// insertModelRunResponse keeps the original's detail and adds the run id.
type insertModelRunResponse struct {
	Detail string `json:"detail"`
	ID     int64  `json:"id"`
}

type listModelRunsRequest struct {
	ModelName string     `json:"model_name" dt:"max=name"`
	DtFrom    *time.Time `json:"dt_from" dt:"optional"`
	DtTo      *time.Time `json:"dt_to" dt:"optional"`
	Scenario  *string    `json:"scenario" dt:"optional,max=description"`
}

// modelRunBody is a run in list-model-runs, keys in the original's order.
type modelRunBody struct {
	ID                  int64              `json:"id"`
	ModelID             int64              `json:"model_id"`
	ModelName           string             `json:"model_name"`
	ScenarioID          int64              `json:"scenario_id"`
	ScenarioDescription *string            `json:"scenario_description"`
	TimeCreated         dtbase.Time        `json:"time_created"`
	SensorUniqueID      *string            `json:"sensor_unique_id"`
	SensorMeasure       *sensorMeasureBody `json:"sensor_measure"`
}

func modelRunBodyOf(r dtbase.ModelRun) modelRunBody {
	b := modelRunBody{ID: r.ID, ModelID: r.ModelID, ModelName: r.ModelName, ScenarioID: r.ScenarioID,
		ScenarioDescription: r.ScenarioDescription, TimeCreated: dtbase.Time(r.TimeCreated), SensorUniqueID: r.SensorUniqueID}
	if r.SensorMeasure != nil {
		b.SensorMeasure = &sensorMeasureBody{Name: r.SensorMeasure.Name, Units: r.SensorMeasure.Units}
	}
	return b
}

type runIDRequest struct {
	RunID int64 `json:"run_id"`
}

type runSensorMeasureResponse struct {
	SensorUniqueID *string            `json:"sensor_unique_id"`
	SensorMeasure  *sensorMeasureBody `json:"sensor_measure"`
}

// modelOutputs renders a run's outputs as get-model-run does: one key per
// measure name in product id order, each a series in time order.
type modelOutputs struct {
	outputs []dtbase.ModelOutput
}

// MarshalJSON writes {"<measure>":[{"value":v,"timestamp":t},...],...}.
func (m modelOutputs) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, o := range m.outputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = dtbase.StringValue(o.Measure.Name).AppendJSON(b)
		b = append(b, ':')
		b = appendModelPoints(b, o.Points)
	}
	return append(b, '}'), nil
}

func (modelOutputs) openAPISchema() map[string]any {
	return map[string]any{"type": "object", "description": "one key per model measure of the run, in the order the outputs were stored, each a series of {value, timestamp} in time order",
		"additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "object",
			"properties": map[string]any{"value": map[string]any{}, "timestamp": map[string]any{"type": "string", "format": "date-time"}}}}}
}

// modelPoints renders a series as [{"value":v,"timestamp":t},...].
type modelPoints struct {
	points []dtbase.ModelPoint
}

// MarshalJSON writes the series without reflection: a run can be long.
func (m modelPoints) MarshalJSON() ([]byte, error) { return appendModelPoints(nil, m.points), nil }

func (modelPoints) openAPISchema() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "object",
		"properties": map[string]any{"value": map[string]any{}, "timestamp": map[string]any{"type": "string", "format": "date-time"}}}}
}

func appendModelPoints(b []byte, points []dtbase.ModelPoint) []byte {
	b = append(b, '[')
	for j, p := range points {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = p.Value.AppendJSON(b)
		b = append(b, `,"timestamp":"`...)
		b = dtbase.AppendTime(b, p.Time)
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

type compareModelRunRequest struct {
	RunID int64 `json:"run_id"`
	// ToleranceMinutes is the half-width of the window in which readings
	// are paired with a forecast timestamp; 15 by default.
	ToleranceMinutes *float64 `json:"tolerance_minutes" dt:"optional"`
}

type forecastSkillBody struct {
	Measure    string   `json:"measure"`
	LowerBound *string  `json:"lower_bound"`
	UpperBound *string  `json:"upper_bound"`
	N          int      `json:"n"`
	MAE        *float64 `json:"mae"`
	RMSE       *float64 `json:"rmse"`
	Coverage   *float64 `json:"coverage"`
}

type modelRunComparisonBody struct {
	Run              modelRunBody        `json:"run"`
	Forecast         modelOutputs        `json:"forecast"`
	Observed         modelPoints         `json:"observed"`
	ToleranceMinutes float64             `json:"tolerance_minutes"`
	Metrics          []forecastSkillBody `json:"metrics"`
	Details          JSONValue           `json:"details"`
}

// runARIMARequest is the body of run-arima; every field but sensors and
// measures has the default of the original's arima.py configuration
// (docs/compatibility.md).
type runARIMARequest struct {
	Sensors         []string           `json:"sensors" dt:"max=name"`
	Measures        []arimaMeasureBody `json:"measures"`
	Order           *[]int             `json:"order" dt:"optional"`
	SeasonalOrder   *[]int             `json:"seasonal_order" dt:"optional"`
	Trend           *string            `json:"trend" dt:"optional"`
	Auto            *bool              `json:"auto" dt:"optional"`
	NumDaysTraining *int               `json:"num_days_training" dt:"optional"`
	PredictFrom     *time.Time         `json:"predict_from" dt:"optional"`
	HoursForecast   *int               `json:"hours_forecast" dt:"optional"`
	Alpha           *float64           `json:"alpha" dt:"optional"`
	MinsFromTheHour *int               `json:"mins_from_the_hour" dt:"optional"`
	Fill            *string            `json:"fill" dt:"optional"`
	CV              *bool              `json:"cv" dt:"optional"`
	CVFolds         *int               `json:"cv_folds" dt:"optional"`
	CVRefit         *bool              `json:"cv_refit" dt:"optional"`
	ModelName       *string            `json:"model_name" dt:"optional,max=name"`
	Scenario        *string            `json:"scenario" dt:"optional,max=description"`
}

type arimaMeasureBody struct {
	Name string `json:"name" dt:"max=name"`
	// Units picks one of several measures of the sensor's type sharing the
	// name; absent or null resolves by name alone.
	Units *string `json:"units" dt:"optional,max=units"`
}

type runARIMAResponse struct {
	Detail string               `json:"detail"`
	Runs   []dtbase.ForecastRun `json:"runs"`
}

// arimaParams turns a run-arima body into the forecast's parameters: the
// original's, with the ARIMA family's settings.
func arimaParams(req *runARIMARequest) (dtbase.ForecastParams, error) {
	p := dtbase.DefaultForecastParams()
	p.Model.Settings = map[string]any{}
	p.Sensors = req.Sensors
	for _, m := range req.Measures {
		p.Measures = append(p.Measures, dtbase.ForecastMeasure{Name: m.Name, Units: m.Units})
	}
	if o := req.Order; o != nil {
		if len(*o) != 3 {
			return p, invalidField([]any{"order"}, "order must be [p, d, q]", *o)
		}
		p.Model.Settings["order"] = *o
	}
	if o := req.SeasonalOrder; o != nil {
		if len(*o) != 4 {
			return p, invalidField([]any{"seasonal_order"}, "seasonal_order must be [P, D, Q, s]", *o)
		}
		p.Model.Settings["seasonal_order"] = *o
	}
	if req.Trend != nil {
		p.Model.Settings["trend"] = *req.Trend
	}
	setGiven(&p.TrainingDays, req.NumDaysTraining)
	setGiven(&p.HoursForecast, req.HoursForecast)
	setGiven(&p.CVFolds, req.CVFolds)
	setGiven(&p.PredictFrom, req.PredictFrom)
	setGiven(&p.Alpha, req.Alpha)
	if m := req.MinsFromTheHour; m != nil {
		// Checked before the conversion, which would wrap a huge value
		// (307445735 minutes) around into the allowed range.
		if *m < 0 || *m > 30 {
			return p, dtbase.Errorf(dtbase.EINVALID, "mins_from_the_hour must be between 0 and 30, got %d", *m)
		}
		p.MinsFromTheHour = time.Duration(*m) * time.Minute
	}
	if req.Fill != nil {
		p.Fill = dtbase.ForecastFill(*req.Fill)
	}
	setGiven(&p.CV, req.CV)
	setGiven(&p.Model.Auto, req.Auto)
	setGiven(&p.CVRefit, req.CVRefit)
	setGiven(&p.ModelName, req.ModelName)
	setGiven(&p.Scenario, req.Scenario)
	return p, nil
}

func (s *Server) modelRoutes() {
	handle(s, http.MethodPost, "/model/insert-model", dtbase.RoleEditor, http.StatusCreated, "Create a model", s.insertModel)
	handle(s, http.MethodGet, "/model/list-models", dtbase.RoleViewer, http.StatusOK, "List every model", s.listModels)
	handle(s, http.MethodPost, "/model/delete-model", dtbase.RoleEditor, http.StatusOK, "Delete a model without runs, with its scenarios",
		s.deleteModel)
	handle(s, http.MethodPost, "/model/insert-model-scenario", dtbase.RoleEditor, http.StatusCreated, "Add a scenario to a model",
		s.insertModelScenario)
	handle(s, http.MethodGet, "/model/list-model-scenarios", dtbase.RoleViewer, http.StatusOK, "List every model scenario", s.listModelScenarios)
	handle(s, http.MethodPost, "/model/delete-model-scenario", dtbase.RoleEditor, http.StatusOK, "Delete a scenario without runs",
		s.deleteModelScenario)
	handle(s, http.MethodPost, "/model/insert-model-measure", dtbase.RoleEditor, http.StatusCreated, "Create a model measure", s.insertModelMeasure)
	handle(s, http.MethodGet, "/model/list-model-measures", dtbase.RoleViewer, http.StatusOK, "List every model measure", s.listModelMeasures)
	handle(s, http.MethodPost, "/model/delete-model-measure", dtbase.RoleEditor, http.StatusOK, "Delete a model measure no run uses; units pick one of several with the name",
		s.deleteModelMeasure)
	insertRun := handle(s, http.MethodPost, "/model/insert-model-run", dtbase.RoleEditor, http.StatusCreated, "Store a model run with its outputs; returns the run's id",
		s.insertModelRun)
	insertRun.description = insertModelRunDoc
	handle(s, http.MethodPost, "/model/list-model-runs", dtbase.RoleViewer, http.StatusOK, "List a model's runs created between dt_from (default a week ago) and dt_to (default now)",
		s.listModelRuns)
	handle(s, http.MethodPost, "/model/get-model-run", dtbase.RoleViewer, http.StatusOK, "Get a run's outputs, keyed by measure name; {} for an unknown run",
		s.getModelRun)
	handle(s, http.MethodPost, "/model/get-model-run-sensor-measure", dtbase.RoleViewer, http.StatusOK, "Get the sensor and sensor measure a run predicts",
		s.getModelRunSensorMeasure)
	handle(s, http.MethodPost, "/model/delete-model-run", dtbase.RoleEditor, http.StatusOK, "Delete a run with its outputs", s.deleteModelRun)
	compare := handle(s, http.MethodPost, "/model/get-model-run-comparison", dtbase.RoleViewer, http.StatusOK,
		"Get a run's forecast beside the observed readings it predicts, with skill metrics", s.getModelRunComparison)
	compare.description = getModelRunComparisonDoc
	arimaRoute := handle(s, http.MethodPost, "/model/run-arima", dtbase.RoleEditor, http.StatusCreated,
		"Forecast sensors with the ARIMA service and store the runs", s.runArima)
	arimaRoute.description = runArimaDoc
}

func (s *Server) insertModel(ctx context.Context, req *modelNameRequest) (detail, error) {
	return done(s.store.CreateModel(ctx, req.Name), "Model inserted")
}

func (s *Server) listModels(ctx context.Context, _ *noBody) ([]modelBody, error) {
	models, err := s.store.ListModels(ctx)
	return each(models, func(m dtbase.Model) modelBody {
		return modelBody{m.Name}
	}), err
}

func (s *Server) deleteModel(ctx context.Context, req *modelNameRequest) (detail, error) {
	return done(s.store.DeleteModel(ctx, req.Name), "Model deleted")
}

func (s *Server) insertModelScenario(ctx context.Context, req *modelScenarioBody) (detail, error) {
	return done(s.store.CreateModelScenario(ctx, req.ModelName, req.Description), "Model scenario inserted")
}

func (s *Server) listModelScenarios(ctx context.Context, _ *noBody) ([]modelScenarioBody, error) {
	scenarios, err := s.store.ListModelScenarios(ctx)
	return each(scenarios, func(sc dtbase.ModelScenario) modelScenarioBody {
		return modelScenarioBody{sc.ModelName, sc.Description}
	}), err
}

func (s *Server) deleteModelScenario(ctx context.Context, req *modelScenarioBody) (detail, error) {
	return done(s.store.DeleteModelScenario(ctx, req.ModelName, req.Description), "Model scenario deleted")
}

func (s *Server) insertModelMeasure(ctx context.Context, req *modelMeasureBody) (detail, error) {
	m := &dtbase.ModelMeasure{Name: req.Name, Units: req.Units, Datatype: dtbase.Datatype(req.Datatype)}
	return done(s.store.CreateModelMeasure(ctx, m), "Model measure inserted")
}

func (s *Server) listModelMeasures(ctx context.Context, _ *noBody) ([]modelMeasureBody, error) {
	ms, err := s.store.ListModelMeasures(ctx)
	return each(ms, func(m dtbase.ModelMeasure) modelMeasureBody {
		return modelMeasureBody{m.Name, m.Units, string(m.Datatype)}
	}), err
}

func (s *Server) deleteModelMeasure(ctx context.Context, req *deleteModelMeasureRequest) (detail, error) {
	return done(s.store.DeleteModelMeasure(ctx, req.Name, req.Units), "Model measure deleted")
}

// insertModelRunDoc describes /model/insert-model-run in the OpenAPI document.
const insertModelRunDoc = "The scenario must exist unless create_scenario is true. sensor_unique_id and sensor_measure " +
	"link the run to what it predicts. Each measure is looked up by name, and by measure_units when several share it; " +
	"every value is checked against its datatype. A series with no values stores nothing. A run is unique per " +
	"(model, scenario, time_created): a duplicate is a 409."

func (s *Server) insertModelRun(ctx context.Context, req *insertModelRunRequest) (insertModelRunResponse, error) {
	run := &dtbase.NewModelRun{ModelName: req.ModelName, ScenarioDescription: req.ScenarioDescription,
		CreateScenario: req.CreateScenario, SensorUniqueID: req.SensorUniqueID, Series: make([]dtbase.NewModelSeries, len(req.MeasuresAndValues))}
	setGiven(&run.TimeCreated, req.TimeCreated)
	if sm := req.SensorMeasure; sm != nil {
		run.SensorMeasure = &dtbase.ModelSensorMeasure{Name: sm.Name, Units: sm.Units}
	}
	for i, mv := range req.MeasuresAndValues {
		if len(mv.Values) != len(mv.Timestamps) {
			return insertModelRunResponse{}, dtbase.Errorf(dtbase.EINVALID,
				"measures_and_values[%d]: %d values but %d timestamps", i, len(mv.Values), len(mv.Timestamps))
		}
		run.Series[i] = dtbase.NewModelSeries{MeasureName: mv.MeasureName, MeasureUnits: mv.MeasureUnits, Values: mv.Values, Timestamps: mv.Timestamps}
	}
	if err := s.store.CreateModelRuns(ctx, []*dtbase.NewModelRun{run}); err != nil {
		return insertModelRunResponse{}, err
	}
	return insertModelRunResponse{"Model run inserted", run.ID}, nil
}

func (s *Server) listModelRuns(ctx context.Context, req *listModelRunsRequest) ([]modelRunBody, error) {
	now := time.Now().UTC()
	f := dtbase.ModelRunFilter{ModelName: req.ModelName, From: now.AddDate(0, 0, -7), To: now, Scenario: req.Scenario}
	setGiven(&f.From, req.DtFrom)
	setGiven(&f.To, req.DtTo)
	runs, err := s.store.ListModelRuns(ctx, f)
	return each(runs, modelRunBodyOf), err
}

func (s *Server) getModelRun(ctx context.Context, req *runIDRequest) (modelOutputs, error) {
	outputs, err := s.store.FindModelRunOutputs(ctx, req.RunID)
	return modelOutputs{outputs}, err
}

func (s *Server) getModelRunSensorMeasure(ctx context.Context, req *runIDRequest) (runSensorMeasureResponse, error) {
	r, err := s.store.FindModelRun(ctx, req.RunID)
	if err != nil {
		return runSensorMeasureResponse{}, err
	}
	b := modelRunBodyOf(*r)
	return runSensorMeasureResponse{b.SensorUniqueID, b.SensorMeasure}, nil
}

func (s *Server) deleteModelRun(ctx context.Context, req *runIDRequest) (detail, error) {
	return done(s.store.DeleteModelRun(ctx, req.RunID), "Model run deleted")
}

// getModelRunComparisonDoc describes /model/get-model-run-comparison in the OpenAPI document.
const getModelRunComparisonDoc = "observed holds the readings of the run's sensor and sensor measure from the first forecast " +
	"timestamp minus the tolerance to the last plus the tolerance ([] when the run is linked to none); for a run of a derived " +
	"measure (details.derived_measure), the derived series of its sensor, named as the run's sensor measure. Each numeric output " +
	"that is not a bound is scored: every output timestamp t is paired with the mean of the readings in [t - tol, t + tol), " +
	"tol being tolerance_minutes (default 15) capped at half the output's smallest time step; timestamps without readings " +
	"are left out. mae and rmse are of observed - forecast. An output \"Mean X\" is paired by name with \"Lower Bound X\" " +
	"and \"Upper Bound X\"; coverage is the share of paired observations inside [lower, upper]. Metrics are null until " +
	"observations exist. details is what the writer stored with the run (the ARIMA service: order, parameters, fit " +
	"statistics, training data, cross-validation scores), or null."

func (s *Server) getModelRunComparison(ctx context.Context, req *compareModelRunRequest) (modelRunComparisonBody, error) {
	tol := dtbase.DefaultComparisonTolerance
	if m := req.ToleranceMinutes; m != nil {
		if !(*m > 0 && *m <= 7*24*60) {
			return modelRunComparisonBody{}, invalidField([]any{"tolerance_minutes"}, "tolerance_minutes must be above 0 and at most a week", *m)
		}
		tol = time.Duration(*m * float64(time.Minute))
	}
	c, err := s.store.CompareModelRun(ctx, req.RunID, tol)
	if err != nil {
		return modelRunComparisonBody{}, err
	}
	out := modelRunComparisonBody{Run: modelRunBodyOf(c.Run), Forecast: modelOutputs{c.Outputs}, Observed: modelPoints{c.Observed},
		ToleranceMinutes: c.Tolerance.Minutes(), Metrics: make([]forecastSkillBody, len(c.Skill)), Details: JSONValue(c.Run.Details)}
	for i, sk := range c.Skill {
		out.Metrics[i] = forecastSkillBody{sk.Measure, sk.Lower, sk.Upper, sk.N, sk.MAE, sk.RMSE, sk.Coverage}
	}
	return out, nil
}

// runArimaDoc describes /model/run-arima in the OpenAPI document.
const runArimaDoc = "For each sensor and measure: reads num_days_training days (default 60) of readings up to " +
	"predict_from (default now), snaps each to the hour when within mins_from_the_hour (default 15) of it, averages per hour, " +
	"fills gaps (fill: \"interpolate\", the default, \"carry\", or \"none\" to leave them to the Kalman filter as missing values), fits SARIMA order × seasonal_order (default " +
	"[4,1,2] × [1,1,0,24], trend \"n\"; also \"c\", \"t\", \"ct\") by exact maximum likelihood, or with auto: true " +
	"chooses the order per series as R's auto.arima does (KPSS and seasonal-strength tests for d and D, a stepwise search on " +
	"AICc; only the season length of seasonal_order is used, and it takes longer), forecasts hours_forecast hours " +
	"(default 48) with a 1 - alpha interval (default 0.32: 68%), and stores model model_name (default \"Arima\"), scenario " +
	"scenario (default \"Business as usual\"), measures \"Mean <m>\", \"Upper Bound <m>\", \"Lower Bound <m>\" (created when " +
	"missing), each run linked to its sensor and measure. cv: true adds rolling-origin cross-validation scores (cv_folds, " +
	"default 4; cv_refit) to the run's details. All series are fitted before anything is written; data that cannot be " +
	"fitted (no or too few readings, mostly missing or stale data, a constant series, a fit that fails or does not " +
	"converge) is a 400 naming each failure, and nothing is written. A fit of the default order on 60 days takes a " +
	"couple of seconds per series."

func (s *Server) runArima(ctx context.Context, req *runARIMARequest) (runARIMAResponse, error) {
	p, err := arimaParams(req)
	if err != nil {
		return runARIMAResponse{}, err
	}
	if s.cfg.Forecasts == nil {
		return runARIMAResponse{}, dtbase.Errorf(dtbase.EINVALID, "Forecasting is not enabled on this server")
	}
	runs, err := s.cfg.Forecasts.RunForecasts(ctx, p)
	if err != nil {
		return runARIMAResponse{}, err
	}
	return runARIMAResponse{Detail: "ARIMA forecasts inserted", Runs: runs}, nil
}
