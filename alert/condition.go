// Package alert holds the semantics of alert rules as pure functions over
// readings and forecasts, and the notifier that sends alert events to
// webhooks and e-mail. Storage decides when to call the functions; the
// functions decide what fires.
package alert

import (
	"math"
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

// Breach reports whether v is beyond the threshold of c.
func Breach(c dtbase.AlertCondition, v float64) bool {
	c = level(c)
	switch c.Op {
	case dtbase.OpAbove:
		return v > *c.Value
	case dtbase.OpBelow:
		return v < *c.Value
	case dtbase.OpOutside:
		return v < *c.Low || v > *c.High
	}
	return false
}

// Clear reports whether v is back inside the threshold by the hysteresis,
// so a firing alert resolves. A clear value is never a breach.
func Clear(c dtbase.AlertCondition, v float64) bool {
	c = level(c)
	h := c.Hysteresis
	switch c.Op {
	case dtbase.OpAbove:
		return v <= *c.Value-h
	case dtbase.OpBelow:
		return v >= *c.Value+h
	case dtbase.OpOutside:
		return v >= *c.Low+h && v <= *c.High-h
	}
	return true
}

// Derive returns the series a condition is evaluated on: the points for a
// threshold, the slopes (change per the condition's unit, stamped at the
// later point) for a rate.
func Derive(c dtbase.AlertCondition, pts []Point) []Point {
	if c.Kind != dtbase.CondRate {
		return pts
	}
	if len(pts) < 2 {
		return nil
	}
	per := c.Per().Seconds()
	out := make([]Point, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		dt := pts[i].T.Sub(pts[i-1].T).Seconds()
		if dt <= 0 {
			continue
		}
		out = append(out, Point{T: pts[i].T, V: (pts[i].V - pts[i-1].V) / dt * per})
	}
	return out
}

// Episodes replays a condition over a series in time order that starts in
// a known quiet state (no alert firing, no breach under way): a breach
// fires once it has lasted the condition's duration and resolves at the
// first clear value. A value neither breaching nor clear (inside the
// hysteresis) keeps a firing alert firing and ends a breach that had not
// fired yet. The result is a function of the series alone, so replaying an
// overlapping window gives the same episodes.
func Episodes(c dtbase.AlertCondition, pts []Point) []Episode {
	need := c.For()
	var out []Episode
	var since time.Time
	pending, firing := false, false
	for _, p := range pts {
		if math.IsNaN(p.V) {
			continue
		}
		switch {
		case firing:
			if Clear(c, p.V) {
				t := p.T
				out[len(out)-1].ResolvedAt = &t
				firing, pending = false, false
			}
		case Breach(c, p.V):
			if !pending {
				pending, since = true, p.T
			}
			if p.T.Sub(since) >= need {
				out = append(out, Episode{Since: since, FiredAt: p.T, Value: p.V})
				firing = true
			}
		default:
			pending = false
		}
	}
	return out
}

// Stale reports whether a sensor whose latest reading is at latest (zero:
// none) is stale at now.
func Stale(c dtbase.AlertCondition, latest, now time.Time) bool {
	return !latest.IsZero() && now.Sub(latest) > c.MaxAge()
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
