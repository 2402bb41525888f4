package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDocsCompressed checks that the Swagger UI bundle is sent gzipped to
// a browser that accepts it, whole to one that does not, and revalidated
// by its ETag.
func TestDocsCompressed(t *testing.T) {
	e := newEnv(t)
	get := func(header map[string]string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/docs/swagger-ui-bundle.js", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec.Result()
	}
	plain := get(nil)
	whole, _ := io.ReadAll(plain.Body)
	if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" || len(whole) < 1<<20 {
		t.Fatalf("plain: %d %v, %d bytes", plain.StatusCode, plain.Header, len(whole))
	}
	gz := get(map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	compressed, _ := io.ReadAll(gz.Body)
	if gz.StatusCode != 200 || gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("Vary") != "Accept-Encoding" ||
		gz.Header.Get("Cache-Control") != "public, max-age=86400" || gz.Header.Get("ETag") == "" {
		t.Fatalf("gzip: %d %v", gz.StatusCode, gz.Header)
	}
	t.Logf("swagger-ui-bundle.js: %d bytes, %d gzipped", len(whole), len(compressed))
	if len(compressed) > len(whole)/3 {
		t.Errorf("gzipped to %d of %d bytes", len(compressed), len(whole))
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := io.ReadAll(zr); string(back) != string(whole) {
		t.Error("the gzipped bundle differs from the bundle")
	}
	if res := get(map[string]string{"If-None-Match": gz.Header.Get("ETag")}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", res.StatusCode)
	}
}
