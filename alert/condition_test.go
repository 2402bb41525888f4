package alert

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
)

// StepQuiet decides a batch exactly as StepMicros does whenever it
// decides it: no episode, the same state after.
func TestStepQuietAgreesWithStepMicros(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := func(v float64) *float64 { return &v }
	conds := []dtbase.AlertCondition{
		{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f(28), Hysteresis: 1, ForSeconds: 600},
		{Kind: dtbase.CondThreshold, Op: dtbase.OpBelow, Value: f(15)},
		{Kind: dtbase.CondThreshold, Op: dtbase.OpOutside, Low: f(15), High: f(28), Hysteresis: 0.5},
		{Kind: dtbase.CondRate, Op: dtbase.OpRise, Value: f(30), PerSeconds: 3600},
		{Kind: dtbase.CondRate, Op: dtbase.OpEither, Value: f(20)},
		{Kind: dtbase.CondRate, Op: dtbase.OpFall, Value: f(10), PerSeconds: 60, ForSeconds: 120},
	}
	decided := 0
	for trial := range 20000 {
		c := conds[trial%len(conds)]
		n := 1 + rng.IntN(20)
		ts, vs := make([]int64, n), make([]float64, n)
		t0 := int64(1_700_000_000_000_000) + rng.Int64N(1e9)
		level, spread := 14+rng.Float64()*16, rng.Float64()*3
		for i := range ts {
			ts[i] = t0 + int64(i)*60_000_000 + rng.Int64N(30_000_000)
			vs[i] = level + (rng.Float64()-0.5)*spread
		}
		var st State
		if rng.IntN(2) == 0 {
			st.HasPrev, st.Prev = true, Point{T: time.UnixMicro(t0 - 60_000_000 + rng.Int64N(90_000_000)).UTC(), V: level + rng.Float64() - 0.5}
		}
		if rng.IntN(10) == 0 {
			st.Pending, st.Since = true, time.UnixMicro(t0-1e6).UTC()
		}
		quick, slow := st, st
		sum := Summarize(ts, vs)
		if !quick.StepQuiet(c, &sum) {
			if !cmp.Equal(quick, st) {
				t.Fatalf("trial %d: StepQuiet declined but changed the state", trial)
			}
			continue
		}
		decided++
		if eps := slow.StepMicros(c, ts, vs); len(eps) != 0 {
			t.Fatalf("trial %d: %+v on %v %v: StepQuiet saw no breach, StepMicros found %+v", trial, c, ts, vs, eps)
		}
		if diff := cmp.Diff(slow, quick); diff != "" {
			t.Fatalf("trial %d: %+v: states differ (-StepMicros +StepQuiet):\n%s", trial, c, diff)
		}
	}
	if decided < 5000 {
		t.Errorf("StepQuiet decided only %d of 20000 batches", decided)
	}
}
