// Package httpasset serves embedded files from memory: each text file is
// gzip-compressed once, on its first request, and sent compressed to
// clients that accept it, with an ETag, Vary: Accept-Encoding and caching
// headers. The web interface's assets and the API's /docs bundle use it.
package httpasset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Files serves the files of a directory tree. A request whose query has
// v=<hash of the file> may be cached forever (the URL changes with the
// content); others are cached for MaxAge, or revalidated each time when it
// is zero.
type Files struct {
	files  map[string]*asset
	maxAge time.Duration
}

type asset struct {
	body   []byte
	ctype  string
	hash   string
	gzOnce sync.Once
	gz     []byte // nil when compression does not pay
}

// New reads every file under root of fsys into memory; names are relative
// to root.
func New(fsys fs.FS, root string, maxAge time.Duration) (*Files, error) {
	fl := &Files{files: map[string]*asset{}, maxAge: maxAge}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, hash: hex.EncodeToString(sum[:6]), ctype: mime.TypeByExtension(path.Ext(p))}
		if a.ctype == "" {
			a.ctype = http.DetectContentType(body)
		}
		fl.files[strings.TrimPrefix(strings.TrimPrefix(p, root), "/")] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read assets under %s: %w", root, err)
	}
	return fl, nil
}

// Hash returns the content hash of a file for its v= parameter, or "" when
// there is no such file.
func (fl *Files) Hash(name string) string {
	if a := fl.files[name]; a != nil {
		return a.hash
	}
	return ""
}

// compressible reports whether a content type is text that gzip shrinks.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "svg") ||
		strings.Contains(ctype, "json")
}

// gzipped returns the compressed body, compressing it on first use.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if !compressible(a.ctype) {
			return
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(a.body)
		zw.Close()
		if z.Len() < len(a.body) {
			a.gz = z.Bytes()
		}
	})
	return a.gz
}

// ServeHTTP serves the file named by the request path (without a leading
// slash), answering If-None-Match with 304.
func (fl *Files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := fl.files[strings.TrimPrefix(r.URL.Path, "/")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", `"`+a.hash+`"`)
	hd.Add("Vary", "Accept-Encoding")
	switch {
	case r.URL.Query().Get("v") == a.hash:
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	case fl.maxAge > 0:
		hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(fl.maxAge.Seconds())))
	default:
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if AcceptsGzip(r) {
		if gz := a.gzipped(); gz != nil {
			body = gz
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// AcceptsGzip reports whether the client accepts gzip: named in
// Accept-Encoding without q=0.
func AcceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		_, qv, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		q, err := strconv.ParseFloat(qv, 64)
		return !ok || err != nil || q > 0
	}
	return false
}
