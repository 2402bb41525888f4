package arima

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// rCase is one case of testdata/auto_arima_r.json, written by
// scripts/auto_arima_reference.R from R's forecast::auto.arima.
type rCase struct {
	Name     string   `json:"name"`
	Season   int      `json:"season"`
	Series   series   `json:"series"`
	Strength *float64 `json:"seasonal_strength"` // null for non-seasonal data
	NSDiffs  int      `json:"nsdiffs"`
	KPSS     float64  `json:"kpss"`
	KPSSLags int      `json:"kpss_lags"`
	// KPSSDiff is the statistic after one more ordinary difference.
	KPSSDiff     float64 `json:"kpss_differenced"`
	KPSSDiffLags int     `json:"kpss_differenced_lags"`
	NDiffs       int     `json:"ndiffs"`
	Order        [3]int  `json:"order"`
	Seasonal     [3]int  `json:"seasonal_order"`
	Constant     bool    `json:"constant"`
	AICc         float64 `json:"aicc"`
	Trace        []struct {
		Order    [3]int  `json:"order"`
		Seasonal [3]int  `json:"seasonal_order"`
		Constant bool    `json:"constant"`
		IC       rNumber `json:"ic"`
	} `json:"trace"`
}

// rNumber is a number in R's JSON, where infinity is the string "Inf".
type rNumber float64

func (n *rNumber) UnmarshalJSON(raw []byte) error {
	if string(raw) == `"Inf"` {
		*n = rNumber(math.Inf(1))
		return nil
	}
	var v float64
	err := json.Unmarshal(raw, &v)
	*n = rNumber(v)
	return err
}

func loadRCases(t testing.TB) map[string]rCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/auto_arima_r.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []rCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]rCase{}
	for _, c := range doc.Cases {
		out[c.Name] = c
	}
	return out
}

func specLabel(order [3]int, seasonal [3]int, season int, constant bool) string {
	return fmt.Sprintf("(%d,%d,%d)(%d,%d,%d)%d const=%v", order[0], order[1], order[2],
		seasonal[0], seasonal[1], seasonal[2], season, constant)
}

func candidateLabel(s Spec, season int) string {
	return specLabel([3]int{s.Order.P, s.Order.D, s.Order.Q},
		[3]int{s.Seasonal.P, s.Seasonal.D, s.Seasonal.Q}, season, s.Trend == TrendConstant)
}

// TestUnitRootTestsMatchR compares the differencing tests with R's. The
// KPSS statistic is the same formula and must agree to rounding. The
// seasonal strength comes from a lighter decomposition than R's STL (see
// SeasonalStrength), so it may differ by a few hundredths (0.04 at most
// on these series): what must agree is the decision against 0.64, which
// these values are far from.
func TestUnitRootTestsMatchR(t *testing.T) {
	for _, c := range loadRCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			D := NSDiffs(c.Series, c.Season, 1)
			if D != c.NSDiffs {
				t.Errorf("NSDiffs = %d, R's nsdiffs = %d", D, c.NSDiffs)
			}
			if c.Strength != nil {
				got := SeasonalStrength(c.Series, c.Season)
				t.Logf("seasonal strength %.4f, R %.4f", got, *c.Strength)
				if math.Abs(got-*c.Strength) > 0.05 {
					t.Errorf("seasonal strength %.4f, R %.4f", got, *c.Strength)
				}
			}
			dx := difference(c.Series, 0, c.NSDiffs, c.Season)
			for _, k := range []struct {
				x         []float64
				lags      int
				want      float64
				what      string
				wantLags  int
				wantValue float64
			}{
				{dx, kpssLags(len(dx)), c.KPSS, "KPSS", c.KPSSLags, c.KPSS},
				{difference(dx, 1, 0, 0), kpssLags(len(dx) - 1), c.KPSSDiff, "KPSS of the difference", c.KPSSDiffLags, c.KPSSDiff},
			} {
				if k.lags != k.wantLags {
					t.Errorf("%s lags %d, R %d", k.what, k.lags, k.wantLags)
				}
				if got := kpssStatistic(k.x, k.lags); !closeEnough(got, k.wantValue, 1e-10) {
					t.Errorf("%s %.15g, R %.15g", k.what, got, k.wantValue)
				}
			}
			if d := NDiffs(dx, 0.05, 2); d != c.NDiffs {
				t.Errorf("NDiffs = %d, R's ndiffs = %d", d, c.NDiffs)
			}
		})
	}
}

