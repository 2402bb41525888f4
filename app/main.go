package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/sqldb"
)

// Main runs the dtbase command. Tests use it end to end.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) (string, bool)

	// BcryptCost overrides the password hashing cost (tests use the minimum).
	BcryptCost int

	// Listening, when set, receives the address the server listens on.
	Listening chan<- string
}

// NewMain returns a Main on the process's environment and streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: lookupEnv, BcryptCost: 12}
}

const usage = `dtbase: the data store, API and web interface of a digital twin.

Usage:
  dtbase <command> [flags]

Commands:
  serve      run the API and web interface (SQLite in ./dtbase-data by default)
  migrate    apply database migrations and exit
  db-init    as a PostgreSQL administrator, create the app's own role and give it the database
  user       manage users: create, list, set-password, set-role, delete
  import     import readings from a CSV file
  import-dtbase  copy an original DTBase PostgreSQL database into this one (--from postgres://…)
  demo       load the CROP farm demo data into the database
  backup     write a consistent copy of the SQLite database while it serves
  forecast   forecast sensors with ARIMA and store the runs (forecast arima --help)
  version    print the version and commit

Run 'dtbase <command> --help' for the flags of a command.
`

// Run executes the command line args (without the program name) and returns
// the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = m.serve(ctx, rest)
	case "migrate":
		err = m.migrate(ctx, rest)
	case "db-init":
		err = m.dbInit(ctx, rest)
	case "user":
		err = m.user(ctx, rest)
	case "import":
		err = m.importCmd(ctx, rest)
	case "import-dtbase":
		err = m.importDTBase(ctx, rest)
	case "demo":
		err = m.demo(ctx, rest)
	case "backup":
		err = m.backup(ctx, rest)
	case "forecast":
		err = m.forecast(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(m.Stdout, versionLine())
	case "help", "-h", "--help", "-help":
		fmt.Fprint(m.Stdout, usage)
	default:
		fmt.Fprintf(m.Stderr, "dtbase: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(m.Stderr, "dtbase:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(m.Stderr, "dtbase:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// flags returns a flag set for a subcommand with every configuration flag
// bound (dtbase serve), and a usage text made of summary and the flags.
func (m *Main) flags(name, summary string, withConfig bool) (*flag.FlagSet, func() (Config, error)) {
	if !withConfig {
		return m.commandFlags(name, summary, []string{})
	}
	return m.commandFlags(name, summary, nil)
}

// commandFlags returns a flag set for a subcommand with the configuration
// flags of the settings named by envs bound (nil: all of them), and a usage
// text that lists the command's own flags first, then those settings.
func (m *Main) commandFlags(name, summary string, envs []string) (*flag.FlagSet, func() (Config, error)) {
	fs := flag.NewFlagSet("dtbase "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	load := bindConfig(fs, m.Getenv, envs)
	config := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { config[f.Name] = true })
	fs.Usage = func() {
		fmt.Fprintf(m.Stdout, "%s\n", summary)
		printFlags(m.Stdout, "Flags:", fs, func(f *flag.Flag) bool { return !config[f.Name] })
		printFlags(m.Stdout, "Settings (each flag also read from its DT_* variable):", fs, func(f *flag.Flag) bool { return config[f.Name] })
		if envs == nil {
			fmt.Fprintf(m.Stdout, "\n%s", configHelp())
		}
	}
	return fs, load
}

// parseNoArgs parses args into fs and refuses any argument left after the
// flags, as a usage error of command, which takes none.
func parseNoArgs(fs *flag.FlagSet, args []string, command string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", command, fs.Arg(0))}
	}
	return nil
}

// parseOneArg parses args into fs, flags anywhere among them, and returns
// the one argument left; a usage error saying what to give otherwise.
func parseOneArg(fs *flag.FlagSet, args []string, give string) (string, error) {
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", usageError{give}
	}
	return fs.Arg(0), nil
}

// printFlags lists the flags of fs that keep selects under title, as
// flag.PrintDefaults does but with the double dashes the docs use.
func printFlags(w io.Writer, title string, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f) {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		fmt.Fprintf(&b, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "[]" {
			switch {
			case secretFlag(f.Name): // its default comes from the environment
				b.WriteString(" (set in the environment; not shown)")
			case typ == "string":
				fmt.Fprintf(&b, " (default %s)", strconv.Quote(d))
			default:
				fmt.Fprintf(&b, " (default %s)", d)
			}
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\n%s\n%s", title, b.String())
	}
}

// secretFlag reports whether a flag holds a secret, whose value help must
// not print.
func secretFlag(name string) bool {
	return strings.Contains(name, "pass") || strings.Contains(name, "secret") || strings.HasSuffix(name, "key")
}

// isTerminal reports whether w is a terminal (a character device), where
// output is drawn for a person rather than written for a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// logger builds the structured logger: JSON for machines, text on a terminal.
func (m *Main) logger(c Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.LogFormat
	if format == "" {
		format = "json"
		if isTerminal(m.Stderr) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(m.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(m.Stderr, opts))
}

// openDB opens and migrates the configured database.
func (m *Main) openDB(ctx context.Context, c Config) (*sqldb.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, c.DSN())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetPool(c.DBPool)
	if c.DatabaseReadURL != "" {
		if err := db.UseReadReplica(ctx, c.DatabaseReadURL); err != nil {
			db.Close()
			return nil, fmt.Errorf("DT_DATABASE_READ_URL: %w", err)
		}
	}
	return db, nil
}

// jwtSecret returns the configured secret, or the generated one: kept in
// the data directory on SQLite, and in the database on PostgreSQL so every
// replica signs with the same key.
func jwtSecret(ctx context.Context, c Config, db *sqldb.DB) ([]byte, error) {
	if c.JWTSecret != "" {
		return []byte(c.JWTSecret), nil
	}
	return storedSecret(ctx, c, db, "jwt_secret", "jwt-secret", "JWT secret")
}

// storedSecret returns a secret generated once and kept: on PostgreSQL as
// the setting name, on SQLite in file of the data directory. what names it
// in errors.
func storedSecret(ctx context.Context, c Config, db *sqldb.DB, name, file, what string) ([]byte, error) {
	var b [32]byte
	rand.Read(b[:])
	fresh := base64.RawURLEncoding.EncodeToString(b[:])
	if db.Dialect == sqldb.Postgres {
		s, err := db.GetOrCreateSetting(ctx, name, fresh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return []byte(s), nil
	}
	path := filepath.Join(c.DataDir, file)
	if data, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(data))) > 0 {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(fresh+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", what, err)
	}
	return []byte(fresh), nil
}

// warnSecretsInDatabase warns when PostgreSQL keeps the generated secrets:
// anyone who can read the database can then forge tokens and unseal service
// credentials (docs/security.md).
func warnSecretsInDatabase(c Config, db *sqldb.DB, log *slog.Logger) {
	if db.Dialect != sqldb.Postgres {
		return
	}
	var missing []string
	if c.JWTSecret == "" {
		missing = append(missing, "DT_JWT_SECRET_KEY")
	}
	if c.Services.SecretKey == "" {
		missing = append(missing, "DT_SECRET_KEY")
	}
	if len(missing) > 0 {
		log.Warn("secrets are generated and kept in the database: anyone who can read the database can forge tokens (an admin's too) and unseal service credentials; set them from a secret store",
			"unset", strings.Join(missing, ", "))
	}
}

// ensureDefaultUser fixes the original's B2 (docs/compatibility.md): with
// DT_DEFAULT_USER_PASS set, default_user@localhost is an admin with that
// password; unset, it is removed unless it is the only admin. On a database
// with no users at all it is created with a random password that is shown
// once, so a fresh server is never locked out.
func (m *Main) ensureDefaultUser(ctx context.Context, c Config, db *sqldb.DB, log *slog.Logger) error {
	existing, err := db.FindUserByEmail(ctx, dtbase.DefaultUserEmail)
	if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return err
	}
	if c.DefaultPass != nil {
		// The operator's choice is applied even when the policy would
		// refuse it (the original's services log in with it), with a warning.
		if err := (auth.Policy{MinLength: c.PasswordMinLength}).Check(*c.DefaultPass); err != nil {
			log.Warn("DT_DEFAULT_USER_PASS does not meet the password policy; choose a stronger one", "email", dtbase.DefaultUserEmail, "reason", dtbase.ErrorMessage(err))
		}
		// A restart with an unchanged password only verifies it, rather
		// than paying for a new hash at every start.
		if existing == nil || !auth.CheckPassword(existing.PasswordHash, *c.DefaultPass) {
			hash, err := auth.HashPassword(*c.DefaultPass, m.BcryptCost)
			if err != nil {
				return err
			}
			if existing == nil {
				err = db.CreateUser(ctx, &dtbase.User{Email: dtbase.DefaultUserEmail, PasswordHash: hash, Role: dtbase.RoleAdmin})
				if dtbase.ErrorCode(err) == dtbase.ECONFLICT { // another replica created it
					err = db.SetPassword(ctx, dtbase.DefaultUserEmail, hash)
				}
				return err
			}
			if err := db.SetPassword(ctx, dtbase.DefaultUserEmail, hash); err != nil {
				return err
			}
		}
		if existing.Role != dtbase.RoleAdmin {
			return db.SetRole(ctx, dtbase.DefaultUserEmail, dtbase.RoleAdmin)
		}
		return nil
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		var b [12]byte
		rand.Read(b[:])
		password := base64.RawURLEncoding.EncodeToString(b[:])
		hash, err := auth.HashPassword(password, m.BcryptCost)
		if err != nil {
			return err
		}
		if err := db.CreateUser(ctx, &dtbase.User{Email: dtbase.DefaultUserEmail, PasswordHash: hash, Role: dtbase.RoleAdmin}); err != nil {
			if dtbase.ErrorCode(err) == dtbase.ECONFLICT {
				return nil
			}
			return err
		}
		// The password goes to the terminal only: log lines are collected
		// and kept where more people can read them.
		log.Warn("created the first admin with a generated password, shown once on the terminal; log in and create your own users, or set DT_DEFAULT_USER_PASS",
			"email", dtbase.DefaultUserEmail)
		fmt.Fprintf(m.Stderr, "\n  First start: log in as %s with password %s\n  (shown once; set DT_DEFAULT_USER_PASS to choose it)\n\n", dtbase.DefaultUserEmail, password)
		return nil
	}
	if existing == nil {
		return nil
	}
	if admins, err := db.CountAdmins(ctx); err != nil {
		return err
	} else if existing.Role == dtbase.RoleAdmin && admins == 1 {
		log.Info("keeping default_user@localhost: it is the only admin", "email", dtbase.DefaultUserEmail)
		return nil
	}
	log.Info("removing default_user@localhost because DT_DEFAULT_USER_PASS is unset")
	err = db.DeleteUser(ctx, dtbase.DefaultUserEmail)
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		return nil
	}
	return err
}

