package forecast

import (
	"context"
	"math"
	"strconv"

	"github.com/dtbase/dtbase"
)

// crossValidate scores the model of fitted, with its settings fixed, on h
// as dtbase.ForecastCV describes. Like the original's TimeSeriesSplit, the
// test block of each of the k folds is ⌊0.2·n/k⌋ hours and the first fold's
// training set is the rest before the last k blocks.
func crossValidate(ctx context.Context, h *hourlySeries, fitted dtbase.ForecastFit, p dtbase.ForecastParams) *dtbase.ForecastCV {
	n, k := len(h.Values), p.CVFolds
	test := int(0.2 * float64(n) / float64(k))
	cv := &dtbase.ForecastCV{Folds: k, TestHours: test, Refit: p.CVRefit, PerFold: []dtbase.ForecastCVFold{}}
	first := n - k*test
	if need := fitted.MinLength(); test < 1 || first < need {
		cv.Error = "too little data for cross-validation: the first fold's training set would be " + describeHours(max(first, 0)) +
			", below the " + describeHours(need) + " the model needs"
		return cv
	}
	base, err := fitted.Refit(h.Values[:first])
	if err != nil {
		cv.Error = "fitting the first fold failed: " + err.Error()
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
		fold := dtbase.ForecastCVFold{Origin: origin}
		m := base
		switch {
		case f == 0:
		case p.CVRefit:
			fold.Refit = true
			m, err = base.Refit(h.Values[:origin])
		default:
			// Extend: filter the longer series with the parameters fitted
			// on the first fold's training set.
			m, fold.Refit, err = base.Extend(h.Values[:origin])
		}
		if err != nil {
			cv.Error = "fold starting at hour " + strconv.Itoa(origin) + ": " + err.Error()
			return cv
		}
		fc, err := m.Forecast(test, p.Alpha)
		if err != nil {
			cv.Error = err.Error()
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