// TestAutoMatchesR runs Auto on the series of R's reference and compares
// the search with auto.arima's (run with approximation = FALSE, so that R
// too fits every candidate by exact maximum likelihood).
//
// On four series Auto must visit the same candidates in the same order and
// choose the same model. Its AICc values differ from R's in the second or
// third decimal, because R's likelihood for differenced models puts a
// large but finite prior variance (kappa = 1e6) on the differencing
// states where ours is exactly diffuse, so they are compared to 0.05. One
// candidate of the random walk, (1,2,2), has a likelihood with two local
// maxima, and R's optimiser finds the higher one (AICc 576.56 against
// 577.47; statsmodels finds ours); that only affects a candidate that
// neither search chooses.
//
// On the CROP series R rejects (2,0,0)(2,1,1) with drift through its
// checkarima (the estimated covariance of the parameters has a NaN),
// which Auto does not implement, so the searches part there. Both end at
// models with the same AICc to within 0.01 (R (2,0,2)(2,1,1), Auto
// (1,0,1)(2,1,1)); the test requires d, D and an AICc within 0.05 of R's.
func TestAutoMatchesR(t *testing.T) {
	cases := loadRCases(t)
	for _, name := range []string{"airline_log", "airline", "ar2", "walk_drift", "crop_temperature"} {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no R case %q", name)
		}
		t.Run(name, func(t *testing.T) {
			if name == "crop_temperature" && testing.Short() {
				t.Skip("fits about 50 hourly models")
			}
			var path []Candidate
			m, err := Auto(c.Series, c.Season, AutoOptions{Trace: func(cand Candidate) { path = append(path, cand) }})
			if err != nil {
				t.Fatal(err)
			}
			got := candidateLabel(m.Spec, c.Season)
			want := specLabel(c.Order, c.Seasonal, c.Season, c.Constant)
			t.Logf("Auto chose %s AICc %.4f in %d fits; R %s AICc %.4f in %d", got, m.AICc, len(path), want, c.AICc, len(c.Trace))
			if m.Spec.Order.D != c.Order[1] || m.Spec.Seasonal.D != c.Seasonal[1] {
				t.Errorf("d, D = %d, %d, R %d, %d", m.Spec.Order.D, m.Spec.Seasonal.D, c.Order[1], c.Seasonal[1])
			}
			if math.Abs(m.AICc-c.AICc) > 0.05 {
				t.Errorf("AICc %.4f, R %.4f", m.AICc, c.AICc)
			}
			if name == "crop_temperature" {
				return
			}
			if got != want {
				t.Errorf("chose %s, R %s", got, want)
			}
			if len(path) != len(c.Trace) {
				t.Errorf("fitted %d candidates, R %d", len(path), len(c.Trace))
			}
			for i := range min(len(path), len(c.Trace)) {
				r := c.Trace[i]
				label := candidateLabel(path[i].Spec, c.Season)
				if rl := specLabel(r.Order, r.Seasonal, c.Season, r.Constant); label != rl {
					t.Errorf("candidate %d is %s, R's %s", i+1, label, rl)
					continue
				}
				ic, ric := path[i].IC, float64(r.IC)
				switch {
				case math.IsInf(ric, 1) || math.IsInf(ic, 1):
					// R also rejects models by checkarima, Auto only by
					// their roots; either way the candidate is not chosen.
				case name == "walk_drift" && label == "(1,2,2)(0,0,0)1 const=false":
					// The two local maxima described above.
				case math.Abs(ic-ric) > 0.05:
					t.Errorf("candidate %s: AICc %.4f, R %.4f", label, ic, ric)
				}
			}
		})
	}
}

