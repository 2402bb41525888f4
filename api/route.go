package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// route is one endpoint: its contract, for the OpenAPI document, and its
// handler.
type route struct {
	method, path string
	tag, summary string
	description  string
	role         dtbase.Role // minimum role; "" for a public route
	refresh      bool        // authenticated by a refresh token
	status       int
	req, resp    reflect.Type // nil req: no body
	bodyOptional bool
	query        []queryParam   // documented query parameters of GET downloads
	produces     string         // content type of a non-JSON answer
	consumes     []string       // content types of a non-JSON request body
	extraErrors  map[int]string // further documented error statuses and when they happen
	maxBody      int64          // request body limit; 0: Config.MaxBodyBytes
	// streamBody: the handler reads r.Body itself (under maxBody) and
	// serve is called with a nil body, after authentication.
	streamBody bool
	serve      func(w http.ResponseWriter, r *http.Request, body []byte)
}

type queryParam struct {
	name, typ, description string
	required               bool
}

// csvDownload registers a viewer's GET route that answers text/csv,
// documented by its columns and its query.
func (s *Server) csvDownload(path, summary, columns string, fn func(w http.ResponseWriter, r *http.Request, body []byte), query ...queryParam) {
	rt := s.handleRaw(http.MethodGet, path, dtbase.RoleViewer, summary, fn)
	rt.produces = "text/csv"
	rt.description, rt.query = columns, query
}

// queryCheck reads a CSV download's query and collects what is wrong with
// it, as the 422 of a body would list it (loc "query").
type queryCheck struct {
	q    url.Values
	errs []fieldError
}

// require notes each of names that is missing or empty.
func (c *queryCheck) require(names ...string) {
	for _, name := range names {
		if c.q.Get(name) == "" {
			c.missing(name)
		}
	}
}

func (c *queryCheck) missing(name string) {
	c.errs = append(c.errs, fieldError{Type: "missing", Loc: []any{"query", name}, Msg: "Field required", Input: mustJSON(nil)})
}

// time sets *t to the datetime name, when it is given.
func (c *queryCheck) time(name string, t *time.Time) {
	v := c.q.Get(name)
	if v == "" {
		return
	}
	parsed, ok := dtbase.ParseTime(v)
	if !ok {
		c.errs = append(c.errs, fieldError{Type: "datetime_parsing", Loc: []any{"query", name}, Msg: "Input should be a valid datetime", Input: mustJSON(v)})
		return
	}
	*t = parsed
}

// timeRange notes a missing dt_from or dt_to and returns the range they give.
func (c *queryCheck) timeRange() (from, to time.Time) {
	c.require("dt_from", "dt_to")
	c.time("dt_from", &from)
	c.time("dt_to", &to)
	return from, to
}

// failed answers the errors found, if any, and reports whether it did.
func (c *queryCheck) failed(w http.ResponseWriter, r *http.Request) bool {
	if len(c.errs) == 0 {
		return false
	}
	writeError(w, r, &validationError{c.errs})
	return true
}

// The query parameters of a CSV download of one sensor over a range.
var (
	sensorParam = queryParam{"unique_identifier", "string", "the sensor", true}
	fromParam   = queryParam{"dt_from", "string", "start of the range (included)", true}
	toParam     = queryParam{"dt_to", "string", "end of the range (included)", true}
)

// register adds a route.
func (s *Server) register(rt *route) *route {
	if s.routes[rt.path] == nil {
		s.routes[rt.path] = map[string]*route{}
	}
	s.routes[rt.path][rt.method] = rt
	s.order = append(s.order, rt)
	return rt
}

// op is the handler of an endpoint with a JSON request and answer.
type op[Req, Resp any] func(ctx context.Context, req *Req) (Resp, error)

// noBody is the request type of endpoints without a body.
type noBody struct{}

// handle registers a JSON endpoint. Req is the body type (noBody for none);
// Resp the answer, written with status on success.
func handle[Req, Resp any](s *Server, method, path string, role dtbase.Role, status int, summary string, fn op[Req, Resp]) *route {
	return handleFast(s, method, path, role, status, summary, nil, fn)
}

