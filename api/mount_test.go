package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

// TestMount checks the API mounted beside a page handler answers as the
// API alone did: JSON 404 and 405 under the API's paths, the pages' own
// answer elsewhere.
func TestMount(t *testing.T) {
	e := newEnv(t)
	h := e.mounted(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "page "+r.URL.Path)
	})

	tests := []struct {
		method, path string
		status       int
		body         string // a prefix of the answer
		header       [2]string
	}{
		{"GET", "/model/list-models", 200, "[]", [2]string{}},
		{"HEAD", "/model/list-models", 200, "", [2]string{}},
		{"GET", "/model/insert-model", 405, `{"detail":"Method Not Allowed"}`, [2]string{"Allow", "POST"}},
		{"DELETE", "/model/list-models", 405, `{"detail":"Method Not Allowed"}`, [2]string{"Allow", "GET"}},
		{"GET", "/model/no-such-route", 404, `{"detail":"Not Found"}`, [2]string{}},
		{"GET", "/model", 404, `{"detail":"Not Found"}`, [2]string{}},
		{"GET", "/model/list-models/?a=1", 307, "", [2]string{"Location", "/model/list-models?a=1"}},
		{"GET", "/no-such-page", 404, "page /no-such-page", [2]string{"Content-Type", "text/html"}},
		{"GET", "/", 404, "page /", [2]string{}},
		{"GET", "/healthz", 200, `{"status":"ok"}`, [2]string{}},
		{"GET", "/readyz", 200, `{"status":"ok"}`, [2]string{}},
		{"GET", "/openapi.json", 200, `{`, [2]string{}},
		{"GET", "/docs", 200, "<", [2]string{"Content-Type", "text/html; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.HasPrefix(rec.Body.String(), tt.body) {
				t.Fatalf("got %d %q, want %d %q...", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if k := tt.header[0]; k != "" && rec.Header().Get(k) != tt.header[1] {
				t.Errorf("%s: got %q, want %q", k, rec.Header().Get(k), tt.header[1])
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id: the middleware did not run")
			}
		})
	}
}

// TestRouteBody checks a route's own body limit, and that a streaming route
// reads its body itself, under its limit, after authentication.
func TestRouteBody(t *testing.T) {
	e := newEnv(t)
	echo := func(w http.ResponseWriter, r *http.Request, body []byte) {
		if body == nil {
			b, err := io.ReadAll(r.Body)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusOK, detail{fmt.Sprintf("streamed past %d", tooBig.Limit)})
				return
			}
			body = append([]byte("streamed "), b...)
		}
		writeJSON(w, http.StatusOK, detail{string(body)})
	}
	e.srv.handleRaw(http.MethodPost, "/sensor/small-body", dtbase.RoleEditor, "test", echo).maxBody = 8
	stream := e.srv.handleRaw(http.MethodPost, "/sensor/streamed-body", dtbase.RoleEditor, "test", echo)
	stream.maxBody, stream.streamBody = 8, true
	h := e.mounted(nil)

	tests := []struct {
		path, token, body string
		status            int
		detail            string
	}{
		{"/sensor/small-body", e.token, "12345678", 200, "12345678"},
		{"/sensor/small-body", e.token, "123456789", 413, "Request body exceeds the limit of 8 bytes"},
		{"/sensor/streamed-body", e.token, "12345678", 200, "streamed 12345678"},
		{"/sensor/streamed-body", e.token, "123456789", 200, "streamed past 8"},
		{"/sensor/streamed-body", "", "123456789", 401, msgNotAuthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			r := response{Status: rec.Code, Body: rec.Body.Bytes()}
			if rec.Code != tt.status || r.Detail() != tt.detail {
				t.Fatalf("got %d %s, want %d %q", rec.Code, rec.Body, tt.status, tt.detail)
			}
		})
	}
}

// mounted is the API as app serves it: mounted on a mux beside the pages
// (nil: none), behind its middleware.
func (e *testEnv) mounted(pages http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	e.srv.Mount(mux)
	if pages != nil {
		mux.HandleFunc("/", pages)
	}
	return e.srv.Middleware(mux)
}
