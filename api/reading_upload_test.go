package api

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUploadReadingsCSVLimit: an upload is limited by MaxUploadBytes, not
// by the JSON body limit, and one over it is a 413 that writes nothing,
// whether sent as the body or as a form part.
func TestUploadReadingsCSVLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes, c.MaxUploadBytes = 1000, 200_000 })
	readingFixture(t, e)
	csv := func(rows int) []byte {
		var b bytes.Buffer
		b.WriteString("unique_identifier,measure_name,timestamp,value\n")
		for i := 0; i < rows; i++ {
			fmt.Fprintf(&b, "W1,temperature,2024-01-01T%02d:%02d:%02d,%d.5\n", i/3600, i/60%60, i%60, i%100)
		}
		return b.Bytes()
	}
	upload := func(ctype string, body []byte) response {
		req := httptest.NewRequest(http.MethodPost, "/sensor/upload-readings-csv", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", ctype)
		return e.serve(req)
	}
	form := func(data []byte) (string, []byte) {
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		fw, _ := w.CreateFormFile("file", "r.csv")
		fw.Write(data)
		w.Close()
		return w.FormDataContentType(), mp.Bytes()
	}
	small := csv(2000) // ~80 kB: over the body limit, under the upload limit
	if r := upload("text/csv", small); r.Status != 201 || !strings.Contains(string(r.Body), `"inserted":2000`) {
		t.Fatalf("upload under the limit: %d %s", r.Status, r.Body)
	}
	big := csv(8000) // ~330 kB, readings from 02:13 on are new
	if r := upload("text/csv", big); r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), "200000 bytes") {
		t.Fatalf("body over the limit: %d %s", r.Status, r.Body)
	}
	ct, body := form(big)
	if r := upload(ct, body); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("form over the limit: %d %s", r.Status, r.Body)
	}
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM reading_float`).Scan(&n); err != nil || n != 2000 {
		t.Fatalf("%d readings stored after the refused uploads, want 2000 (%v)", n, err)
	}
}
