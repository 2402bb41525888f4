package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

type createUserRequest struct {
	Email    string       `json:"email" dt:"max=email"`
	Password string       `json:"password"`
	Role     *dtbase.Role `json:"role" dt:"optional"`
}

type emailRequest struct {
	Email string `json:"email" dt:"max=email"`
}

type changePasswordRequest struct {
	Email    string `json:"email" dt:"max=email"`
	Password string `json:"password"`
}

type setRoleRequest struct {
	Email string      `json:"email" dt:"max=email"`
	Role  dtbase.Role `json:"role"`
}

// userInfo is an entry of list-users-details, our extension.
type userInfo struct {
	Email       string      `json:"email"`
	Role        dtbase.Role `json:"role"`
	TimeCreated dtbase.Time `json:"time_created"`
}

type createAPIKeyRequest struct {
	Name string      `json:"name" dt:"max=name"`
	Role dtbase.Role `json:"role"`
}

type apiKeyInfo struct {
	Name        string       `json:"name"`
	Role        dtbase.Role  `json:"role"`
	Prefix      string       `json:"prefix"`
	CreatedBy   string       `json:"created_by"`
	TimeCreated dtbase.Time  `json:"time_created"`
	LastUsed    *dtbase.Time `json:"last_used"`
	Revoked     *dtbase.Time `json:"revoked"`
}

type createdAPIKey struct {
	Detail string `json:"detail"`
	Name   string `json:"name"`
	Key    string `json:"key"`
}

type nameRequest struct {
	Name string `json:"name" dt:"max=name"`
}

func validRole(r dtbase.Role) error {
	if !r.Valid() {
		return invalidField([]any{"role"}, "Role must be one of admin, editor, viewer", string(r))
	}
	return nil
}

func (s *Server) userRoutes() {
	handle(s, http.MethodGet, "/user/list-users", dtbase.RoleAdmin, http.StatusOK, "List the emails of all users", s.listUsers)
	handle(s, http.MethodPost, "/user/create-user", dtbase.RoleAdmin, http.StatusCreated, "Create a user, optionally with a role", s.createUser)
	handle(s, http.MethodPost, "/user/delete-user", dtbase.RoleAdmin, http.StatusOK, "Delete a user and end their sessions", s.deleteUser)
	handle(s, http.MethodPost, "/user/change-password", dtbase.RoleViewer, http.StatusOK, "Change a user's password (admins: anyone's; others: their own); ends that user's sessions",
		s.changePassword)
	handle(s, http.MethodPost, "/user/list-users-details", dtbase.RoleAdmin, http.StatusOK, "List users with their roles", s.listUsersDetails)
	handle(s, http.MethodPost, "/user/set-role", dtbase.RoleAdmin, http.StatusOK, "Change a user's role; ends that user's sessions", s.setRole)
	handle(s, http.MethodPost, "/user/create-api-key", dtbase.RoleAdmin, http.StatusCreated, "Create an API key with a role; the key is shown only in this answer",
		s.createApiKey)
	handle(s, http.MethodGet, "/user/list-api-keys", dtbase.RoleAdmin, http.StatusOK, "List API keys (never their secrets)", s.listApiKeys)
	handle(s, http.MethodPost, "/user/revoke-api-key", dtbase.RoleAdmin, http.StatusOK, "Revoke an API key by name", s.revokeApiKey)
}

func (s *Server) listUsers(ctx context.Context, _ *noBody) ([]string, error) {
	users, err := s.store.ListUsers(ctx)
	return each(users, func(u dtbase.User) string {
		return u.Email
	}), err
}

func (s *Server) createUser(ctx context.Context, req *createUserRequest) (detail, error) {
	if !dtbase.ValidEmail(req.Email) {
		return detail{}, invalidField([]any{"email"}, "Invalid email address", req.Email)
	}
	role := s.cfg.NewUserRole
	if req.Role != nil {
		if err := validRole(*req.Role); err != nil {
			return detail{}, err
		}
		role = *req.Role
	}
	// An existing user is reported first, as the original does for
	// any password.
	if _, err := s.store.FindUserByEmail(ctx, req.Email); err == nil {
		return detail{}, dtbase.Errorf(dtbase.ECONFLICT, "User already exists")
	} else if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return detail{}, err
	}
	hash, err := s.auth.HashNewPassword(req.Password)
	if err != nil {
		return detail{}, err
	}
	return done(s.store.CreateUser(ctx, &dtbase.User{Email: req.Email, PasswordHash: hash, Role: role}), "User created")
}

func (s *Server) deleteUser(ctx context.Context, req *emailRequest) (detail, error) {
	return done(s.store.DeleteUser(ctx, req.Email), "User deleted")
}

func (s *Server) changePassword(ctx context.Context, req *changePasswordRequest) (detail, error) {
	if p, _ := PrincipalFrom(ctx); p.Role != dtbase.RoleAdmin && p.Email != req.Email {
		return detail{}, dtbase.Errorf(dtbase.EFORBIDDEN, "Only an admin may change another user's password")
	}
	hash, err := s.auth.HashNewPassword(req.Password)
	if err != nil {
		return detail{}, err
	}
	return done(s.store.SetPassword(ctx, req.Email, hash), "Password changed")
}

func (s *Server) listUsersDetails(ctx context.Context, _ *noBody) ([]userInfo, error) {
	users, err := s.store.ListUsers(ctx)
	return each(users, func(u dtbase.User) userInfo {
		return userInfo{u.Email, u.Role, dtbase.Time(u.Created)}
	}), err
}

func (s *Server) setRole(ctx context.Context, req *setRoleRequest) (detail, error) {
	if err := validRole(req.Role); err != nil {
		return detail{}, err
	}
	return done(s.store.SetRole(ctx, req.Email, req.Role), "Role changed")
}

func (s *Server) createApiKey(ctx context.Context, req *createAPIKeyRequest) (createdAPIKey, error) {
	if err := validRole(req.Role); err != nil {
		return createdAPIKey{}, err
	}
	if req.Name == "" {
		return createdAPIKey{}, invalidField([]any{"name"}, "Name must not be empty", req.Name)
	}
	secret, hash := auth.NewAPIKeySecret()
	p, _ := PrincipalFrom(ctx)
	k := &dtbase.APIKey{Name: req.Name, Role: req.Role, Prefix: auth.APIKeyDisplayPrefix(secret), CreatedBy: p.Email}
	if err := s.store.CreateAPIKey(ctx, k, hash); err != nil {
		return createdAPIKey{}, err
	}
	return createdAPIKey{"API key created", k.Name, secret}, nil
}

func (s *Server) listApiKeys(ctx context.Context, _ *noBody) ([]apiKeyInfo, error) {
	keys, err := s.store.ListAPIKeys(ctx)
	return each(keys, func(k dtbase.APIKey) apiKeyInfo {
		return apiKeyInfo{k.Name, k.Role, k.Prefix, k.CreatedBy, dtbase.Time(k.Created), optTime(k.LastUsed), optTime(k.Revoked)}
	}), err
}

func (s *Server) revokeApiKey(ctx context.Context, req *nameRequest) (detail, error) {
	return done(s.store.RevokeAPIKey(ctx, req.Name), "API key revoked")
}

// optTime is an optional time in the wire form; nil stays nil.
func optTime(t *time.Time) *dtbase.Time {
	if t == nil {
		return nil
	}
	d := dtbase.Time(*t)
	return &d
}
