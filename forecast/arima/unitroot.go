package arima

import (
	"math"
)

// The tests that choose the orders of differencing for Auto, as R's
// forecast::ndiffs and forecast::nsdiffs run them by default.

// kpssCritical holds the critical values of the KPSS test for level
// stationarity (Kwiatkowski et al. 1992, table 1) at the levels in
// kpssLevels, as urca::ur.kpss reports them.
var (
	kpssCritical = []float64{0.347, 0.463, 0.574, 0.739}
	kpssLevels   = []float64{0.10, 0.05, 0.025, 0.01}
)

// kpssLags is the number of autocovariances in the long-run variance of
// the KPSS statistic, trunc(3·√n/13) as forecast::ndiffs chooses it
// (Hobijn, Franses and Ooms 2004).
func kpssLags(n int) int { return int(3 * math.Sqrt(float64(n)) / 13) }

// kpssStatistic returns the KPSS statistic for the null hypothesis that x
// is stationary around a constant level: with e the deviations from the
// mean and S their partial sums, Σ S_t² / (n² s²), where s² is the
// Newey-West long-run variance of e with Bartlett weights 1 - j/(lags+1).
// It equals urca::ur.kpss(x, type = "mu", use.lag = lags)@teststat and
// statsmodels' kpss(x, "c", nlags=lags)[0].
func kpssStatistic(x []float64, lags int) float64 {
	n := len(x)
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	e := make([]float64, n)
	for i, v := range x {
		e[i] = v - mean
	}
	partial, eta := 0.0, 0.0
	for _, v := range e {
		partial += v
		eta += partial * partial
	}
	eta /= float64(n) * float64(n)
	s2 := dot(e, e) / float64(n)
	for j := 1; j <= lags; j++ {
		cov := 0.0
		for t := j; t < n; t++ {
			cov += e[t] * e[t-j]
		}
		s2 += 2 / float64(n) * (1 - float64(j)/float64(lags+1)) * cov
	}
	return eta / s2
}

// kpssPValue interpolates the p-value of a KPSS statistic linearly in the
// table of critical values and clamps it to [0.01, 0.1], as
// forecast::ndiffs does.
func kpssPValue(stat float64) float64 {
	if stat <= kpssCritical[0] {
		return kpssLevels[0]
	}
	for i := 1; i < len(kpssCritical); i++ {
		if stat <= kpssCritical[i] {
			f := (stat - kpssCritical[i-1]) / (kpssCritical[i] - kpssCritical[i-1])
			return kpssLevels[i-1] + f*(kpssLevels[i]-kpssLevels[i-1])
		}
	}
	return kpssLevels[len(kpssLevels)-1]
}

// NDiffs returns the number of ordinary differences, at most maxD, after
// which the KPSS test no longer rejects level stationarity at level alpha
// (clamped to [0.01, 0.1], the range of the test's table): the rule of R's
// forecast::ndiffs with its default test. It differences while the
// p-value is below alpha, and stops early at a constant series. Missing
// values (NaN) make the differences that involve them missing; the test
// runs on the values that remain. It returns 0 for a series with fewer
// than three observed values, on which the test has no meaning.
func NDiffs(y []float64, alpha float64, maxD int) int {
	alpha = min(max(alpha, 0.01), 0.1)
	x := append([]float64(nil), y...)
	d := 0
	for {
		seen := observed(x)
		if len(seen) < 3 || isConstant(seen) {
			return d
		}
		if d >= maxD || kpssPValue(kpssStatistic(seen, kpssLags(len(seen)))) >= alpha {
			return d
		}
		x = difference(x, 1, 0, 0)
		d++
		if seen := observed(x); isConstant(seen) {
			return d
		}
	}
}

// seasonalStrengthThreshold is the strength of seasonality above which
// NSDiffs takes a seasonal difference, the threshold of
// forecast::nsdiffs(test = "seas").
const seasonalStrengthThreshold = 0.64

// NSDiffs returns the number of seasonal differences, at most maxD, that
// y with season length s needs: one more while SeasonalStrength exceeds
// 0.64, the default rule of R's forecast::nsdiffs (and so of auto.arima).
// It returns 0 when s < 2, when y is constant, and when fewer than two
// full seasons (2s values) remain to measure the strength on.
func NSDiffs(y []float64, s, maxD int) int {
	if s < 2 {
		return 0
	}
	x := y
	D := 0
	for D < maxD && len(x) > 2*s {
		if seen := observed(x); len(seen) < 3 || isConstant(seen) ||
			SeasonalStrength(x, s) <= seasonalStrengthThreshold {
			break
		}
		x = difference(x, 0, 1, s)
		D++
	}
	return D
}

