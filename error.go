// Package dtbase holds the domain of a digital twin: locations, sensors and
// their readings, models and their runs, services and users. It defines the
// types and the interfaces that the storage package implements and the HTTP
// package consumes; it imports neither.
package dtbase

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in the api package.
const (
	EINVALID       = "invalid"       // a semantic client mistake (400)
	ENOTFOUND      = "not_found"     // a named row does not exist (400, as the original answers)
	ECONFLICT      = "conflict"      // a duplicate or a row still in use (409)
	EUNAUTHORIZED  = "unauthorized"  // missing or bad credentials (401)
	EFORBIDDEN     = "forbidden"     // authenticated, but the role is too low (403)
	EUNPROCESSABLE = "unprocessable" // a body of the wrong shape (422)
	ETOOLARGE      = "too_large"     // a request body over the limit (413)
	ERATELIMIT     = "rate_limited"  // too many attempts (429)
	EUNAVAILABLE   = "unavailable"   // a dependency is down (503)
	EINTERNAL      = "internal"      // a bug or an unexpected failure (500)
)

// Error is the one error type of the application. Message is safe to show to
// a client; Err, when set, is the underlying cause and is only logged.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an application error with a client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first application error in err's chain,
// EINTERNAL for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Errors that are not
// application errors yield a generic text, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// FieldError is the cause of an EUNPROCESSABLE error about one field of a
// request: the API answers it as a 422 naming the field and, for text such
// as an expression, the byte offset of the mistake.
type FieldError struct {
	Field   string // dotted path, e.g. "condition.for_seconds"
	Message string
	Pos     int // byte offset in the field's text, from 0; -1 when it does not apply
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
