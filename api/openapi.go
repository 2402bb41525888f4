package api

import (
	"embed"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/httpasset"
)

//go:embed docs
var docsFS embed.FS

// docsFiles serves the Swagger UI bundle (1.7 MB of JavaScript, 0.46 MB
// compressed), read on the first request to /docs.
var docsFiles = sync.OnceValue(func() *httpasset.Files {
	fl, err := httpasset.New(docsFS, "docs", 24*time.Hour)
	if err != nil {
		panic(err) // embedded at build time
	}
	return fl
})

// The OpenAPI document is generated from the route table and the request
// and response types, so it cannot drift from what the handlers accept.

type openAPI struct {
	once sync.Once
	doc  []byte
}

var nonWord = regexp.MustCompile(`\W`)

func (s *Server) openAPIDocument() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]any{}
	var pathOrder []string
	for _, rt := range s.order {
		item, ok := paths[rt.path].(map[string]any)
		if !ok {
			item = map[string]any{}
			paths[rt.path] = item
			pathOrder = append(pathOrder, rt.path)
		}
		m := strings.ToLower(rt.method)
		op := map[string]any{
			"tags":        []string{rt.tag},
			"summary":     rt.summary,
			"operationId": strings.Trim(nonWord.ReplaceAllString(rt.path, "_"), "_") + "_" + m,
		}
		if rt.description != "" {
			op["description"] = rt.description
		}
		responses := map[string]any{}
		okResp := map[string]any{"description": http.StatusText(rt.status)}
		if rt.produces != "" {
			okResp["content"] = map[string]any{rt.produces: map[string]any{"schema": map[string]any{"type": "string"}}}
		} else if rt.resp != nil {
			okResp["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(rt.resp, "")}}
		}
		responses[strconv.Itoa(rt.status)] = okResp
		msg := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/MessageResponse"}}}}
		withDesc := func(d string) map[string]any {
			out := map[string]any{"description": d}
			for k, v := range msg {
				out[k] = v
			}
			return out
		}
		if rt.role != "" || rt.refresh {
			op["security"] = []any{map[string]any{"HTTPBearer": []string{}}}
			responses["401"] = withDesc("Not authenticated, or the token is invalid, expired or of the wrong type")
			responses["403"] = withDesc("The role of the caller is too low")
		}
		if len(rt.consumes) > 0 {
			responses["400"] = withDesc("A malformed body, or a semantic error: an unknown name, a datatype mismatch")
		}
		for status, d := range rt.extraErrors {
			responses[strconv.Itoa(status)] = withDesc(d)
		}
		if rt.req != nil || len(rt.query) > 0 {
			responses["400"] = withDesc("A semantic error: an unknown name, a datatype mismatch, lengths that differ")
			responses["409"] = withDesc("A duplicate, or a row still in use")
			responses["422"] = map[string]any{"description": "Validation Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/HTTPValidationError"}}}}
		}
		op["responses"] = responses
		if rt.req != nil {
			op["requestBody"] = map[string]any{
				"required": !rt.bodyOptional,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schema(rt.req, "")}},
			}
		}
		if len(rt.consumes) > 0 {
			content := map[string]any{}
			for _, ct := range rt.consumes {
				schema := map[string]any{"type": "string"}
				if ct == "multipart/form-data" {
					schema = map[string]any{"type": "object", "required": []string{"file"},
						"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary"}}}
				}
				content[ct] = map[string]any{"schema": schema}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		}
		if len(rt.query) > 0 {
			var params []any
			for _, q := range rt.query {
				params = append(params, map[string]any{"name": q.name, "in": "query", "required": q.required,
					"description": q.description, "schema": map[string]any{"type": q.typ}})
			}
			op["parameters"] = params
		}
		item[m] = op
	}
	g.components["MessageResponse"] = map[string]any{"type": "object", "required": []string{"detail"},
		"properties": map[string]any{"detail": map[string]any{"type": "string"}}}
	g.components["ValidationError"] = map[string]any{"type": "object", "required": []string{"loc", "msg", "type"},
		"properties": map[string]any{
			"loc":   map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}},
			"msg":   map[string]any{"type": "string"},
			"type":  map[string]any{"type": "string"},
			"input": map[string]any{},
		}}
	g.components["HTTPValidationError"] = map[string]any{"type": "object",
		"properties": map[string]any{"detail": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/ValidationError"}}}}
	ordered := make(orderedMap, 0, len(pathOrder))
	for _, p := range pathOrder {
		ordered = append(ordered, kv{p, paths[p]})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "dtbase", "version": s.cfg.Version,
			"description": "The data store and API of a digital twin: locations, sensors and readings, models and runs, services and users. Wire-compatible with DTBase. Log in with POST /auth/login, then press Authorize and paste the access_token."},
		"paths": ordered,
		"components": map[string]any{
			"schemas":         g.components,
			"securitySchemes": map[string]any{"HTTPBearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT or API key"}},
		},
	}
}

