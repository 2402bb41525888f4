// Package derive computes measures from other measures on read: a small,
// safe expression language (numbers, named inputs, + - * / ^, unary minus,
// parentheses and a fixed set of functions; no loops, no I/O, no state),
// parsed once into a tree and evaluated per timestamp. docs/derived.md says
// why a language rather than a fixed library of formulas.
package derive

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dtbase/dtbase"
)

// MaxDepth bounds the nesting of an expression; dtbase.MaxExpressionLen
// its length.
const MaxDepth = 50

// SyntaxError is a mistake in an expression at a byte offset (from 0).
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos, e.Msg) }

// Input is a name an expression reads, at its first position.
type Input struct {
	Name string
	Pos  int
}

// Expr is a parsed expression.
type Expr struct {
	src    string
	root   node
	inputs []Input
}

// String returns the expression's text.
func (e *Expr) String() string { return e.src }

// Inputs returns the names the expression reads, in order of first use.
func (e *Expr) Inputs() []Input { return e.inputs }

type nodeKind uint8

const (
	numNode nodeKind = iota
	inputNode
	unaryNode
	binaryNode
	callNode
)

type node struct {
	kind  nodeKind
	pos   int
	num   float64
	input int    // index into Expr.inputs
	op    byte   // + - * / ^ for binaryNode, - for unaryNode
	fn    string // callNode
	args  []node
}

// function is a built-in: its arity (-1: two or more) and its body.
type function struct {
	arity int
	eval  func(args []float64) float64
	help  string
}

// fold applies f to the arguments from left to right: f(f(a, b), c)…
func fold(f func(x, y float64) float64) func([]float64) float64 {
	return func(a []float64) float64 {
		m := a[0]
		for _, x := range a[1:] {
			m = f(m, x)
		}
		return m
	}
}

// functions are the built-ins. Temperatures are in °C and relative
// humidities in %.
var functions = map[string]function{
	"min":  {-1, fold(math.Min), "min(a, b, ...)"},
	"max":  {-1, fold(math.Max), "max(a, b, ...)"},
	"exp":  {1, func(a []float64) float64 { return math.Exp(a[0]) }, "exp(x)"},
	"log":  {1, func(a []float64) float64 { return math.Log(a[0]) }, "log(x), natural"},
	"pow":  {2, func(a []float64) float64 { return math.Pow(a[0], a[1]) }, "pow(x, y)"},
	"sqrt": {1, func(a []float64) float64 { return math.Sqrt(a[0]) }, "sqrt(x)"},
	"abs":  {1, func(a []float64) float64 { return math.Abs(a[0]) }, "abs(x)"},
	// vpd is the vapour-pressure deficit in kPa (Tetens' formula).
	"vpd":        {2, func(a []float64) float64 { return SaturationVapourPressure(a[0]) * (1 - a[1]/100) }, "vpd(temperature °C, relative humidity %) in kPa"},
	"dewpoint":   {2, func(a []float64) float64 { return DewPoint(a[0], a[1]) }, "dewpoint(temperature °C, relative humidity %) in °C"},
	"heat_index": {2, func(a []float64) float64 { return HeatIndex(a[0], a[1]) }, "heat_index(temperature °C, relative humidity %) in °C"},
	// interp is a piecewise-linear table: interp(x, x1, y1, x2, y2, ...),
	// x1 < x2 < ..., held constant beyond its ends (a calibration curve).
	"interp": {-2, interp, "interp(x, x1, y1, x2, y2, ...)"},
}

// SaturationVapourPressure is Tetens' saturation vapour pressure in kPa at
// t °C.
func SaturationVapourPressure(t float64) float64 { return 0.6108 * math.Exp(17.27*t/(t+237.3)) }

// DewPoint is the Magnus dew point in °C.
func DewPoint(t, rh float64) float64 {
	const a, b = 17.62, 243.12
	g := math.Log(rh/100) + a*t/(b+t)
	return b * g / (a - g)
}

// HeatIndex is the NWS (Rothfusz) heat index in °C; below 26.7 °C (80 °F)
// it is Steadman's simple form.
func HeatIndex(t, rh float64) float64 {
	f := t*9/5 + 32
	hi := 0.5 * (f + 61 + (f-68)*1.2 + rh*0.094)
	if (hi+f)/2 >= 80 {
		hi = -42.379 + 2.04901523*f + 10.14333127*rh - 0.22475541*f*rh - 0.00683783*f*f -
			0.05481717*rh*rh + 0.00122874*f*f*rh + 0.00085282*f*rh*rh - 0.00000199*f*f*rh*rh
	}
	return (hi - 32) * 5 / 9
}

