package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/httpasset"
)

//go:embed templates
var templateFS embed.FS

// pageSet holds one parsed template set per page: the layout, the shared
// partials and the page itself.
type pageSet struct {
	byName map[string]*template.Template
}

func mustPages(st *staticFiles) *pageSet {
	funcs := template.FuncMap{
		"static":  st.url,
		"time":    formatTime,
		"timeptr": formatTimePtr,
		"isotime": func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") },
		"age":     formatAge,
		"value":   formatValue,
		"num":     formatNumber,
		"query":   buildQuery,
		"allows":  func(r dtbase.Role, need string) bool { return r.Allows(dtbase.Role(need)) },
		"add":     func(a, b int) int { return a + b },
		"list":    func(xs ...string) []string { return xs },
		"deref":   func(s *string) string { return derefString(s) },
		"json":    toJSON,
		"coords":  func(l dtbase.Location) string { return coordsText(&l) },
		"pct":     func(f float64) float64 { return f * 100 },
		"last":    func(p []dtbase.ModelPoint) dtbase.ModelPoint { return p[len(p)-1] },
		"dur":     formatDuration,
		"fieldrow": func(n string, dts []dtbase.Datatype) any {
			return struct {
				N         string
				Datatypes []dtbase.Datatype
			}{n, dts}
		},
		"newfields": func(kind string, dts []dtbase.Datatype) any {
			return struct {
				Kind      string
				Datatypes []dtbase.Datatype
			}{kind, dts}
		},
		"rowbutton": func(csrf, action, confirm, field, value, label string) any {
			return struct{ CSRF, Action, Confirm, Field, Value, Label string }{csrf, action, confirm, field, value, label}
		},
		// limit is a text limit of the domain, for maxlength attributes.
		"limit": func(name string) (int, error) {
			if n, ok := dtbase.TextLimits[name]; ok {
				return n, nil
			}
			return 0, fmt.Errorf("no text limit %q", name)
		},
		"contains": slices.Contains[[]string],
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t := template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
		ps.byName[base] = t
	}
	return ps
}

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string // the navigation entry to highlight
	Session *session
	Role    dtbase.Role
	Flash   *flash
	Data    any
	Scripts []string // extra bundles, e.g. "js/charts.js"
	Modules []string // extra ES module bundles, e.g. "js/scene3d.js"
	Styles  []string
	Wide    bool // no max width, for plots
}

// CanEdit reports whether the user may write data.
func (v *view) CanEdit() bool { return v.Role.Allows(dtbase.RoleEditor) }

// IsAdmin reports whether the user manages users.
func (v *view) IsAdmin() bool { return v.Role.Allows(dtbase.RoleAdmin) }

// CSRF is the session's form token.
func (v *view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.CSRF
}

// render executes a page into a buffer, so a template error never leaves a
// half-written page, and sends it compressed when the browser accepts it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := h.pages.byName[name]
	if t == nil {
		h.log.Error("unknown template", "name", name)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	if v.Session != nil {
		v.Role = v.Session.User.Role
	}
	if v.Flash == nil {
		v.Flash = takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("render page", "template", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	if start, ok := r.Context().Value(startKey{}).(time.Time); ok {
		// The server's share of the page time, for the browser's devtools
		// and the end-to-end timing report.
		hd.Set("Server-Timing", "app;dur="+strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 1, 64))
	}
	writeMaybeGzip(w, r, status, buf.Bytes())
}

// startKey holds when a page request started.
type startKey struct{}

// writeMaybeGzip sends body gzip-compressed when the client accepts it and
// the body is big enough for compression to pay.
func writeMaybeGzip(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	hd := w.Header()
	hd.Add("Vary", "Accept-Encoding")
	if len(body) > 1024 && httpasset.AcceptsGzip(r) {
		var z bytes.Buffer
		gw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		gw.Write(body)
		gw.Close()
		hd.Set("Content-Encoding", "gzip")
		body = z.Bytes()
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// errorPage renders a full page with a message.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	h.render(w, r, status, "error.html", &view{Title: title, Session: s, Data: msg})
}

// fail renders the page for an error from the store: a client mistake as
// 400/404 with its message, anything else as 500 with a generic text.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch dtbase.ErrorCode(err) {
	case dtbase.ENOTFOUND:
		h.errorPage(w, r, s, http.StatusNotFound, "Not found", dtbase.ErrorMessage(err))
	case dtbase.EINVALID, dtbase.ECONFLICT, dtbase.EUNPROCESSABLE:
		h.errorPage(w, r, s, http.StatusBadRequest, "Cannot show this page", dtbase.ErrorMessage(err))
	case dtbase.EFORBIDDEN:
		h.errorPage(w, r, s, http.StatusForbidden, "Not allowed", dtbase.ErrorMessage(err))
	default:
		h.log.Error("page failed", "path", r.URL.Path, "err", err)
		h.errorPage(w, r, s, http.StatusInternalServerError, "Something went wrong", "Internal error. The server log has the details.")
	}
}

// pageFunc renders a page. An error it returns, which it has written
// nothing for, becomes the error page of fail.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page wraps a GET (or a POST that renders rather than redirects) handler:
// it requires a session of at least role, and for POST a valid CSRF token.
func (h *Handler) page(role dtbase.Role, fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), startKey{}, time.Now()))
		s, state := h.loadSession(w, r)
		if s == nil {
			h.toLogin(w, r, state)
			return
		}
		if !s.User.Role.Allows(role) {
			h.errorPage(w, r, s, http.StatusForbidden, "Not allowed", fmt.Sprintf("This page needs the %s role; you are signed in as %s.", role, s.User.Role))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.checkCSRF(r) {
			h.errorPage(w, r, s, http.StatusForbidden, "Form expired", "The form was not sent from this site or has expired. Go back, reload the page and try again.")
			return
		}
		if err := fn(w, r, s); err != nil {
			h.fail(w, r, s, err)
		}
	})
}