// TestAutoAirlineBeatsGrid checks the stepwise search on the log airline
// series against every model of a small grid (p, q ≤ 2, P, Q ≤ 1, with the
// same differencing): the stepwise choice, the airline model, must be the
// grid's best.
func TestAutoAirlineBeatsGrid(t *testing.T) {
	y := loadFixture(t, "airline_log").Series
	m, err := Auto(y, 12, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	airline := Spec{Order: Order{0, 1, 1}, Seasonal: SeasonalOrder{0, 1, 1, 12}, Trend: TrendNone}
	if m.Spec != airline {
		t.Errorf("chose %v, want the airline model %v", m.Spec, airline)
	}
	fitted := 0
	grid, err := Auto(y, 12, AutoOptions{Exhaustive: true, MaxP: 2, MaxQ: 2, MaxSeasonalP: 1, MaxSeasonalQ: 1,
		Trace: func(Candidate) { fitted++ }})
	if err != nil {
		t.Fatal(err)
	}
	// 3·3·2·2 = 36 orders, less the one with p+q+P+Q = 6 > 5; d + D = 2
	// rules out a constant.
	if fitted != 35 {
		t.Errorf("grid fitted %d models, want 35", fitted)
	}
	if m.AICc > grid.AICc+1e-9 {
		t.Errorf("stepwise AICc %.6f is worse than the grid's best %.6f (%v)", m.AICc, grid.AICc, grid.Spec)
	}
}

// TestAutoFindsAR2 simulates a Gaussian AR(2) with mean 10 and checks that
// Auto takes no difference and finds an AR(2) with constant, or a model
// whose AICc is within 2 of the AR(2)'s (the usual threshold below which
// models count as equally supported).
func TestAutoFindsAR2(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 6))
	const n, burn = 300, 200
	y := make([]float64, n)
	x1, x2 := 0.0, 0.0
	for i := range n + burn {
		x := 0.6*x1 - 0.3*x2 + rng.NormFloat64()
		x1, x2 = x, x1
		if i >= burn {
			y[i-burn] = 10 + x
		}
	}
	m, err := Auto(y, 0, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ar2, err := Fit(y, Spec{Order: Order{P: 2}, Trend: TrendConstant})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Auto chose %v (AICc %.3f); AR(2) AICc %.3f, estimates %v", m.Spec, m.AICc, ar2.AICc, ar2.Params.AR)
	if m.Spec.Order.D != 0 || m.Spec.Trend != TrendConstant {
		t.Errorf("chose %v, want no differencing and a constant", m.Spec)
	}
	if m.Spec.Order.P != 2 && m.AICc > ar2.AICc+2 {
		t.Errorf("chose %v with AICc %.3f, the AR(2) has %.3f", m.Spec, m.AICc, ar2.AICc)
	}
	if m.AICc > ar2.AICc+1e-9 {
		t.Errorf("AICc %.6f is worse than the AR(2)'s %.6f", m.AICc, ar2.AICc)
	}
}