func interp(a []float64) float64 {
	x, pts := a[0], a[1:]
	if x <= pts[0] {
		return pts[1]
	}
	for i := 2; i < len(pts); i += 2 {
		if x <= pts[i] {
			x0, y0, x1, y1 := pts[i-2], pts[i-1], pts[i], pts[i+1]
			return y0 + (y1-y0)*(x-x0)/(x1-x0)
		}
	}
	return pts[len(pts)-1]
}

// Parse parses an expression. Inputs are names ([A-Za-z_][A-Za-z0-9_]*) or
// any text in square brackets, such as [relative humidity]. Errors are
// *SyntaxError.
func Parse(src string) (*Expr, error) {
	if dtbase.TooLong(src, dtbase.MaxExpressionLen) {
		return nil, &SyntaxError{0, fmt.Sprintf("the expression is longer than %d characters", dtbase.MaxExpressionLen)}
	}
	p := &parser{src: src, e: &Expr{src: src}, index: map[string]int{}}
	p.next()
	root, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok != tEOF {
		return nil, p.errorf("unexpected %s", p.describe())
	}
	p.e.root = root
	return p.e, nil
}

type token uint8

const (
	tEOF token = iota
	tNum
	tName
	tOp
	tLParen
	tRParen
	tComma
	tBad
)

type parser struct {
	src   string
	i     int
	tok   token
	pos   int
	text  string
	num   float64
	depth int
	e     *Expr
	index map[string]int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{p.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) describe() string {
	switch p.tok {
	case tEOF:
		return "end of expression"
	case tNum:
		return "number " + p.text
	case tName:
		return "name " + strconv.Quote(p.text)
	}
	return strconv.Quote(p.text)
}

// next reads the next token.
func (p *parser) next() {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t' || p.src[p.i] == '\n' || p.src[p.i] == '\r') {
		p.i++
	}
	p.pos = p.i
	if p.i >= len(p.src) {
		p.tok, p.text = tEOF, ""
		return
	}
	c := p.src[p.i]
	switch {
	case c >= '0' && c <= '9' || c == '.':
		j := p.i
		for j < len(p.src) && (p.src[j] >= '0' && p.src[j] <= '9' || p.src[j] == '.') {
			j++
		}
		if j < len(p.src) && (p.src[j] == 'e' || p.src[j] == 'E') {
			k := j + 1
			if k < len(p.src) && (p.src[k] == '+' || p.src[k] == '-') {
				k++
			}
			if k < len(p.src) && p.src[k] >= '0' && p.src[k] <= '9' {
				for k < len(p.src) && p.src[k] >= '0' && p.src[k] <= '9' {
					k++
				}
				j = k
			}
		}
		p.text = p.src[p.i:j]
		f, err := strconv.ParseFloat(p.text, 64)
		if err != nil || math.IsInf(f, 0) {
			p.tok = tBad
		} else {
			p.tok, p.num = tNum, f
		}
		p.i = j
	case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
		j := p.i
		for j < len(p.src) && (p.src[j] == '_' || p.src[j] < utf8.RuneSelf && (unicode.IsLetter(rune(p.src[j])) || unicode.IsDigit(rune(p.src[j])))) {
			j++
		}
		p.tok, p.text, p.i = tName, p.src[p.i:j], j
	case c == '[':
		end := strings.IndexByte(p.src[p.i:], ']')
		if end < 0 {
			p.tok, p.text, p.i = tBad, "[", len(p.src)
			return
		}
		p.tok, p.text, p.i = tName, strings.TrimSpace(p.src[p.i+1:p.i+end]), p.i+end+1
		if p.text == "" {
			p.tok = tBad
		}
	case strings.IndexByte("+-*/^", c) >= 0:
		p.tok, p.text, p.i = tOp, string(c), p.i+1
	case c == '(':
		p.tok, p.text, p.i = tLParen, "(", p.i+1
	case c == ')':
		p.tok, p.text, p.i = tRParen, ")", p.i+1
	case c == ',':
		p.tok, p.text, p.i = tComma, ",", p.i+1
	default:
		_, size := utf8.DecodeRuneInString(p.src[p.i:])
		p.tok, p.text, p.i = tBad, p.src[p.i:p.i+size], p.i+size
	}
}

// precedence of binary operators; ^ is right-associative.
func precedence(op string) int {
	switch op {
	case "+", "-":
		return 1
	case "*", "/":
		return 2
	case "^":
		return 4
	}
	return 0
}

// expr parses operators of precedence above minPrec (precedence climbing).
func (p *parser) expr(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return node{}, p.errorf("the expression nests deeper than %d", MaxDepth)
	}
	left, err := p.unary()
	if err != nil {
		return node{}, err
	}
	for p.tok == tOp && precedence(p.text) > minPrec {
		op, pos := p.text, p.pos
		prec := precedence(op)
		p.next()
		next := prec
		if op == "^" {
			next = prec - 1
		}
		right, err := p.expr(next)
		if err != nil {
			return node{}, err
		}
		left = node{kind: binaryNode, pos: pos, op: op[0], args: []node{left, right}}
	}
	return left, nil
}

