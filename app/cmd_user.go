package app

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

const userUsage = `Usage: dtbase user <create|list|set-password|set-role|delete> [flags] [args]

Manage users directly in the database (no server needed).

  dtbase user create EMAIL [--role admin|editor|viewer] [--password P]
  dtbase user list
  dtbase user set-password EMAIL [--password P]
  dtbase user set-role EMAIL ROLE
  dtbase user delete EMAIL

Without --password the password is read from standard input (one line).
The database flags choose the database (e.g. --database-url).
`

func (m *Main) user(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(m.Stdout, userUsage)
		if len(args) == 0 {
			return usageError{"user: missing subcommand"}
		}
		return nil
	}
	sub := args[0]
	fs, load := m.commandFlags("user "+sub, userUsage, append(slices.Clip(databaseSettings), "DT_NEW_USER_ROLE"))
	password := fs.String("password", "", "the password (default: read a line from standard input)")
	role := fs.String("role", "", "role of the new user: admin, editor or viewer (default DT_NEW_USER_ROLE)")
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	want := map[string]int{"create": 1, "list": 0, "set-password": 1, "set-role": 2, "delete": 1}
	n, ok := want[sub]
	if !ok {
		return usageError{fmt.Sprintf("user: unknown subcommand %q", sub)}
	}
	if fs.NArg() != n {
		return usageError{fmt.Sprintf("user %s: want %d argument(s), got %d", sub, n, fs.NArg())}
	}
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	// newHash reads the new password from --password or standard input,
	// checks it against the policy and hashes it.
	newHash := func() ([]byte, error) {
		p := *password
		if p == "" {
			line, err := bufio.NewReader(stdinReader).ReadString('\n')
			if p = strings.TrimRight(line, "\r\n"); p == "" {
				return nil, fmt.Errorf("no password given (use --password or pipe one line on standard input): %v", err)
			}
		}
		return m.hashNewPassword(c, p)
	}
	switch sub {
	case "create":
		email := fs.Arg(0)
		if !dtbase.ValidEmail(email) {
			return fmt.Errorf("invalid email address %q", email)
		}
		r := c.NewUserRole
		if *role != "" {
			r = dtbase.Role(*role)
		}
		if !r.Valid() {
			return usageError{fmt.Sprintf("invalid role %q: want admin, editor or viewer", r)}
		}
		// An existing user is reported before the password is judged.
		if _, err := db.FindUserByEmail(ctx, email); err == nil {
			return fmt.Errorf("%s", "User already exists") // the store's text, as for a race below
		}
		hash, err := newHash()
		if err != nil {
			return err
		}
		if err := db.CreateUser(ctx, &dtbase.User{Email: email, PasswordHash: hash, Role: r}); err != nil {
			return fmt.Errorf("%s", dtbase.ErrorMessage(err))
		}
		fmt.Fprintf(m.Stdout, "created %s (%s)\n", email, r)
	case "list":
		users, err := db.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tROLE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Email, u.Role, dtbase.FormatTime(u.Created))
		}
		tw.Flush()
	case "set-password":
		hash, err := newHash()
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, fs.Arg(0), hash); err != nil {
			return fmt.Errorf("%s", dtbase.ErrorMessage(err))
		}
		fmt.Fprintf(m.Stdout, "password changed for %s\n", fs.Arg(0))
	case "set-role":
		r := dtbase.Role(fs.Arg(1))
		if !r.Valid() {
			return usageError{fmt.Sprintf("invalid role %q: want admin, editor or viewer", r)}
		}
		if err := db.SetRole(ctx, fs.Arg(0), r); err != nil {
			return fmt.Errorf("%s", dtbase.ErrorMessage(err))
		}
		fmt.Fprintf(m.Stdout, "%s is now %s\n", fs.Arg(0), r)
	case "delete":
		if err := db.DeleteUser(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("%s", dtbase.ErrorMessage(err))
		}
		fmt.Fprintf(m.Stdout, "deleted %s\n", fs.Arg(0))
	}
	return nil
}

// reorderFlags moves flags before positional arguments, so that
// "user create a@b --role viewer" works as people type it.
func reorderFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// hashNewPassword applies the password policy of the API and the web
// interface (DT_PASSWORD_MIN_LENGTH) and hashes the password.
func (m *Main) hashNewPassword(c Config, password string) ([]byte, error) {
	if err := (auth.Policy{MinLength: c.PasswordMinLength}).Check(password); err != nil {
		return nil, fmt.Errorf("%s", dtbase.ErrorMessage(err))
	}
	return auth.HashPassword(password, m.BcryptCost)
}
