package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a call the server answered with an unexpected status. Detail is
// the server's "detail" text; for a 422 whose detail is a list of field
// errors it is those errors joined, e.g. "body.email: Field required".
type Error struct {
	Method, Path string
	Status       int
	Detail       string
	Body         []byte
}

func (e *Error) Error() string {
	d := e.Detail
	if d == "" {
		d = http.StatusText(e.Status)
	}
	return fmt.Sprintf("dtbase: %s %s: %d %s", e.Method, e.Path, e.Status, d)
}

func newError(method, path string, status int, body []byte) *Error {
	return &Error{Method: method, Path: path, Status: status, Detail: detailText(body), Body: body}
}

// detailText extracts a readable detail from an error body.
func detailText(body []byte) string {
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &d) != nil || len(d.Detail) == 0 {
		return strings.TrimSpace(string(body))
	}
	var s string
	if json.Unmarshal(d.Detail, &s) == nil {
		return s
	}
	var items []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(d.Detail, &items) == nil && len(items) > 0 {
		parts := make([]string, 0, len(items))
		for _, it := range items {
			loc := make([]string, len(it.Loc))
			for i, l := range it.Loc {
				loc[i] = fmt.Sprint(l)
			}
			parts = append(parts, strings.Join(loc, ".")+": "+it.Msg)
		}
		return strings.Join(parts, "; ")
	}
	return string(d.Detail)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsExists reports whether err is a 409 saying that what was inserted
// exists already ("Sensor exists already", "Service already exists.", …).
// Conflicts of another kind, such as deleting a row still in use, are not.
func IsExists(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict {
		return false
	}
	d := strings.ToLower(e.Detail)
	return strings.Contains(d, "exists already") || strings.Contains(d, "already exist")
}
