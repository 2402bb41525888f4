package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

func TestUsers(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		name   string
		path   string
		body   any
		status int
		want   string
	}{
		{"create", "/user/create-user", map[string]string{"email": "a@b", "password": "first password"}, 201, `{"detail":"User created"}`},
		{"create duplicate", "/user/create-user", map[string]string{"email": "a@b", "password": "first password"}, 409, `{"detail":"User already exists"}`},
		{"create invalid email", "/user/create-user", map[string]string{"email": "not-an-email", "password": "valid password"}, 422, ""},
		{"create email must end in a word character", "/user/create-user", map[string]string{"email": "a@b.", "password": "valid password"}, 422, ""},
		{"create with role", "/user/create-user", map[string]any{"email": "v@b", "password": "valid password", "role": "viewer"}, 201, `{"detail":"User created"}`},
		{"create with bad role", "/user/create-user", map[string]any{"email": "w@b", "password": "valid password", "role": "boss"}, 422, ""},
		{"change password", "/user/change-password", map[string]string{"email": "a@b", "password": "second password"}, 200, `{"detail":"Password changed"}`},
		{"change password unknown", "/user/change-password", map[string]string{"email": "x@y", "password": "second password"}, 400, `{"detail":"User doesn't exist"}`},
		{"delete unknown", "/user/delete-user", map[string]string{"email": "x@y"}, 400, `{"detail":"User doesn't exist"}`},
		{"delete", "/user/delete-user", map[string]string{"email": "v@b"}, 200, `{"detail":"User deleted"}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.post(s.path, s.body)
			if r.Status != s.status {
				t.Fatalf("status %d, want %d: %s", r.Status, s.status, r.Body)
			}
			if s.want != "" && string(r.Body) != s.want {
				t.Errorf("body %s, want %s", r.Body, s.want)
			}
		})
	}
	var users []string
	e.get("/user/list-users").JSON(t, &users)
	if want := []string{testAdmin, "a@b"}; !slices.Equal(users, want) {
		t.Errorf("list-users %v, want %v", users, want)
	}
	// The new password works and the old one does not.
	if r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": "a@b", "password": "second password"}, ""); r.Status != 200 {
		t.Errorf("login with new password: %d", r.Status)
	}
	if r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": "a@b", "password": "first password"}, ""); r.Status != 401 {
		t.Errorf("login with old password: %d", r.Status)
	}
}

func TestNewUserRoleDefault(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NewUserRole = dtbase.RoleViewer })
	e.must(201, "/user/create-user", map[string]string{"email": "n@b", "password": "valid password"})
	u, err := e.db.FindUserByEmail(t.Context(), "n@b")
	if err != nil || u.Role != dtbase.RoleViewer {
		t.Fatalf("role %v, err %v; want viewer", u, err)
	}
}

func TestDeletedUserTokenRejected(t *testing.T) {
	e := newEnv(t)
	tok := e.userToken("temp@example.com", dtbase.RoleAdmin)
	e.must(200, "/user/delete-user", map[string]string{"email": "temp@example.com"})
	if r := e.do(http.MethodGet, "/user/list-users", nil, tok); r.Status != 401 || r.Detail() != msgInvalid {
		t.Fatalf("deleted user's token: %d %s", r.Status, r.Body)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	viewer, editor := e.as(dtbase.RoleViewer), e.as(dtbase.RoleEditor)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		token  string
		status int
	}{
		{"viewer cannot create users", "POST", "/user/create-user", map[string]string{"email": "z@b", "password": "valid password"}, viewer, 403},
		{"editor cannot create users", "POST", "/user/create-user", map[string]string{"email": "z@b", "password": "valid password"}, editor, 403},
		{"viewer cannot list users", "GET", "/user/list-users", nil, viewer, 403},
		{"viewer cannot create api keys", "POST", "/user/create-api-key", map[string]string{"name": "k", "role": "viewer"}, viewer, 403},
		{"viewer may not change another's password", "POST", "/user/change-password", map[string]string{"email": testAdmin, "password": "a new password"}, viewer, 403},
		{"403 before validation", "POST", "/user/create-user", map[string]string{}, viewer, 403},
		// Last: a new password ends the viewer's sessions.
		{"viewer may change own password", "POST", "/user/change-password", map[string]string{"email": "viewer@example.com", "password": "a new password"}, viewer, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body, tt.token)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if r.Status == 403 && !strings.Contains(r.Detail(), "role") && !strings.Contains(r.Detail(), "admin") {
				t.Errorf("403 detail does not say why: %s", r.Body)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	var created createdAPIKey
	e.must(201, "/user/create-api-key", map[string]string{"name": "ingest", "role": "editor"}).JSON(t, &created)
	if !strings.HasPrefix(created.Key, APIKeyPrefix) {
		t.Fatalf("key %q", created.Key)
	}
	if r := e.post("/user/create-api-key", map[string]string{"name": "ingest", "role": "editor"}); r.Status != 409 {
		t.Errorf("duplicate active key name: %d %s", r.Status, r.Body)
	}
	// The key authenticates with its role: an editor may not manage users.
	if r := e.do(http.MethodGet, "/user/list-users", nil, created.Key); r.Status != 403 {
		t.Errorf("editor key on admin route: %d %s", r.Status, r.Body)
	}
	var keys []apiKeyInfo
	e.get("/user/list-api-keys").JSON(t, &keys)
	if len(keys) != 1 || keys[0].Name != "ingest" || keys[0].Role != dtbase.RoleEditor || keys[0].Revoked != nil {
		t.Fatalf("list-api-keys %+v", keys)
	}
	if r := e.get("/user/list-api-keys"); strings.Contains(string(r.Body), created.Key) {
		t.Fatal("list-api-keys leaks the secret")
	}
	e.must(200, "/user/revoke-api-key", map[string]string{"name": "ingest"})
	if r := e.do(http.MethodGet, "/user/list-users", nil, created.Key); r.Status != 401 || r.Detail() != msgInvalid {
		t.Errorf("revoked key: %d %s", r.Status, r.Body)
	}
	if r := e.post("/user/revoke-api-key", map[string]string{"name": "ingest"}); r.Status != 400 {
		t.Errorf("revoking twice: %d %s", r.Status, r.Body)
	}
	// An admin key can manage users.
	e.must(201, "/user/create-api-key", map[string]string{"name": "ops", "role": "admin"}).JSON(t, &created)
	if r := e.do(http.MethodGet, "/user/list-users", nil, created.Key); r.Status != 200 {
		t.Errorf("admin key: %d %s", r.Status, r.Body)
	}
	if r := e.do(http.MethodGet, "/user/list-users", nil, created.Key+"x"); r.Status != 401 {
		t.Errorf("wrong key: %d %s", r.Status, r.Body)
	}
}

func TestSetRole(t *testing.T) {
	e := newEnv(t)
	tok := e.userToken("promote@example.com", dtbase.RoleViewer)
	if r := e.do(http.MethodGet, "/user/list-users", nil, tok); r.Status != 403 {
		t.Fatalf("viewer: %d", r.Status)
	}
	e.must(200, "/user/set-role", map[string]string{"email": "promote@example.com", "role": "admin"})
	// A role change ends the user's sessions; a new login has the new role.
	if r := e.do(http.MethodGet, "/user/list-users", nil, tok); r.Status != 401 || r.Detail() != msgInvalid {
		t.Fatalf("token from before the role change: %d %s", r.Status, r.Body)
	}
	tok, _ = e.login("promote@example.com")
	if r := e.do(http.MethodGet, "/user/list-users", nil, tok); r.Status != 200 {
		t.Fatalf("after promotion: %d %s", r.Status, r.Body)
	}
	var details []userInfo
	e.post("/user/list-users-details", nil).JSON(t, &details)
	if len(details) != 2 || details[1].Role != dtbase.RoleAdmin {
		t.Errorf("details %+v", details)
	}
}
