package derive

import (
	"fmt"
	"strings"
)

// Units the humidity functions accept, compared case-insensitively.
var (
	celsiusUnits = []string{"c", "°c", "degc", "deg c", "degrees c", "degrees celsius", "celsius"}
	percentUnits = []string{"%", "percent", "%rh", "% rh"}
)

// CheckUnits checks the expression against the units of its inputs
// (units[i] of Inputs()[i]; nil when unknown): the humidity functions need
// a temperature in °C and a relative humidity in %, and + or - between
// two inputs needs the same units on both. Errors are *SyntaxError at the
// offending argument or operator.
func (e *Expr) CheckUnits(units []*string) error { return e.checkUnits(&e.root, units) }

func (e *Expr) unitsOf(n *node, units []*string) *string {
	if n.kind == inputNode {
		return units[n.input]
	}
	return nil
}

func (e *Expr) checkUnits(n *node, units []*string) error {
	for i := range n.args {
		if err := e.checkUnits(&n.args[i], units); err != nil {
			return err
		}
	}
	switch {
	case n.kind == callNode && (n.fn == "vpd" || n.fn == "dewpoint" || n.fn == "heat_index"):
		for i, want := range [][]string{celsiusUnits, percentUnits} {
			arg := &n.args[i]
			u := e.unitsOf(arg, units)
			if u != nil && !oneOf(*u, want) {
				what := []string{"a temperature in °C", "a relative humidity in %"}[i]
				return &SyntaxError{arg.pos, fmt.Sprintf("unit error: %s needs %s, but %s is in %q", n.fn, what, e.inputs[arg.input].Name, *u)}
			}
		}
	case n.kind == binaryNode && (n.op == '+' || n.op == '-'):
		a, b := e.unitsOf(&n.args[0], units), e.unitsOf(&n.args[1], units)
		if a != nil && b != nil && !strings.EqualFold(*a, *b) {
			return &SyntaxError{n.pos, fmt.Sprintf("unit error: %s is in %q and %s in %q", e.inputs[n.args[0].input].Name, *a, e.inputs[n.args[1].input].Name, *b)}
		}
	}
	return nil
}

func oneOf(u string, set []string) bool {
	u = strings.ToLower(strings.TrimSpace(u))
	for _, s := range set {
		if u == s {
			return true
		}
	}
	return false
}
