package client

import (
	"context"
	"net/http"
	"time"
)

// Model is an entry of ListModels.
type Model struct {
	Name string `json:"name"`
}

// ModelScenario is a scenario of a model; Description may be nil.
type ModelScenario struct {
	ModelName   string  `json:"model_name"`
	Description *string `json:"description"`
}

// ModelMeasure is a measure models produce, identified by (name, units).
type ModelMeasure struct {
	Name     string   `json:"name"`
	Units    string   `json:"units"`
	Datatype Datatype `json:"datatype"`
}

// MeasureRef names a sensor measure by name and units.
type MeasureRef struct {
	Name  *string `json:"name"`
	Units *string `json:"units"`
}

// InsertModel creates a model (/model/insert-model); 409 if it exists.
func (c *Client) InsertModel(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/model/insert-model", map[string]string{"name": name}, http.StatusCreated, nil)
}

// ListModels lists every model (/model/list-models).
func (c *Client) ListModels(ctx context.Context) ([]Model, error) {
	return list[Model](ctx, c, http.MethodGet, "/model/list-models", nil)
}

// DeleteModel deletes a model and its scenarios (/model/delete-model).
func (c *Client) DeleteModel(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/model/delete-model", map[string]string{"name": name}, http.StatusOK, nil)
}

// InsertModelScenario creates a scenario of a model
// (/model/insert-model-scenario); description may be nil.
func (c *Client) InsertModelScenario(ctx context.Context, modelName string, description *string) error {
	return c.call(ctx, http.MethodPost, "/model/insert-model-scenario",
		ModelScenario{modelName, description}, http.StatusCreated, nil)
}

// ListModelScenarios lists every scenario (/model/list-model-scenarios).
func (c *Client) ListModelScenarios(ctx context.Context) ([]ModelScenario, error) {
	return list[ModelScenario](ctx, c, http.MethodGet, "/model/list-model-scenarios", nil)
}

// DeleteModelScenario deletes a scenario (/model/delete-model-scenario).
func (c *Client) DeleteModelScenario(ctx context.Context, modelName string, description *string) error {
	return c.call(ctx, http.MethodPost, "/model/delete-model-scenario",
		ModelScenario{modelName, description}, http.StatusOK, nil)
}

// InsertModelMeasure creates a model measure (/model/insert-model-measure).
func (c *Client) InsertModelMeasure(ctx context.Context, m ModelMeasure) error {
	return c.call(ctx, http.MethodPost, "/model/insert-model-measure", m, http.StatusCreated, nil)
}

// ListModelMeasures lists every model measure (/model/list-model-measures).
func (c *Client) ListModelMeasures(ctx context.Context) ([]ModelMeasure, error) {
	return list[ModelMeasure](ctx, c, http.MethodGet, "/model/list-model-measures", nil)
}

// DeleteModelMeasure deletes the model measures with this name
// (/model/delete-model-measure).
func (c *Client) DeleteModelMeasure(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/model/delete-model-measure", map[string]string{"name": name}, http.StatusOK, nil)
}

// ModelSeries is the output of a model run for one measure.
type ModelSeries struct {
	MeasureName string
	Values      []Value
	Timestamps  []time.Time
}

// NewModelRun is the body of InsertModelRun. A nil TimeCreated means now.
// SensorUniqueID and SensorMeasure name the sensor series the run
// forecasts, for comparison.
type NewModelRun struct {
	ModelName           string
	ScenarioDescription string
	Measures            []ModelSeries
	TimeCreated         *time.Time
	CreateScenario      bool
	SensorUniqueID      *string
	SensorMeasure       *MeasureRef
}

// InsertedModelRun is the answer of InsertModelRun. ID is dtbase's
// extension; it is 0 against the original backend, which does not return
// it.
type InsertedModelRun struct {
	Detail string `json:"detail"`
	ID     int64  `json:"id"`
}

