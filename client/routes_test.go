package client

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestClientCoversEveryRoute checks that every path and method of the
// server's /openapi.json is called by a method of the client. The client
// imports no server package (checked too), so its calls are read from its
// source: each call passing an http.Method* constant followed by a path (a
// string literal, or base + literal).
func TestClientCoversEveryRoute(t *testing.T) {
	s := newServer(t)
	resp, err := http.Get(s.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&doc))
	if len(doc.Paths) < 49 {
		t.Fatalf("the OpenAPI document has %d paths, want at least DTBase's 49", len(doc.Paths))
	}

	calls := clientCalls(t)
	var missing []string
	for path, methods := range doc.Paths {
		for method := range methods {
			if route := strings.ToUpper(method) + " " + path; !calls[route] {
				missing = append(missing, route)
			}
		}
	}
	slices.Sort(missing)
	for _, route := range missing {
		t.Errorf("no client method calls %s", route)
	}
}

// clientCalls returns "METHOD /path" for every request the client's
// non-test source makes.
func clientCalls(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// An SDK must not depend on server internals: of this module it
		// may use only the root package's domain types (Value, Datatype).
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, "github.com/dtbase/dtbase/") {
				t.Errorf("%s imports %s: the client must not import server code", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for i, arg := range call.Args[:max(len(call.Args)-1, 0)] {
				sel, ok := arg.(*ast.SelectorExpr)
				if !ok || !strings.HasPrefix(sel.Sel.Name, "Method") {
					continue
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "http" {
					continue
				}
				if path := pathOf(call.Args[i+1]); path != "" {
					calls[strings.ToUpper(strings.TrimPrefix(sel.Sel.Name, "Method"))+" "+path] = true
				}
			}
			return true
		})
	}
	if len(calls) == 0 {
		t.Fatal("found no calls in the client's source")
	}
	return calls
}

// pathOf returns the path of an expression "/path" or base+"/path".
func pathOf(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && strings.HasPrefix(s, "/") {
			return s
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return pathOf(e.Y)
		}
	}
	return ""
}