// orderedMap keeps the paths in router order, as the original lists them.
type orderedMap []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the pairs in order.
func (m orderedMap) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, mustJSON(p.k)...)
		b = append(b, ':')
		b = append(b, mustJSON(p.v)...)
	}
	return append(b, '}'), nil
}

type schemaGen struct{ components map[string]any }

var (
	dtTimeType   = reflect.TypeOf(dtbase.Time{})
	durationTyp  = reflect.TypeOf(time.Duration(0))
	roleType     = reflect.TypeOf(dtbase.Role(""))
	datatypeType = reflect.TypeOf(dtbase.Datatype(""))
)

// schema returns the JSON schema of t; named structs become components.
func (g *schemaGen) schema(t reflect.Type, tag string) map[string]any {
	switch t {
	case timeType, dtTimeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case valueType:
		return map[string]any{"anyOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "integer"},
			map[string]any{"type": "boolean"}, map[string]any{"type": "string"}}}
	case objectType:
		return map[string]any{"type": "object"}
	case anyType:
		return map[string]any{}
	case durationTyp:
		return map[string]any{"type": "integer"}
	case roleType:
		return map[string]any{"type": "string", "enum": []dtbase.Role{dtbase.RoleAdmin, dtbase.RoleEditor, dtbase.RoleViewer}}
	case datatypeType:
		return map[string]any{"type": "string", "enum": dtbase.Datatypes}
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.schema(t.Elem(), tag)
		return map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
	case reflect.String:
		s := map[string]any{"type": "string"}
		if max := parseDTTag(tag).max; max > 0 {
			s["maxLength"] = max
		}
		return s
	case reflect.Int, reflect.Int64, reflect.Int32:
		s := map[string]any{"type": "integer"}
		for k, v := range parseDTTag(tag).rng {
			s[k] = v
		}
		return s
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		// A list of strings carries its limit on each item.
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), tag)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), "")}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		// Types that marshal themselves (ordered dynamic keys) describe
		// themselves.
		if d, ok := reflect.Zero(t).Interface().(interface{ openAPISchema() map[string]any }); ok {
			return d.openAPISchema()
		}
		name := schemaName(t)
		if _, done := g.components[name]; !done {
			g.components[name] = map[string]any{} // placeholder against recursion
			props := orderedMap{}
			var required []string
			for _, f := range wireFields(t) {
				props = append(props, kv{f.key, g.schema(f.Type, f.Tag.Get("dt"))})
				if !parseDTTag(f.Tag.Get("dt")).optional {
					required = append(required, f.key)
				}
			}
			obj := map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				obj["required"] = required
			}
			g.components[name] = obj
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// schemaName turns a Go type name into a component name: loginRequest →
// LoginRequest.
func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return "Object"
	}
	r := []rune(n)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	s.openapi.once.Do(func() { s.openapi.doc = mustJSON(s.openAPIDocument()) })
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openapi.doc)
}

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dtbase API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

const docsInit = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
`

// serveDocs serves the interactive documentation from embedded assets. It
// reports whether it handled the request.
func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) bool {
	switch p := r.URL.Path; {
	case p == "/docs" || p == "/docs/" || p == "/redoc":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(docsPage))
	case p == "/docs/init.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write([]byte(docsInit))
	case strings.HasPrefix(p, "/docs/"):
		http.StripPrefix("/docs/", docsFiles()).ServeHTTP(w, r)
	default:
		return false
	}
	return true
}
