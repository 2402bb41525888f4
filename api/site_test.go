package api

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

var testSiteDoc = []byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":4}],"bufferViews":[{"buffer":0,"byteLength":4}]}`)

// upload sends body to upload-site-model with a content type, as role.
func (e *testEnv) upload(query, ctype string, body []byte, role dtbase.Role) response {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/location/upload-site-model"+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+e.as(role))
	return e.serve(req)
}

func TestSiteModelAPI(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SiteModelMaxBytes = 4096 })
	e.must(http.StatusCreated, "/location/insert-location-schema", map[string]any{"name": "farm", "description": nil, "identifiers": []map[string]any{
		{"name": "x", "units": "m", "datatype": "float"}, {"name": "y", "units": "m", "datatype": "float"}}})
	v1 := dtbase.EncodeGLB(testSiteDoc, []byte{1, 2, 3, 4})

	r := e.upload("?schema_name=farm", "model/gltf-binary", v1, dtbase.RoleEditor)
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"version":1`) || !strings.Contains(string(r.Body), `"format":"glb"`) {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}

	big := dtbase.EncodeGLB([]byte(`{"asset":{"version":"2.0"}}`), make([]byte, 5000))
	for _, c := range []struct {
		name, query, ctype string
		body               []byte
		role               dtbase.Role
		status             int
		detail             string
	}{
		{"not gltf", "?schema_name=farm", "model/gltf-binary", []byte("ISO-10303-21; an IFC file"), dtbase.RoleEditor, 400, "neither"},
		{"truncated", "?schema_name=farm", "model/gltf-binary", v1[:len(v1)-2], dtbase.RoleEditor, 400, "truncated"},
		{"too large", "?schema_name=farm", "model/gltf-binary", big, dtbase.RoleEditor, 413, "limit is 4096"},
		{"external uri", "?schema_name=farm", "model/gltf+json", []byte(`{"asset":{"version":"2.0"},"buffers":[{"uri":"farm.bin","byteLength":4}]}`), dtbase.RoleEditor, 400, "external file"},
		{"no schema", "", "model/gltf-binary", v1, dtbase.RoleEditor, 400, "schema_name"},
		{"unknown schema", "?schema_name=barn", "model/gltf-binary", v1, dtbase.RoleEditor, 400, "not found"},
		{"viewer", "?schema_name=farm", "model/gltf-binary", v1, dtbase.RoleViewer, 403, "editor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.upload(c.query, c.ctype, c.body, c.role)
			if r.Status != c.status || !strings.Contains(r.Detail(), c.detail) {
				t.Fatalf("%d %s, want %d mentioning %q", r.Status, r.Body, c.status, c.detail)
			}
		})
	}
	if m, err := e.db.FindSiteModel(context.Background(), "farm", true); err != nil || m.Version != 1 || !bytes.Equal(m.Data, v1) {
		t.Fatalf("after bad uploads: %+v %v, want version 1 unchanged", m, err)
	}

	// A multipart form replaces it, naming the schema in a field.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("schema_name", "farm")
	fw, _ := mw.CreateFormFile("file", "farm.glb")
	v2 := dtbase.EncodeGLB(testSiteDoc, []byte{9, 9, 9, 9})
	fw.Write(v2)
	mw.Close()
	if r := e.upload("", mw.FormDataContentType(), form.Bytes(), dtbase.RoleEditor); r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"version":2`) {
		t.Fatalf("multipart upload: %d %s", r.Status, r.Body)
	}

	got := e.get("/location/site-model?schema_name=farm")
	etag := got.Header.Get("ETag")
	if got.Status != 200 || !bytes.Equal(got.Body, v2) || got.Header.Get("Content-Type") != "model/gltf-binary" || etag == "" ||
		got.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("download: %d %v", got.Status, got.Header)
	}
	req := httptest.NewRequest(http.MethodGet, "/location/site-model?schema_name=farm", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("If-None-Match", etag)
	if r := e.serve(req); r.Status != http.StatusNotModified || len(r.Body) != 0 {
		t.Fatalf("revalidation: %d, want 304", r.Status)
	}
	if r := e.get("/location/site-model?schema_name=barn"); r.Status != 400 {
		t.Fatalf("unknown schema download: %d %s", r.Status, r.Body)
	}

	site := e.must(200, "/location/get-site", map[string]any{"schema_name": "farm"})
	if !strings.Contains(string(site.Body), `"version":2`) || !strings.Contains(string(site.Body), `"x":"x"`) {
		t.Fatalf("get-site: %s", site.Body)
	}
	e.must(200, "/location/set-site-placement", map[string]any{"schema_name": "farm", "x": "y", "y": "x", "unit": "cm", "offset": []float64{1, 2, 3}, "rotation": 90})
	site = e.must(200, "/location/get-site", map[string]any{"schema_name": "farm"})
	if !strings.Contains(string(site.Body), `"x":"y"`) || !strings.Contains(string(site.Body), `"unit":"cm"`) || !strings.Contains(string(site.Body), `"offset":[1,2,3]`) {
		t.Fatalf("placement not stored: %s", site.Body)
	}
	e.must(400, "/location/set-site-placement", map[string]any{"schema_name": "farm", "x": "x", "y": "nope"})
	e.must(400, "/location/set-site-placement", map[string]any{"schema_name": "farm", "x": "x", "y": "y", "offset": []float64{1}})
	e.must(200, "/location/delete-site-model", map[string]any{"schema_name": "farm"})

	// The OpenAPI document describes the upload's bodies and statuses.
	var doc struct {
		Paths map[string]map[string]struct {
			Responses   map[string]any `json:"responses"`
			RequestBody struct {
				Content map[string]any `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	e.get("/openapi.json").JSON(t, &doc)
	up := doc.Paths["/location/upload-site-model"]["post"]
	for _, ct := range []string{"model/gltf-binary", "model/gltf+json", "multipart/form-data"} {
		if _, ok := up.RequestBody.Content[ct]; !ok {
			t.Errorf("upload-site-model does not document a %s body", ct)
		}
	}
	for _, status := range []string{"201", "400", "401", "403", "413"} {
		if _, ok := up.Responses[status]; !ok {
			t.Errorf("upload-site-model does not document %s", status)
		}
	}
	if _, ok := doc.Paths["/location/site-model"]["get"].Responses["304"]; !ok {
		t.Error("site-model does not document 304")
	}
	if site = e.must(200, "/location/get-site", map[string]any{"schema_name": "farm"}); !strings.Contains(string(site.Body), `"model":null`) {
		t.Fatalf("after delete: %s", site.Body)
	}
}
