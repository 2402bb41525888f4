package dtbase

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

var tenth = 0.1 // a variable, so that 0.1+0.2 is computed in floats

// TestAppendFloat checks Python's repr of floats.
func TestAppendFloat(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{291.0, "291.0"},
		{0.1, "0.1"},
		{1e16, "1e+16"},
		{1e-05, "1e-05"},
		{123456789.0, "123456789.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{1.5e-07, "1.5e-07"},
		{2.5e+20, "2.5e+20"},
		{0.0001, "0.0001"},
		{9999999999999998.0, "9999999999999998.0"},
		{1e15, "1000000000000000.0"},
		{-273.15, "-273.15"},
		{0.23, "0.23"},
		{1e-07, "1e-07"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{1e100, "1e+100"},
		{tenth + 2*tenth, "0.30000000000000004"},
	} {
		if got := string(AppendFloat(nil, c.in)); got != c.want {
			t.Errorf("AppendFloat(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// conversion is a case of a function that reads or converts a value: in,
// for datatype d, gives want, or fails when ok is false.
type conversion[In any] struct {
	in   In
	d    Datatype
	want Value
	ok   bool
}

// testConversions runs the cases of convert, whose empty message means
// success.
func testConversions[In any](t *testing.T, name string, cases []conversion[In], convert func(In, Datatype) (Value, string)) {
	t.Helper()
	for _, c := range cases {
		got, msg := convert(c.in, c.d)
		if (msg == "") != c.ok || (c.ok && got != c.want) {
			t.Errorf("%s(%+v, %q) = %+v, %q; want %+v, ok %v", name, c.in, c.d, got, msg, c.want, c.ok)
		}
	}
}

func TestParseValueJSON(t *testing.T) {
	testConversions(t, "ParseValueJSON", []conversion[string]{
		{in: `1`, want: IntValue(1), ok: true},
		{in: `-7`, want: IntValue(-7), ok: true},
		{in: `1.0`, want: FloatValue(1), ok: true},
		{in: `1e3`, want: FloatValue(1000), ok: true},
		{in: `1E-3`, want: FloatValue(0.001), ok: true},
		{in: `true`, want: BoolValue(true), ok: true},
		{in: `false`, want: BoolValue(false), ok: true},
		{in: `"x"`, want: StringValue("x"), ok: true},
		{in: `"é\n\"q\""`, want: StringValue("é\n\"q\""), ok: true},
		{in: `""`, want: StringValue(""), ok: true},
		{in: `9223372036854775807`, want: IntValue(math.MaxInt64), ok: true},
		{in: `null`},
		{in: `[1]`},
		{in: `{}`},
		{in: `NaN`},
		{in: `Infinity`},
		{in: `-Infinity`},
		{in: `1e999`},
		{in: `9223372036854775808`},
		{in: `"`},
		{in: ``},
	}, func(in string, _ Datatype) (Value, string) { return ParseValueJSON([]byte(in)) })
}

func TestValueCoerce(t *testing.T) {
	testConversions(t, "Coerce", []conversion[Value]{
		{IntValue(3), Float, FloatValue(3), true},
		{FloatValue(3.5), Float, FloatValue(3.5), true},
		{BoolValue(true), Float, Value{}, false},
		{StringValue("3"), Float, Value{}, false},
		{IntValue(math.MaxInt32), Integer, IntValue(math.MaxInt32), true},
		{IntValue(math.MaxInt32 + 1), Integer, Value{}, false},
		{IntValue(math.MinInt32 - 1), Integer, Value{}, false},
		{BoolValue(true), Integer, Value{}, false},
		{FloatValue(3), Integer, Value{}, false},
		{BoolValue(false), Boolean, BoolValue(false), true},
		{IntValue(0), Boolean, Value{}, false},
		{StringValue("a"), String, StringValue("a"), true},
		{IntValue(1), String, Value{}, false},
		{IntValue(1), Datatype("complex"), Value{}, false},
	}, Value.Coerce)
}

func TestParseValueText(t *testing.T) {
	testConversions(t, "ParseValueText", []conversion[string]{
		{"1.5", Float, FloatValue(1.5), true},
		{" 2 ", Float, FloatValue(2), true},
		{"NaN", Float, Value{}, false},
		{"inf", Float, Value{}, false},
		{"0x1p3", Float, Value{}, false},
		{"1_000", Float, Value{}, false},
		{"warm", Float, Value{}, false},
		{"7", Integer, IntValue(7), true},
		{"2147483648", Integer, Value{}, false},
		{"7.0", Integer, Value{}, false},
		{"TRUE", Boolean, BoolValue(true), true},
		{"0", Boolean, BoolValue(false), true},
		{"yes", Boolean, Value{}, false},
		{"12", String, StringValue("12"), true},
	}, ParseValueText)
}

// FuzzParseValueJSON checks that the value decoder never panics, agrees
// with encoding/json on what a literal is, keeps the lexical kind, and that
// the JSON it writes back reads as the same value of the same kind.
//
//	go test -run='^$' -fuzz=FuzzParseValueJSON -fuzztime=10s .
func FuzzParseValueJSON(f *testing.F) {
	for _, s := range []string{`1`, `-0`, `1.0`, `1e3`, `-1.5E-7`, `true`, `false`, `null`, `"x"`, `"a\"b\u00e9"`,
		`[1]`, `{}`, `NaN`, `Infinity`, `1e999`, `99999999999999999999`, `"`, `"\ud800"`, `0.1`, ` 2 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, msg := ParseValueJSON(raw)
		if msg != "" {
			return
		}
		if !json.Valid(raw) {
			// Bodies pass json.Valid before values are decoded; beyond
			// not panicking, nothing is promised for other input.
			return
		}
		var any interface{}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&any); err != nil {
			t.Fatal(err)
		}
		switch x := any.(type) {
		case string:
			if v.Kind != KindString || v.S != x {
				t.Fatalf("ParseValueJSON(%q) = %+v, want string %q", raw, v, x)
			}
		case bool:
			if v.Kind != KindBoolean || v.B != x {
				t.Fatalf("ParseValueJSON(%q) = %+v, want bool %v", raw, v, x)
			}
		case json.Number:
			isFloat := strings.ContainsAny(string(x), ".eE")
			if isFloat != (v.Kind == KindFloat) {
				t.Fatalf("ParseValueJSON(%q) = %+v: wrong kind", raw, v)
			}
		default:
			t.Fatalf("ParseValueJSON(%q) accepted %T", raw, any)
		}
		if v.Kind == KindFloat && (math.IsNaN(v.F) || math.IsInf(v.F, 0)) {
			t.Fatalf("ParseValueJSON(%q) = %v: not finite", raw, v.F)
		}
		// The written form reads back as the same value and kind.
		out := v.AppendJSON(nil)
		back, msg := ParseValueJSON(out)
		if msg != "" || back.Kind != v.Kind || (v.Kind == KindFloat && back.F != v.F) ||
			(v.Kind != KindFloat && back != v) {
			t.Fatalf("ParseValueJSON(%q) = %+v, written %s, read back %+v %q", raw, v, out, back, msg)
		}
		if v.Kind == KindFloat {
			if old := legacyAppendFloat(v.F); old != string(out) {
				t.Fatalf("AppendFloat(%v) = %s, reference %s", v.F, out, old)
			}
		}
	})
}

// legacyAppendFloat is the first, digit-shuffling implementation of Python's
// repr, kept as the reference for AppendFloat.
func legacyAppendFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expPart, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expPart)
	var b []byte
	if mant[0] == '-' {
		mant = mant[1:]
		b = append(b, '-')
	}
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return string(strconv.AppendInt(b, int64(exp), 10))
	}
	if exp < 0 {
		b = append(b, "0."...)
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return string(append(b, digits...))
	}
	if len(digits) <= exp+1 {
		b = append(b, digits...)
		for i := len(digits); i < exp+1; i++ {
			b = append(b, '0')
		}
		return string(append(b, ".0"...))
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	return string(append(b, digits[exp+1:]...))
}

// FuzzAppendFloat compares AppendFloat with the reference on any float.
//
//	go test -run='^$' -fuzz=FuzzAppendFloat -fuzztime=10s .
func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{291, 0.1, 1e16, 1e-5, 1.5e-7, 2.5e20, 9999999999999998, 0.0001, 0.00009999999999999999} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		if got, want := string(AppendFloat(nil, x)), legacyAppendFloat(x); got != want {
			t.Fatalf("AppendFloat(%v) = %s, reference %s", x, got, want)
		}
		back, err := strconv.ParseFloat(string(AppendFloat(nil, x)), 64)
		if err != nil || back != x {
			t.Fatalf("AppendFloat(%v) does not round-trip", x)
		}
	})
}
