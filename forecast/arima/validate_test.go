package arima

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	cases := []struct {
		name    string
		spec    Spec
		wantErr string // empty when valid
	}{
		{"zero value", Spec{}, ""},
		{"airline", Spec{Order: Order{0, 1, 1}, Seasonal: SeasonalOrder{0, 1, 1, 12}}, ""},
		{"season length ignored without seasonal terms", Spec{Order: Order{1, 0, 0}, Seasonal: SeasonalOrder{S: 1}}, ""},
		{"negative p", Spec{Order: Order{-1, 0, 0}}, "must not be negative"},
		{"negative d", Spec{Order: Order{0, -1, 0}}, "must not be negative"},
		{"negative seasonal Q", Spec{Seasonal: SeasonalOrder{0, 0, -1, 12}}, "must not be negative"},
		{"negative season", Spec{Seasonal: SeasonalOrder{S: -4}}, "must not be negative"},
		{"seasonal AR without season", Spec{Seasonal: SeasonalOrder{P: 1}}, "season length of at least 2"},
		{"seasonal differencing with s=1", Spec{Seasonal: SeasonalOrder{D: 1, S: 1}}, "season length of at least 2"},
		{"AR lag reaches season", Spec{Order: Order{P: 4}, Seasonal: SeasonalOrder{P: 1, S: 4}}, "reaches the seasonal lag"},
		{"MA lag reaches season", Spec{Order: Order{Q: 12}, Seasonal: SeasonalOrder{Q: 1, S: 12}}, "reaches the seasonal lag"},
		{"unknown trend", Spec{Trend: "quadratic"}, "unknown trend"},
		{"too many states", Spec{Seasonal: SeasonalOrder{D: 1, Q: 1, S: 8760}}, "exceeds"},
		{"overflowing orders", Spec{Order: Order{P: 1 << 40}}, "exceeds"},
	}
	for _, c := range cases {
		err := c.spec.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		case c.wantErr != "" && !errors.Is(err, ErrInvalidSpec):
			t.Errorf("%s: error %v does not wrap ErrInvalidSpec", c.name, err)
		}
	}
}

func TestSpecString(t *testing.T) {
	got := Spec{Order: Order{0, 1, 1}, Seasonal: SeasonalOrder{0, 1, 1, 12}}.String()
	if want := "(0,1,1)(0,1,1)12 trend=n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	series := make([]float64, 40)
	for i := range series {
		series[i] = math.Sin(float64(i)) + 0.1*float64(i%7)
	}
	withInf := append([]float64(nil), series...)
	withInf[3] = math.Inf(-1)
	allMissing := make([]float64, 40)
	for i := range allMissing {
		allMissing[i] = math.NaN()
	}
	// 40 values of which every other one is missing: with d = 1 no
	// difference survives.
	alternating := append([]float64(nil), series...)
	for i := 0; i < len(alternating); i += 2 {
		alternating[i] = math.NaN()
	}
	// Seasonal data in which the second position of the season is never
	// observed: the likelihood of the seasonal differences exists, but
	// nothing pins down that position's level, so no forecast could.
	neverObserved := make([]float64, 48)
	for i := range neverObserved {
		neverObserved[i] = math.Sin(float64(i)) + float64(i%4)
		if i%4 == 1 {
			neverObserved[i] = math.NaN()
		}
	}
	airline := Spec{Order: Order{0, 1, 1}, Seasonal: SeasonalOrder{0, 1, 1, 12}}

	cases := []struct {
		name string
		y    []float64
		spec Spec
		want error
	}{
		{"empty", nil, Spec{Order: Order{P: 1}}, ErrTooShort},
		{"fewer observations than parameters", series[:3], Spec{Order: Order{P: 2}}, ErrTooShort},
		{"nothing left after differencing", series[:16], airline, ErrTooShort},
		{"infinity", withInf, Spec{Order: Order{P: 1}}, ErrNonFinite},
		{"all missing", allMissing, Spec{Order: Order{P: 1}}, ErrTooShort},
		{"no difference observed", alternating, Spec{Order: Order{D: 1, Q: 1}}, ErrTooShort},
		{"a season position never observed", neverObserved, Spec{Seasonal: SeasonalOrder{D: 1, S: 4}}, ErrTooShort},
		{"negative order", series, Spec{Order: Order{P: -1}}, ErrInvalidSpec},
		{"seasonal terms with s<2", series, Spec{Seasonal: SeasonalOrder{Q: 1, S: 1}}, ErrInvalidSpec},
		{"constant after differencing", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Spec{Order: Order{D: 1, Q: 1}}, ErrConstant},
	}
	for _, c := range cases {
		if _, err := Fit(c.y, c.spec); !errors.Is(err, c.want) {
			t.Errorf("%s: Fit error %v, want %v", c.name, err, c.want)
		}
		if c.want != ErrConstant {
			if _, err := NewModel(c.y, c.spec, Params{Sigma2: 1}); !errors.Is(err, c.want) {
				t.Errorf("%s: NewModel error %v, want %v", c.name, err, c.want)
			}
		}
	}
}

func TestNewModelRejectsBadParams(t *testing.T) {
	y := []float64{0.3, -1.2, 0.8, 0.1, 1.5, -0.4, 0.2, 0.9, -0.7, 0.05}
	arma := Spec{Order: Order{P: 1, Q: 1}}
	cases := []struct {
		name   string
		spec   Spec
		params Params
	}{
		{"missing coefficient", arma, Params{AR: []float64{0.5}, Sigma2: 1}},
		{"explosive AR", arma, Params{AR: []float64{1.1}, MA: []float64{0.2}, Sigma2: 1}},
		{"non-invertible MA", arma, Params{AR: []float64{0.1}, MA: []float64{-1}, Sigma2: 1}},
		{"zero variance", arma, Params{AR: []float64{0.1}, MA: []float64{0.2}}},
		{"intercept without constant", arma, Params{AR: []float64{0.1}, MA: []float64{0.2}, Sigma2: 1, Intercept: 3}},
		{"non-finite intercept", Spec{Trend: TrendConstant}, Params{Intercept: math.NaN(), Sigma2: 1}},
	}
	for _, c := range cases {
		if _, err := NewModel(y, c.spec, c.params); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: error %v, want ErrInvalidParams", c.name, err)
		}
	}
}

func TestForecastRejectsBadArguments(t *testing.T) {
	m, err := NewModel([]float64{1, 2, 0, 1, 3, 2}, Spec{}, Params{Sigma2: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		steps int
		alpha float64
	}{{0, 0.05}, {-3, 0.05}, {5, 0}, {5, 1}, {5, -0.1}, {5, math.NaN()}} {
		if _, err := m.Forecast(c.steps, c.alpha); err == nil {
			t.Errorf("Forecast(%d, %v) did not fail", c.steps, c.alpha)
		}
	}
}
