package client

import (
	"context"
	"net/http"
	"time"
)

// ListUsers returns the email of every user (/user/list-users).
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	return list[string](ctx, c, http.MethodGet, "/user/list-users", nil)
}

// CreateUser creates a user (/user/create-user). role may be "" for the
// server's default role (DT_NEW_USER_ROLE). A taken email is a 409.
func (c *Client) CreateUser(ctx context.Context, email, password string, role Role) error {
	req := struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     Role   `json:"role,omitempty"`
	}{email, password, role}
	return c.call(ctx, http.MethodPost, "/user/create-user", req, http.StatusCreated, nil)
}

// DeleteUser deletes a user (/user/delete-user); 400 if there is none.
func (c *Client) DeleteUser(ctx context.Context, email string) error {
	return c.call(ctx, http.MethodPost, "/user/delete-user", map[string]string{"email": email}, http.StatusOK, nil)
}

// ChangePassword sets a user's password (/user/change-password). Admins may
// change anyone's; other roles only their own.
func (c *Client) ChangePassword(ctx context.Context, email, password string) error {
	return c.call(ctx, http.MethodPost, "/user/change-password",
		map[string]string{"email": email, "password": password}, http.StatusOK, nil)
}

// UserDetails is an entry of ListUsersDetails.
type UserDetails struct {
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	TimeCreated time.Time `json:"time_created"`
}

// ListUsersDetails returns every user with their role
// (/user/list-users-details, an extension; admin only).
func (c *Client) ListUsersDetails(ctx context.Context) ([]UserDetails, error) {
	return list[UserDetails](ctx, c, http.MethodPost, "/user/list-users-details", nil)
}

// SetRole changes a user's role (/user/set-role, an extension; admin only).
func (c *Client) SetRole(ctx context.Context, email string, role Role) error {
	return c.call(ctx, http.MethodPost, "/user/set-role",
		map[string]string{"email": email, "role": string(role)}, http.StatusOK, nil)
}

// CreatedAPIKey is the answer of CreateAPIKey. Key is the secret, shown
// only this once.
type CreatedAPIKey struct {
	Detail string `json:"detail"`
	Name   string `json:"name"`
	Key    string `json:"key"`
}

// CreateAPIKey creates an API key with a role (/user/create-api-key, an
// extension; admin only). Use the returned Key with WithAPIKey.
func (c *Client) CreateAPIKey(ctx context.Context, name string, role Role) (CreatedAPIKey, error) {
	return fetch[CreatedAPIKey](ctx, c, http.MethodPost, "/user/create-api-key",
		map[string]string{"name": name, "role": string(role)}, http.StatusCreated)
}

// APIKey describes a key; its secret is never listed.
type APIKey struct {
	Name        string     `json:"name"`
	Role        Role       `json:"role"`
	Prefix      string     `json:"prefix"`
	CreatedBy   string     `json:"created_by"`
	TimeCreated time.Time  `json:"time_created"`
	LastUsed    *time.Time `json:"last_used"`
	Revoked     *time.Time `json:"revoked"`
}

// ListAPIKeys lists every API key, revoked ones included
// (/user/list-api-keys, an extension; admin only).
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return list[APIKey](ctx, c, http.MethodGet, "/user/list-api-keys", nil)
}

// RevokeAPIKey revokes the active key with this name
// (/user/revoke-api-key, an extension; admin only).
func (c *Client) RevokeAPIKey(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/user/revoke-api-key", map[string]string{"name": name}, http.StatusOK, nil)
}

// SignOutEverywhere ends every session of the signed-in user on every
// device, this client's too (/auth/logout-everywhere): its tokens are
// dropped, so a client with credentials logs in again on its next call.
func (c *Client) SignOutEverywhere(ctx context.Context) error {
	if err := c.call(ctx, http.MethodPost, "/auth/logout-everywhere", nil, http.StatusOK, nil); err != nil {
		return err
	}
	c.SetTokens("", "")
	return nil
}
