package api

import (
	"context"
	"net/http"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// APIKeyPrefix starts every API key secret.
const APIKeyPrefix = auth.APIKeyPrefix

// HashPassword and NewAPIKeySecret are auth's, for callers of this package
// that create users and keys directly in a store (tests, examples).
var (
	HashPassword    = auth.HashPassword
	NewAPIKeySecret = auth.NewAPIKeySecret
)

// The 401 texts of the original.
const (
	msgNotAuthenticated = auth.MsgNotAuthenticated
	msgExpired          = auth.MsgExpired
	msgInvalid          = auth.MsgInvalid
	msgWrongType        = auth.MsgWrongType
	msgBadLogin         = auth.MsgBadLogin
)

// tokenPair is the answer of login and refresh.
type tokenPair = auth.TokenPair

// issueTokens starts a session for the user with this email.
func (s *Server) issueTokens(email string) (tokenPair, error) {
	u, err := s.store.FindUserByEmail(context.Background(), email)
	if err != nil {
		return tokenPair{}, err
	}
	return s.auth.IssueTokens(context.Background(), u)
}

// authenticate checks the bearer credential of a request.
func (s *Server) authenticate(r *http.Request, wantRefresh bool) (*auth.Credential, error) {
	return s.auth.Authenticate(r.Context(), r.Header.Get("Authorization"), wantRefresh)
}

type credentialKey struct{}

func withCredential(ctx context.Context, c *auth.Credential) context.Context {
	return context.WithValue(context.WithValue(ctx, principalKey, c.Principal), credentialKey{}, c)
}

// PrincipalFrom returns who the request acts as.
func PrincipalFrom(ctx context.Context) (dtbase.Principal, bool) {
	p, ok := ctx.Value(principalKey).(dtbase.Principal)
	return p, ok
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) authRoutes() {
	login := handle(s, http.MethodPost, "/auth/login", "", http.StatusOK, "Log in with email and password; returns an access and a refresh token",
		s.login)
	login.extraErrors = map[int]string{
		http.StatusUnauthorized:    "Wrong email or password",
		http.StatusTooManyRequests: "Too many failed logins for the account from this client address, or from this address; see Retry-After",
	}
	rt := handle(s, http.MethodPost, "/auth/refresh", "", http.StatusOK, "Exchange a refresh token (as the bearer token) for a new token pair; the refresh token is spent, and using it again ends its session",
		s.refresh)
	rt.refresh = true
	out := handle(s, http.MethodPost, "/auth/logout-everywhere", dtbase.RoleViewer, http.StatusOK, "Sign out everywhere: end every token and browser session of the calling user",
		s.logoutEverywhere)
	out.extraErrors = map[int]string{http.StatusBadRequest: "The caller is an API key, which has no sessions"}
}

func (s *Server) login(ctx context.Context, req *loginRequest) (tokenPair, error) {
	u, err := s.auth.Login(ctx, req.Email, req.Password, clientIPFrom(ctx))
	if err != nil {
		return tokenPair{}, err
	}
	return s.auth.IssueTokens(ctx, u)
}

func (s *Server) refresh(ctx context.Context, _ *noBody) (tokenPair, error) {
	c, _ := ctx.Value(credentialKey{}).(*auth.Credential)
	return s.auth.Refresh(ctx, c)
}

func (s *Server) logoutEverywhere(ctx context.Context, _ *noBody) (detail, error) {
	p, _ := PrincipalFrom(ctx)
	if p.UserID == 0 {
		return detail{}, dtbase.Errorf(dtbase.EINVALID, "Only a user signed in with a password has sessions to end; revoke an API key instead")
	}
	return done(s.auth.SignOutEverywhere(ctx, p.UserID), "Signed out everywhere")
}

type clientIPKey struct{}

func clientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
