package dtbase

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"
)

// Model is a named forecaster or simulator whose runs are stored.
type Model struct {
	ID      int64
	Name    string
	Created time.Time
}

// ModelScenario is a named set of assumptions a model runs under, such as
// "Business as usual". A nil Description is a scenario without one; it
// equals another nil Description.
type ModelScenario struct {
	ID          int64
	ModelID     int64
	ModelName   string
	Description *string
}

// ModelMeasure is a quantity a model outputs, identified by (Name, Units).
// Model measures are global and separate from sensor measures.
type ModelMeasure struct {
	ID       int64
	Name     string
	Units    string
	Datatype Datatype
}

// ModelSensorMeasure names the sensor measure a run predicts.
type ModelSensorMeasure struct {
	Name  string
	Units *string
}

// ModelRun is one execution of a model under a scenario, optionally linked
// to the sensor and sensor measure it predicts.
type ModelRun struct {
	ID                  int64
	ModelID             int64
	ModelName           string
	ScenarioID          int64
	ScenarioDescription *string
	TimeCreated         time.Time
	SensorUniqueID      *string
	SensorMeasure       *ModelSensorMeasure
	// SensorMeasureDatatype is the datatype of SensorMeasure, "" without one.
	SensorMeasureDatatype Datatype
	// Details is a JSON object the writer stored with the run (the ARIMA
	// service keeps its model, fit statistics and cross-validation scores
	// here), or nil. Only FindModelRun fills it.
	Details json.RawMessage
}

// ModelPoint is one timestamped value of a series.
type ModelPoint struct {
	Time  time.Time
	Value Value
}

// ModelOutput is the series a run produced for one measure (a "product").
type ModelOutput struct {
	ProductID int64
	Measure   ModelMeasure
	Points    []ModelPoint // in time order
}

// NewModelSeries is one measure's values of a run being created.
type NewModelSeries struct {
	MeasureName string
	// MeasureUnits selects among model measures sharing MeasureName; nil
	// means the name must be unambiguous.
	MeasureUnits *string
	// Datatype is the datatype given to the measure when CreateMeasures is
	// set and the measure does not exist; it is ignored otherwise.
	Datatype   Datatype
	Values     []Value
	Timestamps []time.Time
}

// NewModelRun is a run to create with its outputs.
type NewModelRun struct {
	ModelName           string
	ScenarioDescription string
	// TimeCreated is the run's creation instant; the zero time means now.
	TimeCreated time.Time
	// CreateModel, CreateScenario and CreateMeasures create the model, the
	// scenario and (with the series' MeasureUnits, "" when nil, and
	// Datatype) the measures when they are missing, and reuse them when
	// present. insert-model-run only sets CreateScenario.
	CreateModel    bool
	CreateScenario bool
	CreateMeasures bool
	SensorUniqueID *string
	SensorMeasure  *ModelSensorMeasure
	Series         []NewModelSeries
	// Details, when set, must be a JSON object; it is stored with the run.
	Details json.RawMessage

	// ID is set by CreateModelRuns.
	ID int64
}

// ModelRunFilter selects the runs of one model created in [From, To],
// optionally under one scenario.
type ModelRunFilter struct {
	ModelName string
	From, To  time.Time
	Scenario  *string
}

// ModelRunComparison is a run's forecast beside the readings of the sensor
// measure it predicts, with skill scores where the two overlap.
type ModelRunComparison struct {
	Run     ModelRun
	Outputs []ModelOutput
	// Observed holds the readings of the run's sensor and sensor measure
	// from the first output timestamp minus Tolerance to the last plus
	// Tolerance; empty when the run is linked to no sensor measure.
	Observed  []ModelPoint
	Tolerance time.Duration
	Skill     []ForecastSkill
}