// InsertModelRun stores a model run and its outputs
// (/model/insert-model-run) and returns the new run's id.
func (c *Client) InsertModelRun(ctx context.Context, r NewModelRun) (InsertedModelRun, error) {
	type series struct {
		MeasureName string     `json:"measure_name"`
		Values      wireValues `json:"values"`
		Timestamps  wireTimes  `json:"timestamps"`
	}
	req := struct {
		ModelName           string      `json:"model_name"`
		ScenarioDescription string      `json:"scenario_description"`
		MeasuresAndValues   []series    `json:"measures_and_values"`
		TimeCreated         *wireTime   `json:"time_created,omitempty"`
		CreateScenario      bool        `json:"create_scenario"`
		SensorUniqueID      *string     `json:"sensor_unique_id"`
		SensorMeasure       *MeasureRef `json:"sensor_measure"`
	}{ModelName: r.ModelName, ScenarioDescription: r.ScenarioDescription, MeasuresAndValues: []series{},
		CreateScenario: r.CreateScenario, SensorUniqueID: r.SensorUniqueID, SensorMeasure: r.SensorMeasure}
	if r.TimeCreated != nil {
		req.TimeCreated = &wireTime{r.TimeCreated}
	}
	for _, m := range r.Measures {
		req.MeasuresAndValues = append(req.MeasuresAndValues, series{m.MeasureName, m.Values, m.Timestamps})
	}
	return fetch[InsertedModelRun](ctx, c, http.MethodPost, "/model/insert-model-run", req, http.StatusCreated)
}

// ModelRun is an entry of ListModelRuns.
type ModelRun struct {
	ID                  int64       `json:"id"`
	ModelID             int64       `json:"model_id"`
	ModelName           string      `json:"model_name"`
	ScenarioID          int64       `json:"scenario_id"`
	ScenarioDescription *string     `json:"scenario_description"`
	TimeCreated         time.Time   `json:"time_created"`
	SensorUniqueID      *string     `json:"sensor_unique_id"`
	SensorMeasure       *MeasureRef `json:"sensor_measure"`
}

// ModelRunsQuery selects runs of a model created between From and To
// (default: the last seven days), of one scenario when Scenario is set.
type ModelRunsQuery struct {
	ModelName string
	From, To  *time.Time
	Scenario  *string
}

// ListModelRuns lists a model's runs (/model/list-model-runs).
func (c *Client) ListModelRuns(ctx context.Context, q ModelRunsQuery) ([]ModelRun, error) {
	req := struct {
		ModelName string    `json:"model_name"`
		DtFrom    *wireTime `json:"dt_from,omitempty"`
		DtTo      *wireTime `json:"dt_to,omitempty"`
		Scenario  *string   `json:"scenario,omitempty"`
	}{ModelName: q.ModelName, Scenario: q.Scenario}
	if q.From != nil {
		req.DtFrom = &wireTime{q.From}
	}
	if q.To != nil {
		req.DtTo = &wireTime{q.To}
	}
	return list[ModelRun](ctx, c, http.MethodPost, "/model/list-model-runs", req)
}

// GetModelRun returns a run's outputs by model measure name
// (/model/get-model-run). An unknown run gives an empty map.
func (c *Client) GetModelRun(ctx context.Context, runID int64) (map[string][]Reading, error) {
	return fetch[map[string][]Reading](ctx, c, http.MethodPost, "/model/get-model-run", map[string]int64{"run_id": runID}, http.StatusOK)
}

// RunSensorMeasure is the sensor series a run is compared with.
type RunSensorMeasure struct {
	SensorUniqueID *string     `json:"sensor_unique_id"`
	SensorMeasure  *MeasureRef `json:"sensor_measure"`
}

// GetModelRunSensorMeasure returns the sensor series a run forecasts
// (/model/get-model-run-sensor-measure); 400 for an unknown run.
func (c *Client) GetModelRunSensorMeasure(ctx context.Context, runID int64) (RunSensorMeasure, error) {
	return fetch[RunSensorMeasure](ctx, c, http.MethodPost, "/model/get-model-run-sensor-measure",
		map[string]int64{"run_id": runID}, http.StatusOK)
}