func (m *Main) serve(ctx context.Context, args []string) error {
	fs, load := m.flags("serve", "Usage: dtbase serve [flags]\n\nRun the API (with docs at /docs) and the web interface. With no configuration it\nkeeps a SQLite database and a generated JWT secret in ./dtbase-data and listens\non :5000.", true)
	demo := fs.Bool("demo", false, "load the CROP farm demo data on start if the database has no sensors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	c.Demo = *demo
	start := time.Now()
	log := m.logger(c)
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, err := jwtSecret(ctx, c, db)
	if err != nil {
		return err
	}
	warnSecretsInDatabase(c, db, log)
	if err := m.ensureDefaultUser(ctx, c, db, log); err != nil {
		return fmt.Errorf("default user: %w", err)
	}
	if c.Demo {
		if err := m.loadDemoIfEmpty(ctx, db, log); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}

	ctx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	sealer, err := serviceSealer(ctx, c, db)
	if err != nil {
		return err
	}
	runner, stopServices, err := m.startServices(ctx, c, db, sealer, log)
	if err != nil {
		return err
	}
	sender, err := alertSender(c, sealer)
	if err != nil {
		return err
	}
	defer m.startAlerts(ctx, c, db, sender, log)()
	stopMaintenance, err := m.startMaintenance(ctx, c, db, log)
	if err != nil {
		return err
	}
	defer stopMaintenance()
	// One Auth for API and web: one login throttle, one session store.
	authn := auth.New(auth.Config{Store: db, Secret: secret, AccessTTL: c.AccessTTL, RefreshGrace: c.RefreshGrace,
		BcryptCost: m.BcryptCost, Policy: auth.Policy{MinLength: c.PasswordMinLength}, TrustedProxies: c.TrustedProxies, Logger: log})
	apiServer := api.New(api.Config{
		Store: derive.WithDerived(db), Secret: secret, AccessTTL: c.AccessTTL, RefreshGrace: c.RefreshGrace,
		NewUserRole: c.NewUserRole, BcryptCost: m.BcryptCost, MaxBodyBytes: c.MaxBodyBytes, MaxUploadBytes: c.MaxUploadBytes, SiteModelMaxBytes: c.SiteModelMax,
		CORSOrigins: c.CORSOrigins, Version: Version, Services: runner, Logger: log,
		Auth: authn, MetricsPublic: c.MetricsPublic, Forecasts: forecasts(derive.WithDerived(db)), TestChannel: testChannel(sender),
	})
	// API and pages side by side; pages get the default body limit, each
	// API route its own.
	mux := http.NewServeMux()
	apiServer.Mount(mux)
	mux.Handle("/", http.MaxBytesHandler(m.webHandler(c, db, secret, runner, testChannel(sender), authn, log), c.MaxBodyBytes))
	stopIngest, err := m.startIngest(ctx, c, db, apiServer, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	servicesListening(runner, ln.Addr())
	srv := &http.Server{
		Handler:           apiServer.Middleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large uploads
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	engine := "sqlite " + c.DSN()
	if db.Dialect == sqldb.Postgres {
		engine = "postgres " + redactURL(c.DSN())
	}
	log.Info("dtbase listening", "url", "http://"+displayAddr(ln.Addr().String()), "docs", "http://"+displayAddr(ln.Addr().String())+"/docs",
		"database", engine, "version", Version, "startup_ms", time.Since(start).Milliseconds())
	if m.Listening != nil {
		m.Listening <- ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopIngest()
	stopServices()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// displayAddr turns ":5000" or "[::]:5000" into "localhost:5000".
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}

// redactURL hides the password of a database URL in logs.
func redactURL(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			userinfo := dsn[i+3 : i+3+j]
			if user, _, ok := strings.Cut(userinfo, ":"); ok {
				return dsn[:i+3] + user + ":***" + dsn[i+3+j:]
			}
		}
	}
	return dsn
}

func (m *Main) migrate(ctx context.Context, args []string) error {
	fs, load := m.commandFlags("migrate", "Usage: dtbase migrate [flags]\n\nApply pending database migrations and exit. dtbase serve also applies them at\nstart-up; this command lets a deployment run them as a separate step.", databaseSettings)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	db, err := sqldb.OpenNoMigrate(ctx, c.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	done, err := db.MigrateVerbose(ctx)
	for _, name := range done {
		fmt.Fprintln(m.Stdout, "applied", name)
	}
	if err != nil {
		return err
	}
	if len(done) == 0 {
		fmt.Fprintln(m.Stdout, "database is up to date")
	}
	return nil
}
