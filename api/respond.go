package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// statusOf maps an application error code to its HTTP status. It is the only
// place that does.
func statusOf(code string) int {
	if status, ok := statusByCode[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

var statusByCode = map[string]int{
	dtbase.EINVALID:       http.StatusBadRequest, // the original answers unknown names with 400
	dtbase.ENOTFOUND:      http.StatusBadRequest,
	dtbase.ECONFLICT:      http.StatusConflict,
	dtbase.EUNAUTHORIZED:  http.StatusUnauthorized,
	dtbase.EFORBIDDEN:     http.StatusForbidden,
	dtbase.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	dtbase.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	dtbase.ERATELIMIT:     http.StatusTooManyRequests,
	dtbase.EUNAVAILABLE:   http.StatusServiceUnavailable,
}

// writeJSON writes v as compact JSON without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	body := bytes.TrimRight(buf.Bytes(), "\n")
	if err != nil {
		slog.Error("encode response", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"detail":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// detail is the body of every error we raise, and of many successes.
type detail struct {
	Detail string `json:"detail"`
}

// done is the answer of a write whose success is a message: msg when err
// is nil, else err.
func done(err error, msg string) (detail, error) {
	if err != nil {
		return detail{}, err
	}
	return detail{msg}, nil
}

// each converts every item of a list read to its wire form. The result is
// never nil, so an empty list is answered as [].
func each[S, T any](in []S, conv func(S) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}

// writeError answers with err's status and message. Internal errors are
// logged with the request's logger and reported to the client generically.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := dtbase.ErrorCode(err)
	status := statusOf(code)
	if status >= 500 {
		loggerFrom(r.Context()).Error("request failed", "err", err)
	}
	var ve *validationError
	if errors.As(err, &ve) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": ve.errs})
		return
	}
	var na *auth.NotAuthenticatedError
	if errors.As(err, &na) {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if status == http.StatusTooManyRequests {
		var rl *auth.RateLimitError
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", rl.RetryAfter())
		}
	}
	writeJSON(w, status, detail{dtbase.ErrorMessage(err)})
}

// validationError carries a 422 body in the original's list shape.
type validationError struct{ errs []fieldError }

func (e *validationError) Error() string { return "request validation failed" }

// Unwrap lets dtbase.ErrorCode see a 422.
func (e *validationError) Unwrap() error {
	return &dtbase.Error{Code: dtbase.EUNPROCESSABLE, Message: "request validation failed"}
}

// invalidField builds a 422 for one field that passed the type checks but
// fails a rule of ours.
func invalidField(loc []any, msg string, input any) error {
	raw, _ := json.Marshal(input)
	return &validationError{errs: []fieldError{{Type: "value_error", Loc: append([]any{"body"}, loc...), Msg: msg, Input: raw}}}
}

// fieldError422 turns a store error about one field (*dtbase.FieldError)
// into the 422 list answer: loc is prefix, the field's dotted path, and
// the byte offset in its text where it has one. Other errors pass through.
func fieldError422(err error, input any, prefix ...any) error {
	var fe *dtbase.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	loc := append([]any(nil), prefix...)
	for _, p := range strings.Split(fe.Field, ".") {
		loc = append(loc, p)
	}
	if fe.Pos >= 0 {
		loc = append(loc, fe.Pos)
	}
	return invalidField(loc, fe.Message, input)
}
