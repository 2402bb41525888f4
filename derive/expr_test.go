package derive

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gen builds a random expression over inputs a, b, c as text and as the
// direct Go computation it must equal.
func gen(r *rand.Rand, depth int) (string, func(a, b, c float64) float64) {
	if depth == 0 || r.IntN(4) == 0 {
		switch r.IntN(4) {
		case 0:
			return "a", func(a, _, _ float64) float64 { return a }
		case 1:
			return "b", func(_, b, _ float64) float64 { return b }
		case 2:
			return "[c value]", func(_, _, c float64) float64 { return c }
		}
		k := math.Round(r.Float64()*1000) / 100
		return fmt.Sprint(k), func(_, _, _ float64) float64 { return k }
	}
	x, fx := gen(r, depth-1)
	y, fy := gen(r, depth-1)
	switch r.IntN(9) {
	case 0:
		return "(" + x + " + " + y + ")", func(a, b, c float64) float64 { return fx(a, b, c) + fy(a, b, c) }
	case 1:
		return "(" + x + " - " + y + ")", func(a, b, c float64) float64 { return fx(a, b, c) - fy(a, b, c) }
	case 2:
		return "(" + x + ")*(" + y + ")", func(a, b, c float64) float64 { return fx(a, b, c) * fy(a, b, c) }
	case 3:
		return "(" + x + ")/(" + y + ")", func(a, b, c float64) float64 { return fx(a, b, c) / fy(a, b, c) }
	case 4:
		return "min(" + x + ", " + y + ")", func(a, b, c float64) float64 { return math.Min(fx(a, b, c), fy(a, b, c)) }
	case 5:
		return "max(" + x + "," + y + ")", func(a, b, c float64) float64 { return math.Max(fx(a, b, c), fy(a, b, c)) }
	case 6:
		return "-(" + x + ")", func(a, b, c float64) float64 { return -fx(a, b, c) }
	case 7:
		return "exp(" + x + "/100)", func(a, b, c float64) float64 { return math.Exp(fx(a, b, c) / 100) }
	}
	return "pow(abs(" + x + "), 0.5)", func(a, b, c float64) float64 { return math.Pow(math.Abs(fx(a, b, c)), 0.5) }
}

func TestEvalEqualsDirectComputation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		src, direct := gen(r, 5)
		e, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		idx := map[string]int{}
		for j, in := range e.Inputs() {
			idx[in.Name] = j
		}
		a, b, c := r.Float64()*40-10, r.Float64()*100, r.Float64()*5
		in := make([]float64, len(e.Inputs()))
		for name, v := range map[string]float64{"a": a, "b": b, "c value": c} {
			if j, ok := idx[name]; ok {
				in[j] = v
			}
		}
		got, want := e.Eval(in), direct(a, b, c)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("%s with a=%g b=%g c=%g: got %g, want %g", src, a, b, c, got, want)
		}
	}
}

func TestHumidityFunctions(t *testing.T) {
	e, err := Parse("vpd(temperature, [relative humidity])")
	if err != nil {
		t.Fatal(err)
	}
	// At 25 °C and 50 %: es = 0.6108·exp(17.27·25/262.3) = 3.1686 kPa.
	if got := e.Eval([]float64{25, 50}); math.Abs(got-1.5843) > 1e-3 {
		t.Errorf("vpd(25, 50) = %g, want 1.584", got)
	}
	if got := DewPoint(25, 50); math.Abs(got-13.85) > 0.05 {
		t.Errorf("dewpoint(25, 50) = %g, want 13.85", got)
	}
	if got := HeatIndex(32, 70); math.Abs(got-40.6) > 0.5 {
		t.Errorf("heat_index(32, 70) = %g, want about 40.6", got)
	}
	cal, _ := Parse("interp(x, 0, 0, 10, 20, 20, 25)")
	for x, want := range map[float64]float64{-5: 0, 5: 10, 15: 22.5, 30: 25} {
		if got := cal.Eval([]float64{x}); got != want {
			t.Errorf("interp(%g) = %g, want %g", x, got, want)
		}
	}
	if got, _ := Parse("-2^2"); got.Eval(nil) != -4 {
		t.Errorf("-2^2 = %g, want -4", got.Eval(nil))
	}
	if got, _ := Parse("2^3^2"); got.Eval(nil) != 512 {
		t.Errorf("2^3^2 = %g, want 512 (right-associative)", got.Eval(nil))
	}
}

func TestErrorsHavePositions(t *testing.T) {
	for _, c := range []struct {
		src string
		pos int
	}{
		{"a +", 3},
		{"a + * b", 4},
		{"(a + b", 6},
		{"foo(a)", 0},
		{"pow(a)", 0},
		{"a $ b", 2},
		{"min(a)", 0},
		{"interp(x, 1, 2, 1, 3)", 16},
		{"[unclosed", 0},
		{"a b", 2},
		{"exp", 0},
	} {
		_, err := Parse(c.src)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Pos != c.pos {
			t.Errorf("%q: %v, want an error at %d", c.src, err, c.pos)
		}
	}
	u := func(s string) *string { return &s }
	for _, c := range []struct {
		src   string
		units []*string
		pos   int
	}{
		{"vpd(t, rh)", []*string{u("F"), u("%")}, 4},
		{"dewpoint(t, rh)", []*string{u("°C"), u("g/kg")}, 12},
		{"t + rh", []*string{u("°C"), u("%")}, 2},
	} {
		e, err := Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		var se *SyntaxError
		if err := e.CheckUnits(c.units); !errors.As(err, &se) || se.Pos != c.pos {
			t.Errorf("%q: %v, want a unit error at %d", c.src, err, c.pos)
		}
	}
	e, _ := Parse("vpd(t, rh) + t*0")
	if err := e.CheckUnits([]*string{u("Degrees C"), u("%")}); err != nil {
		t.Errorf("good units: %v", err)
	}
}