// actionFunc performs a form submission. It returns where to go next and
// a success message, or an error whose message is shown on the page the
// form came from.
type actionFunc func(r *http.Request, s *session) (next, msg string, err error)

// action wraps a POST handler in the post/redirect/get pattern.
func (h *Handler) action(role dtbase.Role, fn actionFunc) http.Handler {
	return h.page(role, func(w http.ResponseWriter, r *http.Request, s *session) error {
		next, msg, err := fn(r, s)
		if err != nil {
			code := dtbase.ErrorCode(err)
			if code == dtbase.EINTERNAL || code == dtbase.EUNAVAILABLE {
				h.log.Error("form action failed", "path", r.URL.Path, "err", err)
			}
			setFlash(w, r, "error", dtbase.ErrorMessage(err))
			back := returnPath(r)
			if next != "" && back == "/" {
				back = next
			}
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		if msg != "" {
			setFlash(w, r, "success", msg)
		}
		if next == "" {
			next = returnPath(r)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	})
}

// toLogin sends a visitor without a valid session to the login page,
// remembering where they were going.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request, state cookieState) {
	if state == cookieExpired || state == cookieBad {
		setCookie(w, r, sessionCookie, "", -1)
	}
	q := url.Values{}
	if next := returnPath(r); next != "/" {
		q.Set("next", next)
	}
	if state == cookieExpired {
		q.Set("expired", "1")
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind string // "success" or "error"
	Text string
}

func setFlash(w http.ResponseWriter, r *http.Request, kind, text string) {
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	setCookie(w, r, flashCookie, kind+"."+b64.EncodeToString([]byte(text)), 60)
}

func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	setCookie(w, r, flashCookie, "", -1)
	kind, enc, _ := strings.Cut(c.Value, ".")
	text, err := b64.DecodeString(enc)
	if err != nil || (kind != "success" && kind != "error") {
		return nil
	}
	return &flash{Kind: kind, Text: string(text)}
}

// invalid is a client mistake in a form.
func invalid(format string, args ...any) error {
	return dtbase.Errorf(dtbase.EINVALID, format, args...)
}

// onConflict explains a conflict (ECONFLICT) from the store as the client
// mistake the form made, formatted like invalid; other errors pass unchanged.
func onConflict(err error, format string, args ...any) error {
	if dtbase.ErrorCode(err) == dtbase.ECONFLICT {
		return invalid(format, args...)
	}
	return err
}

// deleteNamed deletes, with del, what the form's "name" names and goes to
// back with done. A conflict (something still refers to it) is explained
// with inUse, unless that is empty. In done and inUse, %s stands for the
// name.
func deleteNamed(r *http.Request, del func(ctx context.Context, name string) error, back, done, inUse string) (string, string, error) {
	name := r.PostFormValue("name")
	if err := del(r.Context(), name); err != nil {
		if inUse != "" {
			err = onConflict(err, inUse, name)
		}
		return back, "", err
	}
	return back, fmt.Sprintf(done, name), nil
}

// formatTime shows an instant in UTC to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return formatTime(*t)
}

// formatAge says how long ago t was, in the largest sensible unit.
func formatAge(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%.1f h", d.Hours())
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// formatDuration shows how long something took, to the millisecond.
func formatDuration(d *time.Duration) string {
	if d == nil {
		return ""
	}
	if *d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return d.Round(10 * time.Millisecond).String()
}

// formatValue shows a reading: floats with up to four significant decimals.
func formatValue(v dtbase.Value) string {
	if v.Kind == dtbase.KindFloat {
		return formatNumber(v.F)
	}
	return v.String()
}

// formatNumber shows a float compactly for a table.
func formatNumber(f float64) string {
	if math.IsNaN(f) {
		return "–"
	}
	a := math.Abs(f)
	switch {
	case a != 0 && (a < 1e-3 || a >= 1e7):
		return strconv.FormatFloat(f, 'g', 5, 64)
	case a >= 1000:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		s := strconv.FormatFloat(f, 'f', 3, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		if s == "-0" {
			s = "0"
		}
		return s
	}
}

// buildQuery builds "?k=v&…" from alternating keys and values, skipping
// empty values. Pointers are followed (nil is empty), so an optional field
// never prints as an address.
func buildQuery(kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		val := kv[i+1]
		if rv := reflect.ValueOf(val); rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				continue
			}
			val = rv.Elem().Interface()
		}
		switch v := val.(type) {
		case []string:
			for _, x := range v {
				q.Add(k, x)
			}
		case string:
			if v != "" {
				q.Set(k, v)
			}
		case nil:
		default:
			q.Set(k, fmt.Sprint(v))
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// pageParam is the value of a list's page parameter: none for the first.
func pageParam(page int) string {
	if page > 1 {
		return strconv.Itoa(page)
	}
	return ""
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func strPtr(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// isClientError reports whether err is the user's mistake rather than ours.
func isClientError(err error) bool {
	var e *dtbase.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case dtbase.EINVALID, dtbase.ENOTFOUND, dtbase.ECONFLICT, dtbase.EUNPROCESSABLE, dtbase.EFORBIDDEN:
		return true
	}
	return false
}
