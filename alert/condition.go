// Package alert holds the semantics of alert rules as pure functions over
// readings and forecasts, and the notifier that sends alert events to
// webhooks and e-mail. Storage decides when to call the functions; the
// functions decide what fires.
package alert

import (
	"math"
	"slices"
	"time"

	"github.com/dtbase/dtbase"
)

// Point is one numeric observation.
type Point struct {
	T time.Time
	V float64
}

// Episode is one breach of a condition: it began at Since, fired at
// FiredAt once it had lasted the condition's duration, and resolved at
// ResolvedAt (nil while it still fires).
type Episode struct {
	Since      time.Time
	FiredAt    time.Time
	ResolvedAt *time.Time
	Value      float64 // the value that made it fire
}

// level is the threshold form of a condition on a series: rate conditions
// become thresholds on the series' slopes.
func level(c dtbase.AlertCondition) dtbase.AlertCondition {
	if c.Kind != dtbase.CondRate {
		return c
	}
	v := *c.Value
	t := dtbase.AlertCondition{Kind: dtbase.CondThreshold, Hysteresis: c.Hysteresis, ForSeconds: c.ForSeconds}
	switch c.Op {
	case dtbase.OpRise:
		t.Op, t.Value = dtbase.OpAbove, &v
	case dtbase.OpFall:
		neg := -v
		t.Op, t.Value = dtbase.OpBelow, &neg
	default:
		neg := -v
		t.Op, t.Low, t.High = dtbase.OpOutside, &neg, &v
	}
	return t
}

// bounds is a condition reduced to the comparisons a value needs: it
// breaches outside (lo, hi) and is clear within [clearLo, clearHi].
type bounds struct{ lo, hi, clearLo, clearHi float64 }

func boundsOf(c dtbase.AlertCondition) bounds {
	c = level(c)
	h := c.Hysteresis
	inf := math.Inf(1)
	switch c.Op {
	case dtbase.OpAbove:
		return bounds{-inf, *c.Value, -inf, *c.Value - h}
	case dtbase.OpBelow:
		return bounds{*c.Value, inf, *c.Value + h, inf}
	case dtbase.OpOutside:
		return bounds{*c.Low, *c.High, *c.Low + h, *c.High - h}
	}
	return bounds{-inf, inf, -inf, inf}
}

func (b bounds) breach(v float64) bool { return v < b.lo || v > b.hi }
func (b bounds) clear(v float64) bool  { return v >= b.clearLo && v <= b.clearHi }

// Breach reports whether v is beyond the threshold of c.
func Breach(c dtbase.AlertCondition, v float64) bool { return boundsOf(c).breach(v) }

// Clear reports whether v is back inside the threshold by the hysteresis,
// so a firing alert resolves. A clear value is never a breach.
func Clear(c dtbase.AlertCondition, v float64) bool { return boundsOf(c).clear(v) }

// State is where a replay of a condition stands after the points it has
// seen, so a replay can stop and resume with the next points.
type State struct {
	Pending bool      // a breach is under way but has not lasted long enough
	Since   time.Time // when the pending or firing breach began
	Firing  bool
	HasPrev bool  // rate: Prev is the last point seen
	Prev    Point // rate
}

// Step advances the replay over raw points in time order after those
// already seen and returns the episodes that fired or resolved: fired ones
// have a zero FiredAt when only their resolution is new (they fired in an
// earlier step). A breach fires once it has lasted the condition's
// duration and resolves at the first clear value. A value neither
// breaching nor clear (inside the hysteresis) keeps a firing alert firing
// and ends a breach that had not fired yet.
func (s *State) Step(c dtbase.AlertCondition, pts []Point) []Episode {
	ts := make([]int64, len(pts))
	vs := make([]float64, len(pts))
	for i, p := range pts {
		ts[i], vs[i] = p.T.UnixMicro(), p.V
	}
	return s.StepMicros(c, ts, vs)
}

// StepMicros is Step over timestamps in microseconds since the epoch and
// their values: the form readings are stored in, so a batch is judged
// without converting it. time.Time arithmetic per point was most of the
// cost of ingest with rules.
func (s *State) StepMicros(c dtbase.AlertCondition, ts []int64, vs []float64) []Episode {
	need := c.For().Microseconds()
	rate := c.Kind == dtbase.CondRate
	perUS := float64(c.Per().Microseconds())
	b := boundsOf(c)
	var out []Episode
	firing, pending := s.Firing, s.Pending
	sinceUS := s.Since.UnixMicro()
	had, prevUS, prevV := s.HasPrev, s.Prev.T.UnixMicro(), s.Prev.V
	at := func(us int64) time.Time { return time.UnixMicro(us).UTC() }
	for i, us := range ts {
		x := vs[i]
		if x != x { // NaN
			continue
		}
		v := x
		if rate {
			if had && us <= prevUS {
				continue
			}
			wasHad, pus, pv := had, prevUS, prevV
			had, prevUS, prevV = true, us, x
			if !wasHad {
				continue
			}
			v = (x - pv) / float64(us-pus) * perUS
		}
		switch {
		case firing:
			if b.clear(v) {
				t := at(us)
				if n := len(out); n > 0 && out[n-1].ResolvedAt == nil && !out[n-1].FiredAt.IsZero() {
					out[n-1].ResolvedAt = &t
				} else {
					out = append(out, Episode{Since: at(sinceUS), ResolvedAt: &t})
				}
				firing, pending = false, false
			}
		case b.breach(v):
			if !pending {
				pending, sinceUS = true, us
			}
			if us-sinceUS >= need {
				out = append(out, Episode{Since: at(sinceUS), FiredAt: at(us), Value: v})
				firing = true
			}
		default:
			pending = false
		}
	}
	s.Firing, s.Pending = firing, pending
	if firing || pending {
		s.Since = at(sinceUS)
	}
	if had {
		s.HasPrev, s.Prev = true, Point{T: at(prevUS), V: prevV}
	}
	return out
}

