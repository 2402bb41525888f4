package auth

import (
	"errors"
	"math"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dtbase/dtbase"
)

// The 401 texts of the original, in the order its checks run.
const (
	MsgNotAuthenticated = "Not authenticated"
	MsgExpired          = "Token has expired"
	MsgInvalid          = "Could not validate credentials"
	MsgWrongType        = "Token of wrong type"
	MsgBadLogin         = "Incorrect email or password"
)

func unauthorized(msg string) error { return dtbase.Errorf(dtbase.EUNAUTHORIZED, "%s", msg) }

// NotAuthenticatedError is the 401 for a request without a bearer token, the
// only one that carries WWW-Authenticate.
type NotAuthenticatedError struct{}

func (*NotAuthenticatedError) Error() string { return MsgNotAuthenticated }
func (*NotAuthenticatedError) Unwrap() error { return unauthorized(MsgNotAuthenticated) }

// claims are the original's sub, token_type and exp, in its order, then the
// session: the user's stable id, the user's session version, the session id
// and, in a refresh token, the id of this refresh token.
type claims struct {
	Sub       string `json:"sub"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	UID       int64  `json:"uid,omitempty"`
	SV        *int64 `json:"sv,omitempty"`
	SID       string `json:"sid,omitempty"`
	JTI       string `json:"jti,omitempty"`
}

func (c claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)  { return nil, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c claims) GetIssuer() (string, error)              { return "", nil }
func (c claims) GetSubject() (string, error)             { return c.Sub, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)  { return nil, nil }

// sign is the one JWT builder of dtbase.
func sign(secret []byte, c claims) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("no token secret")
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// ServiceToken signs a short-lived token for dtbase's own endpoints, which
// the API accepts as the editor dtbase.ServiceRunnerPrincipal.
func ServiceToken(secret []byte, ttl time.Duration) (string, error) {
	return sign(secret, claims{Sub: dtbase.ServiceRunnerPrincipal, TokenType: dtbase.ServiceTokenType, Exp: time.Now().Add(ttl).Unix()})
}

// parse verifies a token as the original does (dtbase-api.md §4.2, steps 3
// and 4): HS256 signature, nbf, exp without leeway, then the claim types.
func parse(secret []byte, token string, now time.Time) (jwt.MapClaims, error) {
	mc := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, mc, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return nil, unauthorized(MsgInvalid)
	}
	// PyJWT's checks during decoding: nbf, then exp (exp <= now is expired).
	sec := float64(now.Unix())
	if nbf, ok := mc["nbf"]; ok {
		n, isNum := nbf.(float64)
		if !isNum || n > sec {
			return nil, unauthorized(MsgInvalid)
		}
	}
	if exp, ok := mc["exp"]; ok {
		e, isNum := exp.(float64)
		if !isNum {
			return nil, unauthorized(MsgInvalid)
		}
		if math.Floor(e) <= sec {
			return nil, unauthorized(MsgExpired)
		}
	}
	// The claims model: sub str, exp int, token_type str, all required.
	_, okSub := mc["sub"].(string)
	_, okKind := mc["token_type"].(string)
	exp, okExp := mc["exp"].(float64)
	if !okSub || !okKind || !okExp || exp != math.Trunc(exp) {
		return nil, unauthorized(MsgInvalid)
	}
	return mc, nil
}

// intClaim returns an integer claim.
func intClaim(mc jwt.MapClaims, name string) (int64, bool) {
	f, ok := mc[name].(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}
