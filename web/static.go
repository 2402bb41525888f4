package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// static holds the built assets: the stylesheet and the islands' bundles
// from web/ui (committed, so building dtbase needs no Node) and the icon.
//
//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded assets from memory. Each URL carries a
// content hash (?v=…) so browsers may cache forever; text assets are kept
// gzip-compressed as well and sent so when the browser accepts it.
type staticFiles struct {
	files map[string]*asset
}

type asset struct {
	body, gz []byte
	ctype    string
	hash     string
}

func mustStatic() *staticFiles {
	st := &staticFiles{files: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, hash: hex.EncodeToString(sum[:6]), ctype: mime.TypeByExtension(path.Ext(p))}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if strings.HasPrefix(a.ctype, "text/") || strings.Contains(a.ctype, "javascript") || strings.Contains(a.ctype, "svg") || strings.Contains(a.ctype, "json") {
			var z bytes.Buffer
			gw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			gw.Write(body)
			gw.Close()
			if z.Len() < len(body) {
				a.gz = z.Bytes()
			}
		}
		st.files[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	if err != nil {
		panic(err)
	}
	return st
}

// url returns the cache-busting URL of an asset.
func (st *staticFiles) url(name string) string {
	a := st.files[name]
	if a == nil {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + a.hash
}

func (st *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	a := st.files[name]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", `"`+a.hash+`"`)
	hd.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		body = a.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// toJSON encodes v for a data-config attribute read by an island.
func toJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}
