package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"strings"

	"github.com/dtbase/dtbase/httpasset"
)

// static holds the built assets: the stylesheet and the islands' bundles
// from web/ui (committed, so building dtbase needs no Node) and the icon.
//
//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded assets from memory. Each URL carries a
// content hash (?v=…) so browsers may cache forever; text assets are sent
// gzip-compressed when the browser accepts it.
type staticFiles struct {
	*httpasset.Files
}

func mustStatic() *staticFiles {
	fl, err := httpasset.New(staticFS, "static", 0)
	if err != nil {
		panic(err)
	}
	return &staticFiles{fl}
}

// url returns the cache-busting URL of an asset.
func (st *staticFiles) url(name string) string {
	if h := st.Hash(name); h != "" {
		return "/static/" + name + "?v=" + h
	}
	return "/static/" + name
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
