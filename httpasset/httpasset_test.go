package httpasset

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestFiles(t *testing.T) {
	js := []byte(strings.Repeat("function f(){return 1}\n", 200))
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 100))
	fsys := fstest.MapFS{
		"assets/app.js":   {Data: js},
		"assets/icon.png": {Data: png},
		"assets/LICENSE":  {Data: []byte("Apache License\n")},
	}
	fl, err := New(fsys, "assets", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hash := fl.Hash("app.js")
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		encoding, cache    string
		body               []byte
		ctype              string
	}{
		{"gzip accepted", "GET", "/app.js", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, 200, "gzip", "public, max-age=86400", js, "text/javascript; charset=utf-8"},
		{"no Accept-Encoding", "GET", "/app.js", nil, 200, "", "public, max-age=86400", js, "text/javascript; charset=utf-8"},
		{"gzip refused", "GET", "/app.js", map[string]string{"Accept-Encoding": "br, gzip;q=0"}, 200, "", "public, max-age=86400", js, "text/javascript; charset=utf-8"},
		{"gzip with a weight", "GET", "/app.js", map[string]string{"Accept-Encoding": "gzip;q=0.5"}, 200, "gzip", "public, max-age=86400", js, "text/javascript; charset=utf-8"},
		{"versioned URL", "GET", "/app.js?v=" + hash, map[string]string{"Accept-Encoding": "gzip"}, 200, "gzip", "public, max-age=31536000, immutable", js, "text/javascript; charset=utf-8"},
		{"stale version", "GET", "/app.js?v=0000", nil, 200, "", "public, max-age=86400", js, "text/javascript; charset=utf-8"},
		{"not modified", "GET", "/app.js", map[string]string{"If-None-Match": `"` + hash + `"`, "Accept-Encoding": "gzip"}, 304, "", "public, max-age=86400", nil, "text/javascript; charset=utf-8"},
		{"an image is not compressed", "GET", "/icon.png", map[string]string{"Accept-Encoding": "gzip"}, 200, "", "public, max-age=86400", png, "image/png"},
		{"type sniffed without an extension", "GET", "/LICENSE", map[string]string{"Accept-Encoding": "gzip"}, 200, "", "public, max-age=86400", []byte("Apache License\n"), "text/plain; charset=utf-8"},
		{"HEAD", "HEAD", "/app.js", map[string]string{"Accept-Encoding": "gzip"}, 200, "gzip", "public, max-age=86400", nil, "text/javascript; charset=utf-8"},
		{"missing", "GET", "/nope.js", nil, 404, "", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			fl.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == 404 {
				return
			}
			h := res.Header
			if h.Get("Content-Encoding") != tt.encoding || h.Get("Cache-Control") != tt.cache || h.Get("Vary") != "Accept-Encoding" ||
				h.Get("ETag") != `"`+fl.Hash(strings.TrimPrefix(strings.Split(tt.path, "?")[0], "/"))+`"` || h.Get("Content-Type") != tt.ctype {
				t.Errorf("headers %v", h)
			}
			body, _ := io.ReadAll(res.Body)
			if tt.method == "HEAD" || tt.status == 304 {
				if len(body) != 0 {
					t.Errorf("%d bytes of body", len(body))
				}
				return
			}
			if tt.encoding == "gzip" {
				if len(body) >= len(tt.body)/4 {
					t.Errorf("compressed to %d of %d bytes", len(body), len(tt.body))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, tt.body) {
				t.Errorf("body differs: %d bytes, want %d", len(body), len(tt.body))
			}
		})
	}
}

// TestThroughHTTP checks that Go's client, which asks for gzip itself,
// receives the file intact.
func TestThroughHTTP(t *testing.T) {
	fl, err := New(fstest.MapFS{"a/x.css": {Data: []byte(strings.Repeat("body{margin:0}", 100))}}, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/x.css")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !res.Uncompressed || string(body) != strings.Repeat("body{margin:0}", 100) || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("uncompressed %v, %d bytes, %v", res.Uncompressed, len(body), res.Header)
	}
}
