package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
)

// Password limits, after NIST SP 800-63B §5.1.1: a minimum length that an
// operator may raise, room for long passphrases, no composition rules, and
// no password found on a list of common ones.
const (
	DefaultMinPasswordLength = 8   // the least a deployment may require
	MaxPasswordLength        = 256 // characters; bcrypt reads the first 72 bytes
)

// Policy is the rule every new password must pass, whichever way it is set
// (API, web, command line).
type Policy struct {
	// MinLength is the least number of characters; below
	// DefaultMinPasswordLength it is raised to it.
	MinLength int
}

func (p Policy) minLength() int { return max(p.MinLength, DefaultMinPasswordLength) }

// Check reports why password may not be used, as an EUNPROCESSABLE error
// whose message speaks to the user, or nil.
func (p Policy) Check(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.minLength():
		return dtbase.Errorf(dtbase.EUNPROCESSABLE, "Password must have at least %d characters", p.minLength())
	case n > MaxPasswordLength:
		return dtbase.Errorf(dtbase.EUNPROCESSABLE, "Password must have at most %d characters", MaxPasswordLength)
	case IsCommonPassword(password):
		return dtbase.Errorf(dtbase.EUNPROCESSABLE, "Password is one of the most common passwords; choose another")
	}
	return nil
}

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" && !strings.HasPrefix(line, "#!comment:") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password, ignoring case, is on the
// embedded list of common passwords.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// HashPassword hashes a password with bcrypt at the given cost, truncating
// it to bcrypt's 72 bytes as the original's library silently does.
func HashPassword(password string, cost int) ([]byte, error) {
	return bcrypt.GenerateFromPassword(truncate72(password), cost)
}

// CheckPassword reports whether password matches a bcrypt hash, including
// the original's $2b$ hashes.
func CheckPassword(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, truncate72(password)) == nil
}

func truncate72(p string) []byte {
	b := []byte(p)
	if len(b) > 72 {
		b = b[:72]
	}
	return b
}
