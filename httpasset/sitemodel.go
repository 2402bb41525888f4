package httpasset

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/dtbase/dtbase"
)

// ServeSiteModel answers a request for a schema's model with its data,
// ETag and caching headers, or 304 when If-None-Match names it; the API and
// the web interface serve the same answer. fail answers errors.
func ServeSiteModel(w http.ResponseWriter, r *http.Request, st dtbase.SiteStore, schema string,
	fail func(http.ResponseWriter, *http.Request, error)) {
	info, err := st.FindSiteModel(r.Context(), schema, false)
	if err != nil {
		fail(w, r, err)
		return
	}
	etag := `"` + info.SHA256 + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	m, err := st.FindSiteModel(r.Context(), schema, true)
	if err != nil {
		fail(w, r, err)
		return
	}
	h.Set("ETag", `"`+m.SHA256+`"`) // replaced between the two reads
	ct := "model/gltf-binary"
	if m.Format == dtbase.SiteFormatGLTF {
		ct = "model/gltf+json"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(m.Data)))
	if r.Method != http.MethodHead {
		w.Write(m.Data)
	}
}
