package api

import (
	"context"
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
)

// APIKeyPrefix starts every API key secret, so a bearer token is known to be
// a key without trying to parse it as a JWT.
const APIKeyPrefix = "dtb_"

// The 401 texts of the original, in the order its checks run.
const (
	msgNotAuthenticated = "Not authenticated"
	msgExpired          = "Token has expired"
	msgInvalid          = "Could not validate credentials"
	msgWrongType        = "Token of wrong type"
	msgBadLogin         = "Incorrect email or password"
)

func unauthorized(msg string) error { return dtbase.Errorf(dtbase.EUNAUTHORIZED, "%s", msg) }

// tokenClaims are the original's claims, in its order: sub, token_type, exp.
type tokenClaims struct {
	Sub       string `json:"sub"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
}

func (c tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (c tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c tokenClaims) GetIssuer() (string, error)                   { return "", nil }
func (c tokenClaims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c tokenClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// tokenPair is the answer of login and refresh.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) issueTokens(email string) (tokenPair, error) {
	now := time.Now()
	sign := func(kind string, ttl time.Duration) (string, error) {
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{Sub: email, TokenType: kind, Exp: now.Add(ttl).Unix()})
		return t.SignedString(s.cfg.Secret)
	}
	access, err := sign("access", s.cfg.AccessTTL)
	if err != nil {
		return tokenPair{}, err
	}
	refresh, err := sign("refresh", s.cfg.AccessTTL+s.cfg.RefreshGrace)
	if err != nil {
		return tokenPair{}, err
	}
	return tokenPair{access, refresh}, nil
}

// authenticate checks the bearer credential in the original's order (§4.2):
// header, signature and expiry, claim types, user, token type. An API key
// is accepted wherever an access token is.
func (s *Server) authenticate(r *http.Request, wantRefresh bool) (dtbase.Principal, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return dtbase.Principal{}, &notAuthenticated{}
	}
	if strings.HasPrefix(token, APIKeyPrefix) && !wantRefresh {
		sum := sha256.Sum256([]byte(token))
		k, err := s.store.FindAPIKeyByHash(r.Context(), sum[:])
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			return dtbase.Principal{}, unauthorized(msgInvalid)
		}
		if err != nil {
			return dtbase.Principal{}, err
		}
		return dtbase.Principal{Email: "apikey:" + k.Name, Role: k.Role, APIKeyID: k.ID}, nil
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.cfg.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return dtbase.Principal{}, unauthorized(msgInvalid)
	}
	// PyJWT's checks during decoding: nbf, then exp (exp <= now is expired).
	now := float64(time.Now().Unix())
	if nbf, ok := claims["nbf"]; ok {
		n, isNum := nbf.(float64)
		if !isNum || n > now {
			return dtbase.Principal{}, unauthorized(msgInvalid)
		}
	}
	if exp, ok := claims["exp"]; ok {
		e, isNum := exp.(float64)
		if !isNum {
			return dtbase.Principal{}, unauthorized(msgInvalid)
		}
		if math.Floor(e) <= now {
			return dtbase.Principal{}, unauthorized(msgExpired)
		}
	}
	// The claims model: sub str, exp int, token_type str, all required.
	sub, okSub := claims["sub"].(string)
	kind, okKind := claims["token_type"].(string)
	exp, okExp := claims["exp"].(float64)
	if !okSub || !okKind || !okExp || exp != math.Trunc(exp) {
		return dtbase.Principal{}, unauthorized(msgInvalid)
	}
	if kind == dtbase.ServiceTokenType && sub == dtbase.ServiceRunnerPrincipal && !wantRefresh {
		// The service runner's short-lived token for our own endpoints
		// (built-in services); only the server's secret can sign one.
		return dtbase.Principal{Email: dtbase.ServiceRunnerPrincipal, Role: dtbase.RoleEditor}, nil
	}
	u, err := s.store.FindUserByEmail(r.Context(), sub)
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		return dtbase.Principal{}, unauthorized(msgInvalid)
	}
	if err != nil {
		return dtbase.Principal{}, err
	}
	want := "access"
	if wantRefresh {
		want = "refresh"
	}
	if kind != want {
		return dtbase.Principal{}, unauthorized(msgWrongType)
	}
	return dtbase.Principal{Email: u.Email, Role: u.Role, UserID: u.ID}, nil
}

// notAuthenticated is the only 401 that carries WWW-Authenticate.
type notAuthenticated struct{}

func (*notAuthenticated) Error() string { return msgNotAuthenticated }
func (*notAuthenticated) Unwrap() error { return unauthorized(msgNotAuthenticated) }

func withPrincipal(ctx context.Context, p dtbase.Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns who the request acts as.
func PrincipalFrom(ctx context.Context) (dtbase.Principal, bool) {
	p, ok := ctx.Value(principalKey).(dtbase.Principal)
	return p, ok
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

// dummyHash makes a login for an unknown email cost as much as a wrong
// password, so timing does not reveal which emails exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dummy password"), bcrypt.MinCost)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) authRoutes() {
	login := handle(s, http.MethodPost, "/auth/login", "", http.StatusOK, "Log in with email and password; returns an access and a refresh token",
		func(ctx context.Context, req *loginRequest) (tokenPair, error) {
			ip := clientIPFrom(ctx)
			if wait := s.limiter.Blocked(req.Email, ip, time.Now()); wait > 0 {
				return tokenPair{}, &rateLimitError{retryAfter: strconv.Itoa(int(math.Ceil(wait.Seconds())))}
			}
			u, err := s.store.FindUserByEmail(ctx, req.Email)
			if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
				return tokenPair{}, err
			}
			if u == nil {
				CheckPassword(dummyHash, req.Password)
				s.limiter.Fail(req.Email, ip, time.Now())
				return tokenPair{}, unauthorized(msgBadLogin)
			}
			if !CheckPassword(u.PasswordHash, req.Password) {
				s.limiter.Fail(req.Email, ip, time.Now())
				return tokenPair{}, unauthorized(msgBadLogin)
			}
			return s.issueTokens(u.Email)
		})
	login.extraErrors = map[int]string{
		http.StatusUnauthorized:    "Wrong email or password",
		http.StatusTooManyRequests: "Too many failed logins for the account or the client address; see Retry-After",
	}
	rt := handle(s, http.MethodPost, "/auth/refresh", "", http.StatusOK, "Exchange a refresh token (as the bearer token) for a new token pair",
		func(ctx context.Context, _ *noBody) (tokenPair, error) {
			p, _ := PrincipalFrom(ctx)
			return s.issueTokens(p.Email)
		})
	rt.refresh = true
}

// LoginLimiter counts failed logins per account and per client address in
// a sliding window. Successful logins are not limited, so scripts that log
// in often are unaffected. The API and the web sign-in share one limiter.
// The count is per process; each replica limits on its own, which bounds
// guessing to replicas × limit.
type LoginLimiter struct {
	mu        sync.Mutex
	failures  map[string][]time.Time
	window    time.Duration
	perUser   int
	perClient int
}

// NewLoginLimiter allows 10 failures per account and 50 per address in any
// five minutes.
func NewLoginLimiter() *LoginLimiter {
	return &LoginLimiter{failures: map[string][]time.Time{}, window: 5 * time.Minute, perUser: 10, perClient: 50}
}

type rateLimitError struct{ retryAfter string }

func (e *rateLimitError) Error() string { return "too many failed logins" }
func (e *rateLimitError) Unwrap() error {
	return dtbase.Errorf(dtbase.ERATELIMIT, "Too many failed login attempts; try again in %s seconds", e.retryAfter)
}

func (l *LoginLimiter) recent(key string, now time.Time) []time.Time {
	times := l.failures[key]
	i := 0
	for i < len(times) && now.Sub(times[i]) > l.window {
		i++
	}
	times = times[i:]
	if len(times) == 0 {
		delete(l.failures, key)
	} else {
		l.failures[key] = times
	}
	return times
}

// Blocked returns how long a login for email from ip must wait, or 0.
func (l *LoginLimiter) Blocked(email, ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range []struct {
		key   string
		limit int
	}{{"user:" + email, l.perUser}, {"ip:" + ip, l.perClient}} {
		if times := l.recent(k.key, now); len(times) >= k.limit {
			return l.window - now.Sub(times[0])
		}
	}
	return 0
}

// Fail records a failed login.
func (l *LoginLimiter) Fail(email, ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures["user:"+email] = append(l.failures["user:"+email], now)
	l.failures["ip:"+ip] = append(l.failures["ip:"+ip], now)
	if len(l.failures) > 100_000 { // bound memory under a spray of addresses
		l.failures = map[string][]time.Time{}
	}
}

// ClientIP is the address a request came from. X-Forwarded-For is not
// trusted: a proxy in front should be configured to set RemoteAddr.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type clientIPKey struct{}

func clientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
