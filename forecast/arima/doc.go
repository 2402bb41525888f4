// Package arima fits seasonal ARIMA models (p,d,q)(P,D,Q)s with an optional
// constant and linear trend by exact Gaussian maximum likelihood, and
// forecasts from them with prediction intervals. It is written to give the
// same answers as Python's statsmodels SARIMAX, in pure Go.
//
// # Model
//
// With w_t = (1-L)^d (1-L^s)^D y_t the differenced series, the model is
//
//	φ(L) Φ(L^s) w_t = c + δ·t + θ(L) Θ(L^s) e_t,   e_t ~ N(0, σ²) independent,
//
// where φ(L) = 1 - ar_1 L - ... - ar_p L^p, θ(L) = 1 + ma_1 L + ... +
// ma_q L^q and Φ, Θ are their seasonal counterparts. This is SARIMAX's
// parameterisation, signs and names included (see Spec.ParamNames): the
// trend enters the equation of the differenced series, so with d = 1 a
// constant c is a drift of the level, and the time index t follows
// statsmodels (see Params). The estimates keep φ and Φ stationary and
// θ and Θ invertible through the transformation of Monahan (1984) and Jones
// (1980) that statsmodels uses (constrain_stationary_univariate).
//
// # Estimation
//
// The likelihood is evaluated by the Kalman filter on Harvey's state space
// form of the ARMA model for w_t, started from its stationary distribution.
// This is "simple differencing" in statsmodels' terms, and the result is
// the exact likelihood of the differenced series, which equals the exact
// diffuse likelihood of y itself up to the constant -(d+D·s)·log(2π)/2.
// statsmodels' default, simple_differencing=False, instead gives the
// differencing states an approximate diffuse prior N(0, 10⁶): its answers
// then depend on where the series lies, and for series far from zero, such
// as pressures around 10⁵ Pa, they are visibly wrong. Forecasts still use
// the full state space with differencing states, started from their exact
// values at the end of the data, so they are in the units of y.
//
// Starting values are statsmodels' conditional least squares
// (SARIMAX.start_params). The optimiser is gonum's L-BFGS with
// central-difference gradients on the unconstrained parameters, run on the
// differenced series standardised to mean zero (when there is an intercept
// to absorb the mean) and unit variance, which makes the tolerances
// independent of the units of the data; Nelder-Mead takes over if L-BFGS
// stalls. During the search the likelihood comes from the Chandrasekhar
// recursions, which give the Kalman filter's result in O(r) instead of
// O(r²) operations per observation for a state of dimension r (r is 14 for
// the airline model but 170 for an hourly model with a weekly seasonal MA
// term); the reported log-likelihood comes from the conventional filter.
// Like statsmodels' optimiser this is a local search: for models near the
// stationarity or invertibility boundary, which usually signal over- or
// under-differencing, it can stop at a local optimum.
//
// Prediction intervals are mean ± z·se with the Kalman filter's prediction
// variance; like statsmodels they ignore the uncertainty of the estimated
// parameters.
//
// # Missing values
//
// NaN in the series marks a missing value (infinities are rejected). The
// Kalman filter skips the update step at a missing value and only
// predicts, so it contributes nothing to the likelihood, as in statsmodels.
// With simple differencing a missing y_t makes every value of the
// differenced series that involves it missing: with d = 1 and D = 1,
// s = 24, one missing hour removes four differences. The likelihood, AIC,
// BIC and AICc are those of statsmodels' SARIMAX(simple_differencing=True)
// on such a series (whose n for BIC and AICc counts the missing values).
// The fast Chandrasekhar recursions need a complete series, so a series
// with gaps is fitted with the conventional filter, which switches to its
// steady state between gaps once the covariance has converged, and
// fitting is slower (about 20 times for the CROP series with 9 missing
// hours).
//
// Forecasts from a series with gaps condition on everything observed in
// levels, which is more than the observed differences: they come from the
// exact diffuse Kalman filter (Durbin and Koopman 2012, §5.2) on the full
// state space with differencing states, as statsmodels'
// SARIMAX(use_exact_diffuse=True) computes them, so the last value, or
// the last few, may be missing too. Fit and NewModel reject an all-missing
// series, one with no more observed differences than parameters, and one
// whose observed values leave a differencing state undetermined (say, an
// hour of the day that is never observed under seasonal differencing),
// with errors that wrap ErrTooShort.
//
// # Automatic order selection
//
// Auto chooses d, D and (p, q, P, Q) as R's forecast::auto.arima does by
// default: D from the strength of seasonality (NSDiffs, SeasonalStrength),
// d from KPSS tests at the 5% level (NDiffs), then a stepwise search on
// the AICc over p, q ≤ 5 and P, Q ≤ 2, with and without a constant, fitting
// every candidate by exact maximum likelihood. The strength of seasonality
// comes from a lighter decomposition than R's STL (see SeasonalStrength).
// scripts/auto_arima_reference.R records auto.arima's choices and searches
// on five series in testdata/auto_arima_r.json; Auto visits the same
// candidates and chooses the same model on four, and on the fifth (the
// CROP series, where R rejects a candidate for a reason Auto does not
// check) a model with the same AICc to within 0.01.
//
// # Agreement with statsmodels
//
// scripts/arima_reference.py fits statsmodels 0.13.5 SARIMAX with
// simple_differencing=True (other options at their defaults:
// enforce_stationarity, enforce_invertibility, no concentrated scale,
// Harvey representation, trend_offset=1) on the series in testdata, pushes
// each fit to its optimum by chaining L-BFGS, BFGS and Nelder-Mead, and
// computes forecasts in levels from SARIMAX(use_exact_diffuse=True) at the
// estimates. The series include the CROP farm's hourly temperature with
// the original DTBase's default order (4,1,2)(1,1,0,24), and four series
// with missing values. The tests require parameters to agree to 1e-4
// (relative, or absolute below 1), log-likelihoods to 1e-6 relative, AIC,
// BIC and AICc to follow the log-likelihood exactly, and forecast means,
// bounds and standard errors to 1e-4 standard errors; the CROP model's
// nearly flat likelihood gets tolerances tied to how well each parameter
// is identified (see fixtureTolerances in the tests). In practice they
// agree to better than 1e-6, 1e-10 and 1e-6. Regenerate the fixtures with
//
//	/usr/bin/python3 scripts/arima_reference.py
//
// # Speed
//
// To compare fit times with statsmodels on the airline model, run
//
//	go test -run '^$' -bench Fit ./forecast/arima
//	/usr/bin/python3 scripts/arima_reference.py --time
//
// The first reports ns/op for one Fit; the second the median time of
// statsmodels' SARIMAX(...).fit(disp=False) with simple differencing and
// with its default state space differencing. For (4,1,2)(1,1,0,24) on the
// CROP series,
//
//	scripts/bench-arima.sh
//
// runs BenchmarkFitCROP and scripts/arima_reference.py --time-crop one
// after the other and prints both times and their ratio (about 40 ms
// against 300 to 400 ms for statsmodels on the 2-core development
// machine).
//
// # Limitations
//
// The series must be equally spaced (gaps as NaN), and there are no
// exogenous regressors.
package arima
