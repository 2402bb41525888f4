package web

import (
	"net/http"
	"strings"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

var roles = []dtbase.Role{dtbase.RoleViewer, dtbase.RoleEditor, dtbase.RoleAdmin}

type usersData struct {
	Users  []dtbase.User
	Keys   []dtbase.APIKey
	Roles  []dtbase.Role
	Me     string
	NewKey *newKey // set once, right after a key is created
}

type newKey struct {
	Name, Role, Secret string
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.renderUsers(w, r, s, nil)
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, s *session, nk *newKey) error {
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	keys, err := h.store.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "users.html", &view{Title: "Users and API keys", Nav: "users", Session: s,
		Data: &usersData{Users: users, Keys: keys, Roles: roles, Me: s.User.Email, NewKey: nk}})
	return nil
}

func formRole(r *http.Request) (dtbase.Role, error) {
	role := dtbase.Role(r.PostFormValue("role"))
	if !role.Valid() {
		return "", invalid("Role must be one of viewer, editor or admin, not %q.", string(role))
	}
	return role, nil
}

// hashNewPassword checks a new password against the policy the API and the
// command line apply too, and hashes it.
func (h *Handler) hashNewPassword(p string) ([]byte, error) {
	hash, err := h.auth.HashNewPassword(p)
	if dtbase.ErrorCode(err) == dtbase.EUNPROCESSABLE {
		return nil, invalid("%s.", dtbase.ErrorMessage(err))
	}
	return hash, err
}

func (h *Handler) createUser(r *http.Request, s *session) (string, string, error) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if !dtbase.ValidEmail(email) {
		return "/users", "", invalid("%q is not a valid email address.", email)
	}
	role, err := formRole(r)
	if err != nil {
		return "/users", "", err
	}
	hash, err := h.hashNewPassword(r.PostFormValue("password"))
	if err != nil {
		return "/users", "", err
	}
	if err := h.store.CreateUser(r.Context(), &dtbase.User{Email: email, Role: role, PasswordHash: hash}); err != nil {
		return "/users", "", onConflict(err, "A user with the email %s exists already.", email)
	}
	return "/users", "User " + email + " created as " + string(role) + ".", nil
}

// lastAdmin reports whether email is the only admin, whom the interface
// will not delete or demote so that nobody is locked out.
func (h *Handler) lastAdmin(r *http.Request, email string) (bool, error) {
	u, err := h.store.FindUserByEmail(r.Context(), email)
	if err != nil {
		return false, err
	}
	if u.Role != dtbase.RoleAdmin {
		return false, nil
	}
	n, err := h.store.CountAdmins(r.Context())
	return n <= 1, err
}

func (h *Handler) deleteUser(r *http.Request, s *session) (string, string, error) {
	email := r.PostFormValue("email")
	if email == s.User.Email {
		return "/users", "", invalid("You cannot delete your own account while signed in with it.")
	}
	if last, err := h.lastAdmin(r, email); err != nil {
		return "/users", "", err
	} else if last {
		return "/users", "", invalid("%s is the only admin and cannot be deleted.", email)
	}
	if err := h.store.DeleteUser(r.Context(), email); err != nil {
		return "/users", "", err
	}
	return "/users", "User " + email + " deleted.", nil
}

func (h *Handler) setUserPassword(r *http.Request, s *session) (string, string, error) {
	email := r.PostFormValue("email")
	hash, err := h.hashNewPassword(r.PostFormValue("password"))
	if err != nil {
		return "/users", "", err
	}
	if err := h.store.SetPassword(r.Context(), email, hash); err != nil {
		return "/users", "", err
	}
	next := "/users"
	if email == s.User.Email {
		next = "/login" // the new password ends this session too
	}
	return next, "Password of " + email + " changed.", nil
}

func (h *Handler) setUserRole(r *http.Request, s *session) (string, string, error) {
	email := r.PostFormValue("email")
	role, err := formRole(r)
	if err != nil {
		return "/users", "", err
	}
	if role != dtbase.RoleAdmin {
		if last, err := h.lastAdmin(r, email); err != nil {
			return "/users", "", err
		} else if last {
			return "/users", "", invalid("%s is the only admin; make someone else an admin first.", email)
		}
	}
	if err := h.store.SetRole(r.Context(), email, role); err != nil {
		return "/users", "", err
	}
	return "/users", email + " is now " + string(role) + ".", nil
}

// createAPIKey renders the users page with the new secret, which is shown
// this once and never stored.
func (h *Handler) createAPIKey(w http.ResponseWriter, r *http.Request, s *session) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	role, err := formRole(r)
	if err == nil && name == "" {
		err = invalid("The key needs a name.")
	}
	if err == nil {
		secret, hash := auth.NewAPIKeySecret()
		k := &dtbase.APIKey{Name: name, Role: role, Prefix: auth.APIKeyDisplayPrefix(secret), CreatedBy: s.User.Email}
		if err = h.store.CreateAPIKey(r.Context(), k, hash); err == nil {
			return h.renderUsers(w, r, s, &newKey{Name: name, Role: string(role), Secret: secret})
		}
		err = onConflict(err, "An active key named %q exists already.", name)
	}
	if !isClientError(err) {
		return err
	}
	setFlash(w, r, "error", dtbase.ErrorMessage(err))
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

func (h *Handler) revokeAPIKey(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("name")
	if err := h.store.RevokeAPIKey(r.Context(), name); err != nil {
		return "/users", "", err
	}
	return "/users", "API key " + name + " revoked.", nil
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h.render(w, r, http.StatusOK, "account.html", &view{Title: "Your account", Nav: "account", Session: s})
	return nil
}

// changeOwnPassword lets any user change their password, given the current
// one. The session ends, since it is bound to the old password.
func (h *Handler) changeOwnPassword(r *http.Request, s *session) (string, string, error) {
	if !auth.CheckPassword(s.User.PasswordHash, r.PostFormValue("current")) {
		return "/account", "", invalid("The current password is not correct.")
	}
	password := r.PostFormValue("password")
	hash, err := h.hashNewPassword(password)
	if err != nil {
		return "/account", "", err
	}
	if password != r.PostFormValue("confirm") {
		return "/account", "", invalid("The two new passwords differ.")
	}
	if err := h.store.SetPassword(r.Context(), s.User.Email, hash); err != nil {
		return "/account", "", err
	}
	return "/login", "Password changed. Sign in with the new password.", nil
}

// signOutEverywhere ends every session of the user, this one included.
func (h *Handler) signOutEverywhere(r *http.Request, s *session) (string, string, error) {
	if err := h.auth.SignOutEverywhere(r.Context(), s.User.ID); err != nil {
		return "/account", "", err
	}
	return "/login", "You have been signed out everywhere.", nil
}
