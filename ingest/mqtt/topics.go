// Package mqtt subscribes to MQTT brokers (MQTT 5, or 3.1.1 for brokers
// that refuse 5) and stores the readings published there. Topic patterns map each message to a (sensor, measure); a payload is
// a JSON number, boolean or string (stamped on arrival), an object
// {"value": v, "timestamp": t}, or an array of such objects.
//
// Delivery is at least once, and storage exactly once for readings that
// carry a timestamp: messages are received with QoS 1 on a persistent
// session, committed to the database in small batches, and acknowledged to
// the broker only after the commit. A crash before the commit loses nothing
// (the broker redelivers); a crash between commit and acknowledgement
// causes a redelivery that the database skips, because a reading is
// identified by (sensor, measure, timestamp). Readings stamped on arrival
// get a new timestamp when redelivered, so they are at least once.
//
// Bad messages (unknown topic, malformed payload, wrong datatype, unknown
// sensor or measure) are counted, logged at most once a minute per topic,
// acknowledged and dropped; they never stop or slow the other topics.
package mqtt

import (
	"fmt"
	"net/url"
	"strings"
)

// Pattern maps topics to a sensor and a measure. In its text form, levels
// "+sensor", "+measure" and "+units" are single-level wildcards whose value
// names the sensor's unique identifier, the measure and the measure's units;
// "+" matches any level and a final "#" any number of levels. Fixed values
// follow a "?", as in a URL query: "plant/boiler/temp?sensor=boiler-1&measure=temperature".
type Pattern struct {
	Text   string   // as configured
	Filter string   // the MQTT subscription filter, wildcards anonymous
	levels []string // the pattern's levels, named wildcards kept

	// Fixed values, used when the topic does not name them.
	Sensor, Measure, Units string
	hasUnits               bool
}

// ParsePattern parses one pattern. It must name a sensor and a measure,
// either as wildcards or as fixed values.
func ParsePattern(text string) (Pattern, error) {
	p := Pattern{Text: text}
	topic, query, hasQuery := strings.Cut(strings.TrimSpace(text), "?")
	if topic == "" {
		return p, fmt.Errorf("topic pattern %q: empty topic", text)
	}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return p, fmt.Errorf("topic pattern %q: %w", text, err)
		}
		for k := range q {
			switch k {
			case "sensor", "measure", "units":
			default:
				return p, fmt.Errorf("topic pattern %q: unknown setting %q (want sensor, measure or units)", text, k)
			}
		}
		p.Sensor, p.Measure = q.Get("sensor"), q.Get("measure")
		if q.Has("units") {
			p.Units, p.hasUnits = q.Get("units"), true
		}
	}
	p.levels = strings.Split(topic, "/")
	filter := make([]string, len(p.levels))
	var named = map[string]bool{}
	for i, l := range p.levels {
		switch {
		case l == "#":
			if i != len(p.levels)-1 {
				return p, fmt.Errorf("topic pattern %q: # must be the last level", text)
			}
			filter[i] = l
		case strings.HasPrefix(l, "+"):
			name := l[1:]
			switch name {
			case "", "sensor", "measure", "units":
			default:
				return p, fmt.Errorf("topic pattern %q: unknown wildcard %q (want +, +sensor, +measure or +units)", text, l)
			}
			if name != "" && named[name] {
				return p, fmt.Errorf("topic pattern %q: %s appears twice", text, l)
			}
			named[name] = true
			filter[i] = "+"
		case strings.ContainsAny(l, "+#"):
			return p, fmt.Errorf("topic pattern %q: wildcard inside level %q", text, l)
		default:
			filter[i] = l
		}
	}
	if !named["sensor"] && p.Sensor == "" {
		return p, fmt.Errorf("topic pattern %q: names no sensor (use +sensor or ?sensor=ID)", text)
	}
	if !named["measure"] && p.Measure == "" {
		return p, fmt.Errorf("topic pattern %q: names no measure (use +measure or ?measure=NAME)", text)
	}
	p.Filter = strings.Join(filter, "/")
	return p, nil
}

// ParsePatterns parses a comma- or whitespace-separated list of patterns.
func ParsePatterns(list string) ([]Pattern, error) {
	var out []Pattern
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		p, err := ParsePattern(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Target is where a message's readings go.
type Target struct {
	Sensor  string
	Measure string
	Units   *string // nil: resolve the measure by name among the sensor type's measures
}

// Match reports whether topic matches p and, if it does, its target.
func (p Pattern) Match(topic string) (Target, bool) {
	t := Target{Sensor: p.Sensor, Measure: p.Measure}
	if p.hasUnits {
		u := p.Units
		t.Units = &u
	}
	levels := strings.Split(topic, "/")
	for i, l := range p.levels {
		if l == "#" {
			break
		}
		if i >= len(levels) {
			return t, false
		}
		switch l {
		case "+":
		case "+sensor":
			t.Sensor = levels[i]
		case "+measure":
			t.Measure = levels[i]
		case "+units":
			u := levels[i]
			t.Units = &u
		default:
			if l != levels[i] {
				return t, false
			}
		}
		if i == len(p.levels)-1 && len(levels) != len(p.levels) {
			return t, false
		}
	}
	if t.Sensor == "" || t.Measure == "" {
		return t, false
	}
	return t, true
}
