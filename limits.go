package dtbase

import (
	"fmt"
	"unicode/utf8"
)

// Text limits, counted in characters (Unicode code points), not bytes. Every
// way in (API, web, command line, MQTT, imports) gets the same answer
// because the domain types' Validate methods check them, and the API's
// binder and OpenAPI document take them from TextLimits. docs/limits.md
// lists them.
//
// Names keep the original's varchar(100). Text that PostgreSQL indexes
// (names, units, scenario descriptions) stays well inside its index row
// limit of 2,704 bytes even at 4 bytes a character.
const (
	// MaxNameLen bounds every name and identifier: location schemas and
	// identifiers, sensor types, measures, sensors' unique identifiers and
	// names, models, services, parameter sets, schedules and API keys.
	MaxNameLen = 100
	// MaxExpressionLen bounds a derived measure's expression.
	MaxExpressionLen = 2000
	// MaxUnitsLen bounds the units of identifiers and measures.
	MaxUnitsLen = 100
	// MaxDescriptionLen bounds the descriptions of location schemas,
	// sensor types and model scenarios.
	MaxDescriptionLen = 500
	// MaxNotesLen bounds a sensor's notes.
	MaxNotesLen = 10000
	// MaxEmailLen is the longest address SMTP can carry (RFC 5321).
	MaxEmailLen = 254
	// MaxURLLen bounds a service's URL.
	MaxURLLen = 2048
	// MaxCronLen bounds a schedule's cron expression.
	MaxCronLen = 100
	// MaxTimeZoneLen bounds a schedule's IANA time zone name.
	MaxTimeZoneLen = 64
	// MaxHeaderNameLen bounds the header name of a service credential.
	MaxHeaderNameLen = 100
	// MaxCredentialLen bounds the header value of a service credential.
	MaxCredentialLen = 8192
)

// TextLimits names each limit, for struct tags (the API's dt:"max=name")
// and documents generated from them.
var TextLimits = map[string]int{
	"name":        MaxNameLen,
	"units":       MaxUnitsLen,
	"description": MaxDescriptionLen,
	"notes":       MaxNotesLen,
	"email":       MaxEmailLen,
	"url":         MaxURLLen,
	"cron":        MaxCronLen,
	"timezone":    MaxTimeZoneLen,
	"header":      MaxHeaderNameLen,
	"credential":  MaxCredentialLen,
	"expression":  MaxExpressionLen,
}

// TooLong reports whether s has more than max characters.
func TooLong(s string, max int) bool {
	// A string of at most max bytes has at most max characters.
	return len(s) > max && utf8.RuneCountInString(s) > max
}

// checkLen is EINVALID naming field when s has more than max characters.
func checkLen(field, s string, max int) error {
	if TooLong(s, max) {
		return Errorf(EINVALID, "%s is too long: at most %d characters, got %d.", field, max, utf8.RuneCountInString(s))
	}
	return nil
}

// checkLenPtr is checkLen for an optional value; nil passes.
func checkLenPtr(field string, s *string, max int) error {
	if s == nil {
		return nil
	}
	return checkLen(field, *s, max)
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkNameUnits checks a name and optional units, the fields prefixed
// with prefix.
func checkNameUnits(prefix, name string, units *string) error {
	return firstErr(checkLen(prefix+"name", name, MaxNameLen), checkLenPtr(prefix+"units", units, MaxUnitsLen))
}

// checkDescribedList checks what a location schema and a sensor type hold
// alike: a name and a description, then the name and units of each entry
// of a list (their identifiers, their measures), the fields of entry i
// prefixed with indexed(list, i).
func checkDescribedList[E any](name string, description *string, list string, entries []E, nameUnits func(E) (string, *string)) error {
	if err := firstErr(checkLen("name", name, MaxNameLen), checkLenPtr("description", description, MaxDescriptionLen)); err != nil {
		return err
	}
	for i, e := range entries {
		n, u := nameUnits(e)
		if err := checkNameUnits(indexed(list, i), n, u); err != nil {
			return err
		}
	}
	return nil
}

// indexed prefixes the fields of the i-th element of a list, e.g.
// "measures[2].".
func indexed(list string, i int) string {
	return fmt.Sprintf("%s[%d].", list, i)
}
