package arimaservice

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/dtbase/dtbase/forecast/arima"
)

// CVScores are rolling-origin cross-validation scores: each fold forecasts
// TestHours ahead from its origin, and is scored on the hours that had
// readings (filled hours are not evidence). Scores are averaged over the
// folds that had any; MAPE is in percent and leaves out observations equal
// to zero. Error is
// set, and the scores are nil, when the cross-validation could not be done;
// the run is written regardless, as cross-validation only informs.
type CVScores struct {
	Folds     int      `json:"folds"`
	TestHours int      `json:"test_hours"`
	Refit     bool     `json:"refit"`
	MAE       *float64 `json:"mae"`
	RMSE      *float64 `json:"rmse"`
	MAPE      *float64 `json:"mape"`
	Coverage  *float64 `json:"coverage"`
	PerFold   []Fold   `json:"per_fold"`
	Error     string   `json:"error,omitempty"`
}

// Fold is the score of one cross-validation fold.
type Fold struct {
	Origin   int      `json:"origin"` // the index of the first forecast hour in the series
	Refit    bool     `json:"refit"`  // whether the model was refitted for this fold
	N        int      `json:"n"`      // observed hours scored
	MAE      *float64 `json:"mae"`
	RMSE     *float64 `json:"rmse"`
	MAPE     *float64 `json:"mape"`
	Coverage *float64 `json:"coverage"`
}

// crossValidate scores spec on h as CVScores describes. Like the
// original's TimeSeriesSplit, the test block of each of the k folds is
// ⌊0.2·n/k⌋ hours and the first fold's training set is the rest before the
// last k blocks.
func crossValidate(ctx context.Context, h *hourlySeries, spec arima.Spec, p Params) *CVScores {
	n, k := len(h.Values), p.CVFolds
	test := int(0.2 * float64(n) / float64(k))
	cv := &CVScores{Folds: k, TestHours: test, Refit: p.CVRefit, PerFold: []Fold{}}
	first := n - k*test
	if test < 1 || first < minHours(spec) {
		cv.Error = "too little data for cross-validation: the first fold's training set would be " + describeHours(max(first, 0)) +
			", below the " + describeHours(minHours(spec)) + " the model needs"
		return cv
	}
	base, err := arima.Fit(h.Values[:first], spec)
	if err != nil {
		cv.Error = "fitting the first fold failed: " + strings.TrimPrefix(err.Error(), "arima: ")
		return cv
	}
	var sumMAE, sumRMSE, sumMAPE, sumCov float64
	var nMAE, nMAPE, nCov int
	for f := range k {
		if ctx.Err() != nil {
			cv.Error = "cancelled"
			return cv
		}
		origin := first + f*test
		fold := Fold{Origin: origin}
		m := base
		switch {
		case f == 0:
		case p.CVRefit:
			fold.Refit = true
			m, err = arima.Fit(h.Values[:origin], spec)
		default:
			// Extend: filter the longer series with the parameters fitted
			// on the first fold's training set.
			m, err = arima.NewModel(h.Values[:origin], spec, base.Params)
			if errors.Is(err, arima.ErrInvalidParams) {
				// Estimates on the edge of invertibility, common when
				// differencing a stationary component, fail NewModel's
				// strict check although Fit produced them: refit instead.
				fold.Refit = true
				m, err = arima.Fit(h.Values[:origin], spec)
			}
		}
		if err != nil {
			cv.Error = "fold starting at hour " + strconv.Itoa(origin) + ": " + strings.TrimPrefix(err.Error(), "arima: ")
			return cv
		}
		fc, err := m.Forecast(test, p.Alpha)
		if err != nil {
			cv.Error = strings.TrimPrefix(err.Error(), "arima: ")
			return cv
		}
		var abs, sq, ape float64
		nAPE, inside := 0, 0
		for i := range test {
			j := origin + i
			if !h.Observed[j] || !finite(fc.Mean[i]) {
				continue
			}
			y, d := h.Values[j], h.Values[j]-fc.Mean[i]
			fold.N++
			abs += math.Abs(d)
			sq += d * d
			if y != 0 {
				ape += math.Abs(d / y)
				nAPE++
			}
			if fc.Lower[i] <= y && y <= fc.Upper[i] {
				inside++
			}
		}
		if fold.N > 0 {
			fold.MAE, fold.RMSE = ptr(abs/float64(fold.N)), ptr(math.Sqrt(sq/float64(fold.N)))
			fold.Coverage = ptr(float64(inside) / float64(fold.N))
			sumMAE += *fold.MAE
			sumRMSE += *fold.RMSE
			sumCov += *fold.Coverage
			nMAE++
			nCov++
			if nAPE > 0 {
				fold.MAPE = ptr(100 * ape / float64(nAPE))
				sumMAPE += *fold.MAPE
				nMAPE++
			}
		}
		cv.PerFold = append(cv.PerFold, fold)
	}
	if nMAE > 0 {
		cv.MAE, cv.RMSE = ptr(sumMAE/float64(nMAE)), ptr(sumRMSE/float64(nMAE))
	}
	if nMAPE > 0 {
		cv.MAPE = ptr(sumMAPE / float64(nMAPE))
	}
	if nCov > 0 {
		cv.Coverage = ptr(sumCov / float64(nCov))
	}
	return cv
}

func ptr[T any](v T) *T { return &v }