// SeasonalStrength measures how much of the variation of y around its
// trend is seasonal with period s: max(0, 1 - Var(R)/Var(S + R)) for the
// seasonal component S and remainder R of a decomposition of y (Wang,
// Smith and Hyndman 2006), the statistic of forecast's "seas" test.
//
// R decomposes with STL (loess throughout). This is a lighter
// decomposition in the same spirit, one pass of STL's inner loop with
// moving averages where STL uses loess for the trend:
//
//   - the trend is the centred moving average over one season (2×s for
//     even s), defined half a season in from either end; only that
//     stretch enters the variances;
//   - the seasonal component smooths each cycle-subseries (the values at
//     one position of the season) of the detrended series by loess of
//     degree 1 over 11 cycles, as STL does with mstl's default
//     s.window = 11, so the seasonal pattern may evolve;
//   - the seasonal component then loses its own moving average over one
//     season, so that it carries no level, as STL's low-pass step ensures.
//
// Missing values are filled by linear interpolation first (R's mstl does
// the same with na.interp). It returns 0 when s < 2 or y has fewer than
// 2s+1 values. On the series in testdata it is within 0.04 of R's
// forecast:::seas.heuristic.
func SeasonalStrength(y []float64, s int) float64 {
	n := len(y)
	if s < 2 || n < 2*s+1 {
		return 0
	}
	x := interpolateMissing(y)
	if x == nil {
		return 0
	}
	trend := centredMovingAverage(x, s)
	half := s / 2
	lo, hi := half, n-half // the stretch where the trend is defined
	detrended := make([]float64, n)
	for t := lo; t < hi; t++ {
		detrended[t] = x[t] - trend[t]
	}
	seasonal := make([]float64, n)
	for k := range s {
		var idx []int
		for t := lo + (k-lo%s+s)%s; t < hi; t += s {
			idx = append(idx, t)
		}
		vals := make([]float64, len(idx))
		for i, t := range idx {
			vals[i] = detrended[t]
		}
		smooth := loessEqualSpaced(vals, stlSeasonalSpan)
		for i, t := range idx {
			seasonal[t] = smooth[i]
		}
	}
	// Remove the level of the seasonal component where its moving average
	// is defined, and the nearest such level beyond.
	level := centredMovingAverage(seasonal[lo:hi], s)
	first, last := half, hi-lo-half-1
	if first > last {
		return 0
	}
	rem := make([]float64, 0, hi-lo)
	sr := make([]float64, 0, hi-lo)
	for t := lo; t < hi; t++ {
		i := min(max(t-lo, first), last)
		st := seasonal[t] - level[i]
		r := detrended[t] - st
		rem = append(rem, r)
		sr = append(sr, r+st)
	}
	total := variance(sr)
	if total == 0 {
		return 0
	}
	return max(0, min(1, 1-variance(rem)/total))
}

// stlSeasonalSpan is the span, in cycles, of the seasonal smoother.
const stlSeasonalSpan = 11

// centredMovingAverage returns the centred moving average of x over one
// season of length s: the plain average of s values for odd s, and of s+1
// values with half weight at both ends (the 2×s average) for even s. It is
// defined from index s/2 to len(x)-1-s/2; other entries are zero.
func centredMovingAverage(x []float64, s int) []float64 {
	n := len(x)
	out := make([]float64, n)
	half := s / 2
	for t := half; t < n-half; t++ {
		sum := 0.0
		if s%2 == 1 {
			for j := t - half; j <= t+half; j++ {
				sum += x[j]
			}
			out[t] = sum / float64(s)
			continue
		}
		for j := t - half + 1; j < t+half; j++ {
			sum += x[j]
		}
		sum += 0.5 * (x[t-half] + x[t+half])
		out[t] = sum / float64(s)
	}
	return out
}

// loessEqualSpaced smooths equally spaced values by local linear
// regression with tricube weights over the q nearest points, widening the
// bandwidth by (q-n)/2 when q exceeds the n points, as STL's loess does.
func loessEqualSpaced(y []float64, q int) []float64 {
	n := len(y)
	out := make([]float64, n)
	if n == 0 {
		return out
	}
	if n == 1 {
		out[0] = y[0]
		return out
	}
	for i := range n {
		lo := max(0, min(i-q/2, n-q))
		hi := min(n-1, lo+q-1)
		h := float64(max(i-lo, hi-i))
		if q > n {
			h += float64((q - n) / 2)
		}
		h = max(h, 1)
		var sw, sx, sy, sxx, sxy float64
		for j := lo; j <= hi; j++ {
			r := math.Abs(float64(j-i)) / h
			if r >= 1 {
				continue
			}
			w := 1 - r*r*r
			w = w * w * w
			x := float64(j - i)
			sw += w
			sx += w * x
			sy += w * y[j]
			sxx += w * x * x
			sxy += w * x * y[j]
		}
		// The fitted line at x = 0 (the point itself).
		det := sw*sxx - sx*sx
		if sw == 0 {
			out[i] = y[i]
		} else if math.Abs(det) <= 1e-12*sw*sxx {
			out[i] = sy / sw
		} else {
			out[i] = (sy*sxx - sx*sxy) / det
		}
	}
	return out
}

// interpolateMissing returns y with NaN replaced by linear interpolation
// between the nearest observed values, and by the nearest observed value
// before the first or after the last. It returns nil if every value is
// missing.
func interpolateMissing(y []float64) []float64 {
	out := append([]float64(nil), y...)
	prev := -1
	for i, v := range out {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case prev < 0:
			for j := range i {
				out[j] = v
			}
		case i-prev > 1:
			for j := prev + 1; j < i; j++ {
				f := float64(j-prev) / float64(i-prev)
				out[j] = out[prev] + f*(v-out[prev])
			}
		}
		prev = i
	}
	if prev < 0 {
		return nil
	}
	for j := prev + 1; j < len(out); j++ {
		out[j] = out[prev]
	}
	return out
}

// isConstant reports whether all values of x are equal up to R's
// all.equal tolerance, the test of forecast's is.constant: the summed
// absolute differences from the first value are at most 1.5e-8 times the
// summed absolute values.
func isConstant(x []float64) bool {
	if len(x) == 0 {
		return true
	}
	diff, size := 0.0, 0.0
	for _, v := range x {
		diff += math.Abs(v - x[0])
		size += math.Abs(v)
	}
	if size == 0 {
		return diff == 0
	}
	return diff/size <= 1.5e-8
}