// ForecastSkill scores one numeric output of a run against observations.
//
// Pairing: each output timestamp t is paired with the mean of the observed
// readings in [t − tol, t + tol), where tol is the comparison's Tolerance
// (15 minutes by default, as the ARIMA service snaps readings to the hour)
// capped at half the smallest spacing of the output's timestamps, so that no
// reading serves two timestamps. Output timestamps without a reading in
// their window are left out.
//
// Interval: an output named "Mean X" is paired by name with the outputs
// "Lower Bound X" and "Upper Bound X" of the same run (the convention of the
// original's ARIMA model and of ours). When both exist, Coverage is the
// share of paired observations with lower ≤ observed ≤ upper at the same
// timestamp. Bound outputs are not scored on their own.
type ForecastSkill struct {
	Measure string  // the output's measure name, e.g. "Mean Temperature"
	Lower   *string // the lower bound's measure name, if paired
	Upper   *string // the upper bound's measure name, if paired
	N       int     // the number of paired timestamps
	// MAE and RMSE are the mean absolute and root mean squared differences
	// observed − forecast; nil when N is 0.
	MAE, RMSE *float64
	// Coverage is the share of paired timestamps whose observation lies
	// inside the interval; nil without both bounds or when N is 0.
	Coverage *float64
}

// DefaultComparisonTolerance is the half-width of the window in which
// readings are paired with a forecast timestamp.
const DefaultComparisonTolerance = 15 * time.Minute

// ModelInputSeries is the numeric readings of one sensor and measure, as a
// forecaster reads its training data.
type ModelInputSeries struct {
	SensorUniqueID string
	Measure        ModelSensorMeasure
	Datatype       Datatype
	Points         []ModelPoint // in time order; values are floats
}

// ModelStore keeps models, scenarios, model measures and runs with their
// outputs. Unknown names are ENOTFOUND, duplicates and rows still in use
// ECONFLICT, other client mistakes EINVALID.
type ModelStore interface {
	// CreateModel adds a model; ECONFLICT "Model exists already" if the name
	// is taken.
	CreateModel(ctx context.Context, name string) error
	// ListModels returns every model in id order.
	ListModels(ctx context.Context) ([]Model, error)
	// DeleteModel deletes a model and its scenarios; ENOTFOUND if there is
	// none, ECONFLICT while it has runs.
	DeleteModel(ctx context.Context, name string) error

	// CreateModelScenario adds a scenario to a model; ENOTFOUND for an
	// unknown model, ECONFLICT "Scenario exists already" for a duplicate.
	CreateModelScenario(ctx context.Context, modelName string, description *string) error
	// ListModelScenarios returns every scenario in id order.
	ListModelScenarios(ctx context.Context) ([]ModelScenario, error)
	// DeleteModelScenario deletes a scenario; ENOTFOUND for an unknown model
	// or scenario, ECONFLICT while it has runs.
	DeleteModelScenario(ctx context.Context, modelName string, description *string) error

	// CreateModelMeasure adds a measure and sets its ID; EINVALID for an
	// unknown datatype, ECONFLICT "Model measure exists already" if (name,
	// units) is taken.
	CreateModelMeasure(ctx context.Context, m *ModelMeasure) error
	// ListModelMeasures returns every model measure in id order.
	ListModelMeasures(ctx context.Context) ([]ModelMeasure, error)
	// DeleteModelMeasure deletes the measure named name with the given units,
	// or the only measure of that name when units is nil. ENOTFOUND if there
	// is none, EINVALID if units is nil and several share the name,
	// ECONFLICT while a run has outputs for it.
	DeleteModelMeasure(ctx context.Context, name string, units *string) error

	// CreateModelRuns creates the runs with their outputs in one
	// transaction and sets their IDs: all or nothing. Each value is checked
	// against its measure's datatype; an empty series creates no output;
	// a duplicate timestamp within a series keeps the first value.
	// ENOTFOUND for an unknown model, scenario (without CreateScenario),
	// measure, sensor or sensor measure; EINVALID for a measure name that
	// is ambiguous without units, values that do not fit the datatype,
	// lengths that differ or two series of one measure name; ECONFLICT if
	// the model already has a run under the scenario at TimeCreated.
	CreateModelRuns(ctx context.Context, runs []*NewModelRun) error
	// ListModelRuns returns the runs matching f in id order; none for an
	// unknown model.
	ListModelRuns(ctx context.Context, f ModelRunFilter) ([]ModelRun, error)
	// FindModelRun returns a run with its details; ENOTFOUND "No such model
	// run" if there is none.
	FindModelRun(ctx context.Context, id int64) (*ModelRun, error)
	// FindModelRunOutputs returns a run's outputs in product id order,
	// each in time order; none for an unknown run.
	FindModelRunOutputs(ctx context.Context, id int64) ([]ModelOutput, error)
	// DeleteModelRun deletes a run and its outputs; ENOTFOUND if there is
	// none.
	DeleteModelRun(ctx context.Context, id int64) error
	// CompareModelRun returns a run's outputs, the observed readings of its
	// sensor measure over the same period and the skill scores (see
	// ForecastSkill); tolerance 0 means DefaultComparisonTolerance.
	// ENOTFOUND "No such model run" if there is none.
	CompareModelRun(ctx context.Context, id int64, tolerance time.Duration) (*ModelRunComparison, error)

	// FindModelInputSeries returns the readings in [from, to] of a sensor's
	// numeric measure, the measure being looked up by name among those of
	// the sensor's type, and by units too when units is not nil. ENOTFOUND
	// for an unknown sensor or a measure its type lacks; EINVALID when the
	// name is ambiguous without units or the measure is not numeric.
	FindModelInputSeries(ctx context.Context, sensorUniqueID, measureName string, units *string, from, to time.Time) (*ModelInputSeries, error)
}