// unary parses a unary minus (binding looser than ^, so -x^2 is -(x^2)).
func (p *parser) unary() (node, error) {
	if p.tok == tOp && (p.text == "-" || p.text == "+") {
		op, pos := p.text, p.pos
		p.next()
		x, err := p.expr(3)
		if err != nil {
			return node{}, err
		}
		if op == "+" {
			return x, nil
		}
		return node{kind: unaryNode, pos: pos, op: '-', args: []node{x}}, nil
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	switch p.tok {
	case tNum:
		n := node{kind: numNode, pos: p.pos, num: p.num}
		p.next()
		return n, nil
	case tName:
		name, pos, bracketed := p.text, p.pos, p.src[p.pos] == '['
		p.next()
		if p.tok == tLParen && !bracketed {
			return p.call(name, pos)
		}
		if _, isFn := functions[name]; isFn && !bracketed {
			return node{}, &SyntaxError{pos, fmt.Sprintf("%s is a function: write %s", name, functions[name].help)}
		}
		i, ok := p.index[name]
		if !ok {
			i = len(p.e.inputs)
			p.index[name] = i
			p.e.inputs = append(p.e.inputs, Input{name, pos})
		}
		return node{kind: inputNode, pos: pos, input: i}, nil
	case tLParen:
		p.next()
		x, err := p.expr(0)
		if err != nil {
			return node{}, err
		}
		if p.tok != tRParen {
			return node{}, p.errorf("expected ) but found %s", p.describe())
		}
		p.next()
		return x, nil
	case tBad:
		return node{}, p.errorf("unexpected %q", p.text)
	}
	return node{}, p.errorf("expected a number, a name or ( but found %s", p.describe())
}

func (p *parser) call(name string, pos int) (node, error) {
	fn, ok := functions[name]
	if !ok {
		return node{}, &SyntaxError{pos, fmt.Sprintf("unknown function %q; known: abs, dewpoint, exp, heat_index, interp, log, max, min, pow, sqrt, vpd", name)}
	}
	p.next() // (
	var args []node
	if p.tok != tRParen {
		for {
			a, err := p.expr(0)
			if err != nil {
				return node{}, err
			}
			args = append(args, a)
			if p.tok == tComma {
				p.next()
				continue
			}
			break
		}
	}
	if p.tok != tRParen {
		return node{}, p.errorf("expected , or ) but found %s", p.describe())
	}
	p.next()
	switch {
	case fn.arity >= 0 && len(args) != fn.arity:
		return node{}, &SyntaxError{pos, fmt.Sprintf("%s takes %d argument(s), got %d: %s", name, fn.arity, len(args), fn.help)}
	case fn.arity == -1 && len(args) < 2:
		return node{}, &SyntaxError{pos, fmt.Sprintf("%s takes at least 2 arguments, got %d", name, len(args))}
	case fn.arity == -2:
		if len(args) < 3 || len(args)%2 == 0 {
			return node{}, &SyntaxError{pos, fmt.Sprintf("interp takes x then pairs x1, y1, x2, y2, ...; got %d argument(s)", len(args))}
		}
		for i := 3; i < len(args); i += 2 {
			a, b := args[i-2], args[i]
			if a.kind == numNode && b.kind == numNode && !(a.num < b.num) {
				return node{}, &SyntaxError{b.pos, "interp's x values must increase"}
			}
		}
	}
	return node{kind: callNode, pos: pos, fn: name, args: args}, nil
}

// Eval evaluates the expression with in[i] the value of Inputs()[i]. The
// result may be NaN or infinite (log of a negative, a division by zero);
// callers drop such points.
func (e *Expr) Eval(in []float64) float64 { return eval(&e.root, in) }

func eval(n *node, in []float64) float64 {
	switch n.kind {
	case numNode:
		return n.num
	case inputNode:
		return in[n.input]
	case unaryNode:
		return -eval(&n.args[0], in)
	case binaryNode:
		a, b := eval(&n.args[0], in), eval(&n.args[1], in)
		switch n.op {
		case '+':
			return a + b
		case '-':
			return a - b
		case '*':
			return a * b
		case '/':
			return a / b
		case '^':
			return math.Pow(a, b)
		}
	case callNode:
		var buf [8]float64
		args := buf[:0]
		for i := range n.args {
			args = append(args, eval(&n.args[i], in))
		}
		return functions[n.fn].eval(args)
	}
	return math.NaN()
}
