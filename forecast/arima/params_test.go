package arima

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestConstrainStationaryMatchesStatsmodels(t *testing.T) {
	// Values from statsmodels.tsa.statespace.tools.constrain_stationary_univariate.
	cases := []struct{ x, want []float64 }{
		{[]float64{0.5, -1.2, 2.0, 0.3}, []float64{0.3264516441381334, 0.8696161016849174, -0.7267702149043291, -0.2873478855663454}},
		{[]float64{-3}, []float64{0.9486832980505138}},
	}
	for _, c := range cases {
		got := make([]float64, len(c.x))
		constrainStationary(got, c.x)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-15 {
				t.Errorf("constrain(%v)[%d] = %.17g, want %.17g", c.x, i, got[i], c.want[i])
			}
		}
	}
}

func TestConstrainIsStationaryAndInvertible(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + rng.IntN(6)
		x := make([]float64, n)
		for i := range x {
			x[i] = 3 * rng.NormFloat64()
		}
		phi := make([]float64, n)
		constrainStationary(phi, x)
		if !isStationary(phi) {
			t.Fatalf("constrain(%v) = %v is not stationary", x, phi)
		}
		back := make([]float64, n)
		unconstrainStationary(back, phi)
		// Large x map close to the unit circle, where 1 - r² loses digits.
		for i := range x {
			if math.Abs(back[i]-x[i]) > 1e-6*max(1, math.Abs(x[i])) {
				t.Fatalf("unconstrain(constrain(%v)) = %v", x, back)
			}
		}
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	spec := Spec{Order: Order{2, 1, 1}, Seasonal: SeasonalOrder{1, 1, 1, 12}, Trend: TrendConstantLinear}
	l := newParamLayout(spec)
	p := []float64{1.5, -0.02, 0.5, -0.3, 0.4, 0.6, -0.7, 2.5}
	x := make([]float64, len(p))
	l.unconstrain(x, p)
	back := make([]float64, len(p))
	l.constrain(back, x)
	for i := range p {
		if math.Abs(back[i]-p[i]) > 1e-12 {
			t.Errorf("round trip %v -> %v", p, back)
			break
		}
	}
}

func TestStationarityChecks(t *testing.T) {
	cases := []struct {
		phi  []float64
		want bool
	}{
		{nil, true},
		{[]float64{0.5}, true},
		{[]float64{1}, false},
		{[]float64{-1.01}, false},
		{[]float64{0.5, 0.4}, true},
		{[]float64{0.5, 0.5}, false}, // unit root
		{[]float64{1.2, -0.5}, true}, // complex roots inside
	}
	for _, c := range cases {
		if got := isStationary(c.phi); got != c.want {
			t.Errorf("isStationary(%v) = %v, want %v", c.phi, got, c.want)
		}
	}
	if !isInvertible([]float64{0.9}) || isInvertible([]float64{-1}) {
		t.Error("isInvertible misjudges MA(1)")
	}
}

func TestMultiplyLagPolynomials(t *testing.T) {
	// (1 - 0.5L)(1 - 0.8L^4) = 1 - 0.5L - 0.8L^4 + 0.4L^5.
	got := multiplyLagPolynomials(lagPolynomial([]float64{0.5}, 1, -1), lagPolynomial([]float64{0.8}, 4, -1))
	want := []float64{-0.5, 0, 0, -0.8, 0.4}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestStationaryCovariance checks the Lyapunov solver against the textbook
// moments of an ARMA(1,1), whose Harvey state is (w_t, θ e_t).
func TestStationaryCovariance(t *testing.T) {
	const phi, theta, sigma2 = 0.7, 0.4, 2.0
	spec := Spec{Order: Order{P: 1, Q: 1}}
	ss := newStateSpace(spec)
	if err := ss.setParams([]float64{phi, theta, sigma2}); err != nil {
		t.Fatal(err)
	}
	P := ss.initialCov
	gamma0 := sigma2 * (1 + 2*phi*theta + theta*theta) / (1 - phi*phi)
	want := []float64{gamma0, sigma2 * theta, sigma2 * theta, sigma2 * theta * theta}
	for i := range want {
		if math.Abs(P[i]-want[i]) > 1e-13*gamma0 {
			t.Errorf("P = %v, want %v", P, want)
			break
		}
	}
}

// TestStationaryCovarianceSolvesLyapunov checks P = T P Tᵀ + σ² R Rᵀ on a
// seasonal model whose AR and MA polynomials both have many lags.
func TestStationaryCovarianceSolvesLyapunov(t *testing.T) {
	spec := Spec{Order: Order{P: 2, Q: 1}, Seasonal: SeasonalOrder{P: 1, Q: 2, S: 4}}
	ss := newStateSpace(spec)
	if err := ss.setParams([]float64{0.6, -0.2, 0.3, 0.8, -0.4, 0.25, 1.7}); err != nil {
		t.Fatal(err)
	}
	r := ss.arma
	P := ss.initialCov
	next := append([]float64(nil), P...)
	ss.predictCov(next, make([]float64, r*r))
	for i := range P {
		if math.Abs(next[i]-P[i]) > 1e-12*P[0] {
			t.Fatalf("T P Tᵀ + Q differs from P at %d: %v vs %v", i, next[i], P[i])
		}
	}
}