func TestAutoWithMissingValues(t *testing.T) {
	y := append([]float64(nil), loadFixture(t, "airline_log").Series...)
	for _, i := range []int{0, 17, 60, 61, 143} {
		y[i] = math.NaN()
	}
	m, err := Auto(y, 12, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Spec.Order.D != 1 || m.Spec.Seasonal.D != 1 {
		t.Errorf("chose %v, want d = D = 1 as for the complete series", m.Spec)
	}
	fc, err := m.Forecast(12, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	for h, v := range fc.Mean {
		if math.IsNaN(v) || math.IsNaN(fc.StdErr[h]) || !(fc.StdErr[h] > 0) {
			t.Fatalf("step %d: mean %v se %v", h+1, v, fc.StdErr[h])
		}
	}
}

func TestAutoOptions(t *testing.T) {
	y := loadFixture(t, "airline_log").Series
	zero, one := 0, 1
	cases := []struct {
		name  string
		opts  AutoOptions
		check func(*Model) error
	}{
		{"fixed differencing", AutoOptions{D: &one, SeasonalD: &zero}, func(m *Model) error {
			if m.Spec.Order.D != 1 || m.Spec.Seasonal.D != 0 {
				return fmt.Errorf("d, D = %d, %d, want 1, 0", m.Spec.Order.D, m.Spec.Seasonal.D)
			}
			return nil
		}},
		{"no seasonal terms", AutoOptions{MaxSeasonalP: -1, MaxSeasonalQ: -1}, func(m *Model) error {
			if m.Spec.Seasonal.P != 0 || m.Spec.Seasonal.Q != 0 {
				return fmt.Errorf("chose %v", m.Spec)
			}
			return nil
		}},
		{"BIC", AutoOptions{Criterion: CriterionBIC}, func(m *Model) error {
			if m.Spec.Order.Q != 1 || m.Spec.Seasonal.Q != 1 {
				return fmt.Errorf("chose %v, want the airline model", m.Spec)
			}
			return nil
		}},
		{"model limit", AutoOptions{MaxModels: 3}, nil},
	}
	for _, c := range cases {
		fitted := 0
		c.opts.Trace = func(Candidate) { fitted++ }
		m, err := Auto(y, 12, c.opts)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.check != nil {
			if err := c.check(m); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		if c.opts.MaxModels > 0 && fitted > c.opts.MaxModels {
			t.Errorf("%s: fitted %d models, limit %d", c.name, fitted, c.opts.MaxModels)
		}
	}
}

func TestAutoRejectsBadInput(t *testing.T) {
	nan := math.NaN()
	constant := make([]float64, 30)
	line := make([]float64, 30)
	for i := range constant {
		constant[i] = 4.2
		line[i] = 1 + 0.5*float64(i)
	}
	zero := 0
	cases := []struct {
		name string
		y    []float64
		opts AutoOptions
		want error
	}{
		{"empty", nil, AutoOptions{}, ErrTooShort},
		{"all missing", []float64{nan, nan, nan}, AutoOptions{}, ErrTooShort},
		{"infinity", []float64{1, 2, math.Inf(1), 3}, AutoOptions{}, ErrNonFinite},
		{"constant", constant, AutoOptions{}, ErrConstant},
		{"straight line", line, AutoOptions{}, ErrConstant},
		{"unknown criterion", line, AutoOptions{Criterion: "hqic", D: &zero}, ErrInvalidSpec},
	}
	for _, c := range cases {
		if _, err := Auto(c.y, 0, c.opts); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRootModulus(t *testing.T) {
	cases := []struct {
		p    Params
		s    int
		want float64
	}{
		{Params{}, 0, math.Inf(1)},
		{Params{AR: []float64{0.5}}, 0, 2},
		{Params{MA: []float64{-0.8}}, 0, 1.25},
		// 1 - 0.81 z^12 has roots of modulus 0.81^{-1/12}.
		{Params{SeasonalAR: []float64{0.81}}, 12, math.Pow(0.81, -1.0/12)},
		{Params{AR: []float64{0.2}, SeasonalMA: []float64{-0.9}}, 24, math.Pow(0.9, -1.0/24)},
	}
	for _, c := range cases {
		if got := rootModulus(c.p, c.s); math.Abs(got-c.want) > 1e-12 && got != c.want {
			t.Errorf("rootModulus(%+v, %d) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestKPSSPValue(t *testing.T) {
	for _, c := range []struct{ stat, want float64 }{
		{0.1, 0.1}, {0.347, 0.1}, {0.463, 0.05}, {0.574, 0.025}, {0.739, 0.01}, {2, 0.01},
		{(0.347 + 0.463) / 2, 0.075},
	} {
		if got := kpssPValue(c.stat); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("kpssPValue(%v) = %v, want %v", c.stat, got, c.want)
		}
	}
}
