package dtbase

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestScoreForecast(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	series := func(name string, d Datatype, start, step int, vs ...Value) ModelOutput {
		o := ModelOutput{Measure: ModelMeasure{Name: name, Datatype: d}}
		for i, v := range vs {
			o.Points = append(o.Points, ModelPoint{Time: at(start + i*step), Value: v})
		}
		return o
	}
	f := FloatValue
	obs := []ModelPoint{{at(0), f(1)}, {at(10), f(3)}, {at(58), f(5)}, {at(120), StringValue("x")}, {at(125), IntValue(9)}}
	tests := []struct {
		name    string
		outputs []ModelOutput
		tol     time.Duration
		want    []ForecastSkill
	}{
		{"no outputs", nil, 15 * time.Minute, []ForecastSkill{}},
		{
			// Hourly mean: 00:00 pairs (1+3)/2 = 2, 01:00 pairs 5, 02:00
			// pairs 9 (the string is not a number). Errors 0, 1, 3.
			"integer output without bounds", []ModelOutput{series("Level", Integer, 0, 60, IntValue(2), IntValue(6), IntValue(6))}, 15 * time.Minute,
			[]ForecastSkill{{Measure: "Level", N: 3, MAE: skillPtrF(4.0 / 3), RMSE: skillPtrF(math.Sqrt(10.0 / 3))}},
		},
		{
			// A 20-minute step caps the window at ±10 minutes, half open:
			// 00:00 pairs 1 only, the reading at 00:10 goes to 00:20 alone,
			// and 00:40 pairs nothing. Errors 1 and 3.
			"window capped by the step", []ModelOutput{series("Mean T", Float, 0, 20, f(0), f(0), f(0))}, 15 * time.Minute,
			[]ForecastSkill{{Measure: "Mean T", N: 2, MAE: skillPtrF(2), RMSE: skillPtrF(math.Sqrt(5))}},
		},
		{
			"bounds paired by name; strings and bounds not scored", []ModelOutput{
				series("Lower Bound T", Float, 0, 60, f(0), f(6)),
				series("Mean T", Float, 0, 60, f(2), f(7)),
				series("Label", String, 0, 60, StringValue("a"), StringValue("b")),
				series("Upper Bound T", Float, 0, 60, f(3), f(8)),
			}, 15 * time.Minute,
			// 00:00: 2 in [0, 3]; 01:00: 5 not in [6, 8].
			[]ForecastSkill{{Measure: "Mean T", Lower: skillPtrS("Lower Bound T"), Upper: skillPtrS("Upper Bound T"), N: 2, MAE: skillPtrF(1), RMSE: skillPtrF(math.Sqrt(2)), Coverage: skillPtrF(0.5)}},
		},
		{
			"one bound only gives no coverage", []ModelOutput{series("Mean T", Float, 0, 60, f(1)), series("Upper Bound T", Float, 0, 60, f(3))}, time.Nanosecond,
			[]ForecastSkill{{Measure: "Mean T", N: 1, MAE: skillPtrF(0), RMSE: skillPtrF(0)}},
		},
		{
			"nothing observed nearby", []ModelOutput{series("Mean T", Float, 600, 60, f(1))}, 15 * time.Minute,
			[]ForecastSkill{{Measure: "Mean T"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScoreForecast(tt.outputs, obs, tt.tol)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d scores, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Measure != w.Measure || g.N != w.N || !skillEqS(g.Lower, w.Lower) || !skillEqS(g.Upper, w.Upper) ||
					!skillEqF(g.MAE, w.MAE) || !skillEqF(g.RMSE, w.RMSE) || !skillEqF(g.Coverage, w.Coverage) {
					t.Errorf("score %d = %s, want %s", i, skillString(g), skillString(w))
				}
			}
		})
	}
}

func skillPtrF(f float64) *float64 { return &f }
func skillPtrS(s string) *string   { return &s }

func skillEqF(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-12)
}

func skillEqS(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func skillString(s ForecastSkill) string {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return fmt.Sprintf("{%s lower=%v upper=%v n=%d mae=%v rmse=%v coverage=%v}", s.Measure, str(s.Lower), str(s.Upper), s.N, f(s.MAE), f(s.RMSE), f(s.Coverage))
}