// Episodes replays a condition over raw points in time order that start
// in a quiet state (nothing firing, no breach under way; for a rate, the
// first point is the earlier of a clear pair). The result is a function
// of the series alone, so replaying an overlapping window gives the same
// episodes.
func Episodes(c dtbase.AlertCondition, pts []Point) []Episode {
	var s State
	return s.Step(c, pts)
}

// Stale reports whether a sensor whose latest reading is at latest (zero:
// none) is stale at now, given its usual interval between readings (zero
// when unknown).
func Stale(c dtbase.AlertCondition, latest, now time.Time, usual time.Duration) bool {
	return !latest.IsZero() && now.Sub(latest) > MaxAge(c, usual)
}

// MaxAge is the staleness limit of a condition for a sensor whose usual
// interval between readings is usual: the longer of max_age_seconds and
// interval_multiple times usual.
func MaxAge(c dtbase.AlertCondition, usual time.Duration) time.Duration {
	return max(c.MaxAge(), time.Duration(c.IntervalMultiple*float64(usual)))
}

// UsualInterval is the median gap between consecutive times (in any
// order); zero with fewer than two.
func UsualInterval(ts []time.Time) time.Duration {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	var gaps []time.Duration
	for i := 1; i < len(s); i++ {
		gaps = append(gaps, s[i].Sub(s[i-1]))
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// ForecastBreach returns the first forecast point within the horizon after
// now whose value (the bound the rule names) breaches the threshold.
func ForecastBreach(c dtbase.AlertCondition, forecast []Point, now time.Time) (Point, bool) {
	end := now.Add(c.Horizon())
	for _, p := range forecast {
		if p.T.Before(now) || p.T.After(end) {
			continue
		}
		if Breach(c, p.V) {
			return p, true
		}
	}
	return Point{}, false
}

// Slope is a rate condition's value at b: the change from a per the
// condition's time unit; false when b is not after a.
func Slope(c dtbase.AlertCondition, a, b Point) (float64, bool) {
	if !b.T.After(a.T) {
		return 0, false
	}
	return (b.V - a.V) / b.T.Sub(a.T).Seconds() * c.Per().Seconds(), true
}

// Summary is what a batch of points in time order comes to for rules that
// are quiet: its range of values and of slopes, so that a rule the batch
// does not breach is decided without a pass over the points.
type Summary struct {
	FirstT, LastT      int64 // µs
	First, Last        float64
	Min, Max           float64
	MinSlope, MaxSlope float64 // change per µs between consecutive points
	ok                 bool    // points in strictly increasing time, no NaN
}

// Summarize summarises a batch of points: timestamps in µs and values.
func Summarize(ts []int64, vs []float64) Summary {
	if len(ts) == 0 {
		return Summary{}
	}
	s := Summary{FirstT: ts[0], LastT: ts[len(ts)-1], First: vs[0], Last: vs[len(vs)-1], Min: vs[0], Max: vs[0],
		MinSlope: math.Inf(1), MaxSlope: math.Inf(-1), ok: true}
	for i := range ts {
		x := vs[i]
		if x != x {
			return Summary{}
		}
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
		if i > 0 {
			if ts[i] <= ts[i-1] {
				return Summary{}
			}
			d := (x - vs[i-1]) / float64(ts[i]-ts[i-1])
			s.MinSlope, s.MaxSlope = min(s.MinSlope, d), max(s.MaxSlope, d)
		}
	}
	return s
}

// StepQuiet is StepMicros over the summarised batch for a state that is
// quiet (nothing firing, no breach under way) when no point of the batch
// breaches: then no episode can begin, and it reports true. Otherwise it
// changes nothing and reports false, and the caller steps over the points.
func (s *State) StepQuiet(c dtbase.AlertCondition, sum *Summary) bool {
	if !sum.ok || s.Firing || s.Pending {
		return false
	}
	b := boundsOf(c)
	if c.Kind != dtbase.CondRate {
		return sum.Min >= b.lo && sum.Max <= b.hi
	}
	// Slopes as StepMicros computes them: the change per µs times the unit,
	// which keeps the order of the changes per µs.
	perUS := float64(c.Per().Microseconds())
	lo, hi := sum.MinSlope, sum.MaxSlope
	if s.HasPrev {
		pus := s.Prev.T.UnixMicro()
		if sum.FirstT <= pus {
			return false
		}
		d := (sum.First - s.Prev.V) / float64(sum.FirstT-pus)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo*perUS < b.lo || hi*perUS > b.hi {
		return false
	}
	s.HasPrev, s.Prev = true, Point{T: time.UnixMicro(sum.LastT).UTC(), V: sum.Last}
	return true
}