// OutputSpan returns the first and last timestamps of the outputs; false
// when they have no points.
func OutputSpan(outputs []ModelOutput) (first, last time.Time, ok bool) {
	for _, o := range outputs {
		if len(o.Points) == 0 {
			continue
		}
		a, b := o.Points[0].Time, o.Points[len(o.Points)-1].Time
		if !ok || a.Before(first) {
			first = a
		}
		if !ok || b.After(last) {
			last = b
		}
		ok = true
	}
	return first, last, ok
}

// ScoreForecast pairs a run's outputs with observations and scores each
// numeric output as ForecastSkill describes. observed must be in time order
// and tolerance positive.
func ScoreForecast(outputs []ModelOutput, observed []ModelPoint, tolerance time.Duration) []ForecastSkill {
	byName := map[string]*ModelOutput{}
	for i := range outputs {
		if _, dup := byName[outputs[i].Measure.Name]; !dup {
			byName[outputs[i].Measure.Name] = &outputs[i]
		}
	}
	obsTimes := make([]int64, len(observed))
	obsValues := make([]float64, len(observed))
	obsOK := make([]bool, len(observed))
	for i, p := range observed {
		obsTimes[i] = p.Time.UnixMicro()
		obsValues[i], obsOK[i] = p.Value.Number()
	}
	out := []ForecastSkill{}
	for i := range outputs {
		o := &outputs[i]
		name := o.Measure.Name
		if !skillIsNumeric(o.Measure.Datatype) || strings.HasPrefix(name, "Lower Bound ") || strings.HasPrefix(name, "Upper Bound ") {
			continue
		}
		sk := ForecastSkill{Measure: name}
		var lower, upper map[int64]float64
		if base, ok := strings.CutPrefix(name, "Mean "); ok {
			lo, up := byName["Lower Bound "+base], byName["Upper Bound "+base]
			if lo != nil && up != nil && skillIsNumeric(lo.Measure.Datatype) && skillIsNumeric(up.Measure.Datatype) {
				sk.Lower, sk.Upper = &lo.Measure.Name, &up.Measure.Name
				lower, upper = skillPointMap(lo.Points), skillPointMap(up.Points)
			}
		}
		tol := tolerance.Microseconds()
		for j := 1; j < len(o.Points); j++ {
			if gap := o.Points[j].Time.Sub(o.Points[j-1].Time).Microseconds(); gap > 0 && gap/2 < tol {
				tol = gap / 2
			}
		}
		var sumAbs, sumSq float64
		inside, withBounds := 0, 0
		for _, p := range o.Points {
			f, ok := p.Value.Number()
			if !ok {
				continue
			}
			t := p.Time.UnixMicro()
			obs, ok := skillWindowMean(obsTimes, obsValues, obsOK, t-tol, t+tol)
			if !ok {
				continue
			}
			sk.N++
			d := obs - f
			sumAbs += math.Abs(d)
			sumSq += d * d
			if lower != nil {
				lo, okLo := lower[t]
				up, okUp := upper[t]
				if okLo && okUp {
					withBounds++
					if lo <= obs && obs <= up {
						inside++
					}
				}
			}
		}
		if sk.N > 0 {
			mae, rmse := sumAbs/float64(sk.N), math.Sqrt(sumSq/float64(sk.N))
			sk.MAE, sk.RMSE = &mae, &rmse
			if withBounds > 0 {
				cov := float64(inside) / float64(withBounds)
				sk.Coverage = &cov
			}
		}
		out = append(out, sk)
	}
	return out
}