// handleFast registers a JSON endpoint like handle, whose body is decoded by
// fast when it can, and by the generic binder otherwise; fast may be nil.
func handleFast[Req, Resp any](s *Server, method, path string, role dtbase.Role, status int, summary string,
	fast func([]byte, *Req) bool, fn op[Req, Resp]) *route {
	rt := &route{method: method, path: path, role: role, status: status, summary: summary,
		tag: strings.Split(path, "/")[1], resp: reflect.TypeOf((*Resp)(nil)).Elem()}
	if reflect.TypeOf((*Req)(nil)).Elem() != reflect.TypeOf(noBody{}) {
		rt.req = reflect.TypeOf((*Req)(nil)).Elem()
	}
	rt.serve = func(w http.ResponseWriter, r *http.Request, body []byte) {
		req := new(Req)
		if rt.req != nil && !(rt.bodyOptional && len(strings.TrimSpace(string(body))) == 0) {
			if fast == nil || !fast(body, req) {
				req = new(Req) // a failed fast decode may have filled it partly
				if errs := bindBody(body, req); len(errs) > 0 {
					writeError(w, r, &validationError{errs})
					return
				}
			}
		}
		resp, err := fn(r.Context(), req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, rt.status, resp)
	}
	return s.register(rt)
}

// handleRaw registers an endpoint that reads the request and writes the
// answer itself, such as a streamed download. Authentication still applies.
func (s *Server) handleRaw(method, path string, role dtbase.Role, summary string, fn func(w http.ResponseWriter, r *http.Request, body []byte)) *route {
	return s.register(&route{method: method, path: path, role: role, status: http.StatusOK, summary: summary,
		tag: strings.Split(path, "/")[1], serve: fn})
}

// notFound answers a path of no route: a redirect when the path without
// its trailing slash is a route, as the original does, else a JSON 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if p := strings.TrimSuffix(r.URL.Path, "/"); p != r.URL.Path && s.routes[p] != nil {
		target := p
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
		return
	}
	writeJSON(w, http.StatusNotFound, detail{"Not Found"})
}

// methodNotAllowed answers a route's path called with another method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for m := range s.routes[r.URL.Path] {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, detail{"Method Not Allowed"})
}

// routeHandler runs a route's request pipeline in the original's order
// (the mux has answered 404 and 405): the body read under the route's limit
// (413), JSON syntax (422), authentication (401), role (403), body
// validation (422), the handler.
func (s *Server) routeHandler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), rt.path)
		limit := rt.maxBody
		if limit == 0 {
			limit = s.cfg.MaxBodyBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var body []byte
		if !rt.streamBody {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					writeError(w, r, dtbase.Errorf(dtbase.ETOOLARGE, "Request body exceeds the limit of %d bytes", tooBig.Limit))
					return
				}
				writeError(w, r, dtbase.Errorf(dtbase.EINVALID, "Could not read the request body"))
				return
			}
		}
		if rt.req != nil && len(body) > 0 && isJSONContent(r.Header.Get("Content-Type")) {
			if fe, bad := syntaxError(body); bad {
				writeError(w, r, &validationError{[]fieldError{fe}})
				return
			}
		}
		if rt.role != "" || rt.refresh {
			c, err := s.authenticate(r, rt.refresh)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if p := c.Principal; !p.Role.Allows(rt.role) {
				writeError(w, r, dtbase.Errorf(dtbase.EFORBIDDEN, "This action needs the %s role; you have %s", rt.role, p.Role))
				return
			}
			r = r.WithContext(withCredential(r.Context(), c))
		}
		if rt.req != nil && len(body) > 0 && !isJSONContent(r.Header.Get("Content-Type")) {
			writeError(w, r, &validationError{[]fieldError{{Type: "model_attributes_type", Loc: []any{"body"},
				Msg: "Input should be a valid dictionary or object to extract fields from", Input: mustJSON(string(body))}}})
			return
		}
		rt.serve(w, r, body)
	})
}

// isJSONContent mirrors FastAPI: no content type, application/json or any
// +json type is parsed as JSON.
func isJSONContent(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// syntaxError checks the body is one JSON value and describes the first
// syntax error in the original's shape.
func syntaxError(body []byte) (fieldError, bool) {
	if json.Valid(body) {
		return fieldError{}, false
	}
	var v any
	err := json.Unmarshal(body, &v)
	offset := int64(0)
	msg := "invalid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset, msg = se.Offset, se.Error()
	} else if err != nil {
		msg = err.Error()
	}
	return fieldError{Type: "json_invalid", Loc: []any{"body", offset}, Msg: "JSON decode error",
		Input: json.RawMessage("{}"), Ctx: map[string]any{"error": msg}}, true
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