// skillWindowMean averages the usable observations with lo <= time < hi.
func skillWindowMean(times []int64, values []float64, ok []bool, lo, hi int64) (float64, bool) {
	i := sort.Search(len(times), func(i int) bool { return times[i] >= lo })
	sum, n := 0.0, 0
	if lo == hi { // a zero tolerance pairs exact timestamps only
		hi = lo + 1
	}
	for ; i < len(times) && times[i] < hi; i++ {
		if ok[i] {
			sum += values[i]
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

func skillPointMap(points []ModelPoint) map[int64]float64 {
	m := make(map[int64]float64, len(points))
	for _, p := range points {
		if f, ok := p.Value.Number(); ok {
			m[p.Time.UnixMicro()] = f
		}
	}
	return m
}

func skillIsNumeric(d Datatype) bool { return d == Float || d == Integer }

// Validate checks the model's name against MaxNameLen; EINVALID naming the
// field.
func (m *Model) Validate() error { return checkLen("name", m.Name, MaxNameLen) }

// Validate checks the scenario's text against the limits; EINVALID naming
// the field.
func (s *ModelScenario) Validate() error {
	return firstErr(checkLen("model_name", s.ModelName, MaxNameLen), checkLenPtr("description", s.Description, MaxDescriptionLen))
}

// Validate checks the measure's name and units against the limits;
// EINVALID naming the field.
func (m *ModelMeasure) Validate() error { return checkNameUnits("", m.Name, &m.Units) }

// Validate checks the run's text against the limits; EINVALID naming the
// field as insert-model-run's body does.
func (r *NewModelRun) Validate() error {
	err := firstErr(
		checkLen("model_name", r.ModelName, MaxNameLen),
		checkLen("scenario_description", r.ScenarioDescription, MaxDescriptionLen),
		checkLenPtr("sensor_unique_id", r.SensorUniqueID, MaxNameLen),
	)
	if err != nil {
		return err
	}
	if m := r.SensorMeasure; m != nil {
		if err := checkNameUnits("sensor_measure.", m.Name, m.Units); err != nil {
			return err
		}
	}
	for i, s := range r.Series {
		p := indexed("measures_and_values", i)
		if err := firstErr(checkLen(p+"measure_name", s.MeasureName, MaxNameLen), checkLenPtr(p+"measure_units", s.MeasureUnits, MaxUnitsLen)); err != nil {
			return err
		}
	}
	return nil
}
