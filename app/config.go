// Package app wires dtbase together: configuration from flags and DT_*
// environment variables, the database, the API and web servers, background
// services, and the subcommands of the dtbase binary.
//
// Each subcommand has its file, cmd_<command>.go; serve and migrate are in
// main.go with the command table, and what serve starts (the service
// runner, the MQTT subscriber, the web interface) is in cmd_serve_*.go.
package app

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/sqldb"
)

// Config is every setting of dtbase serve. Each field has a DT_* variable
// and a flag of the same name in lower case with dashes.
type Config struct {
	ListenAddr   string
	DataDir      string
	DatabaseURL  string
	SQLUser      string
	SQLPass      string
	SQLHost      string
	SQLPort      string
	SQLDBName    string
	DefaultPass  *string // nil when DT_DEFAULT_USER_PASS is unset
	JWTSecret    string
	AccessTTL    time.Duration
	RefreshGrace time.Duration
	NewUserRole  dtbase.Role
	CORSOrigins  []string
	MaxBodyBytes int64
	SiteModelMax int64  // DT_SITE_MODEL_MAX_BYTES
	LogFormat    string // "json", "text" or "" for text on a terminal, JSON otherwise
	LogLevel     string
	Scheduler    bool // run due service schedules from this process
	MQTTBroker   string
	MQTT         mqttSettings    // the other DT_MQTT_* settings (cmd_serve_ingest.go)
	Services     serviceSettings // DT_SECRET_KEY and the other service settings (cmd_serve_services.go)
	DBPool       sqldb.Pool      // DT_DB_* connection pool settings (dbpool.go)
	PublicURL    string          // DT_PUBLIC_URL, for links in alert notifications (cmd_serve_alerts.go)
	Demo         bool

	PasswordMinLength int  // least length of a new password (at least 8)
	MetricsPublic     bool // serve /metrics without a credential
	TrustedProxies    []*net.IPNet
	// DatabaseReadURL is a PostgreSQL replica for range reads of readings.
	DatabaseReadURL string
	// MaxUploadBytes limits streamed CSV uploads of readings.
	MaxUploadBytes int64
	MapTileURL     string
	// Retention holds DT_READING_RETENTION_DAYS and DT_ROLLUP_RETENTION_DAYS
	// (cmd_serve_retention.go).
	Retention sqldb.RetentionPolicy
}

// setting describes one configuration variable for flags, env and docs.
type setting struct {
	env, def, help string
	set            func(c *Config, v string) error
}

func secs(v string) (time.Duration, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("want a whole number of seconds, got %q", v)
	}
	return time.Duration(n) * time.Second, nil
}

// positiveBytes reads a size in bytes, which must be positive.
func positiveBytes(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n <= 0 {
		err = fmt.Errorf("must be positive")
	}
	return n, err
}

// settings lists every setting, in the order the docs present it: the core
// ones, then those of the MQTT subscriber, the service runner, the
// connection pool, alerts and retention, which their files keep next to
// their use.
var settings = slices.Concat(coreSettings, mqttSettingList, serviceSettingList, dbPoolSettingList, alertSettingList, retentionSettingList)

// coreSettings are the settings of the server itself and its database.
var coreSettings = []setting{
	{"DT_LISTEN_ADDR", ":5000", "address the API and web interface listen on", func(c *Config, v string) error { c.ListenAddr = v; return nil }},
	{"DT_DATA_DIR", "./dtbase-data", "directory of the SQLite database and generated secrets", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"DT_DATABASE_URL", "", "postgres://user:pass@host:5432/db to use PostgreSQL instead of SQLite", func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"DT_DATABASE_READ_URL", "", "postgres://… of a read replica that serves range reads of readings and rollups (docs/scale.md)", func(c *Config, v string) error { c.DatabaseReadURL = v; return nil }},
	{"DT_SQL_USER", "", "PostgreSQL user (the original's variables; used when DT_DATABASE_URL is unset and DT_SQL_HOST is set)", func(c *Config, v string) error { c.SQLUser = strings.TrimSpace(v); return nil }},
	{"DT_SQL_PASS", "", "PostgreSQL password", func(c *Config, v string) error { c.SQLPass = v; return nil }},
	{"DT_SQL_HOST", "", "PostgreSQL host", func(c *Config, v string) error { c.SQLHost = v; return nil }},
	{"DT_SQL_PORT", "5432", "PostgreSQL port", func(c *Config, v string) error { c.SQLPort = v; return nil }},
	{"DT_SQL_DBNAME", "dtbase", "PostgreSQL database name (lower-cased; created when missing)", func(c *Config, v string) error {
		c.SQLDBName = strings.ToLower(strings.TrimSpace(v))
		return nil
	}},
	{"DT_DEFAULT_USER_PASS", "", "password of default_user@localhost (an admin); unset: that user is removed unless it is the only admin", nil},
	{"DT_JWT_SECRET_KEY", "", "HS256 secret for tokens; generated and kept when unset", func(c *Config, v string) error { c.JWTSecret = v; return nil }},
	{"DT_JWT_ACCESS_TOKEN_EXPIRES_SECONDS", "3600", "access token lifetime in seconds", func(c *Config, v string) (err error) { c.AccessTTL, err = secs(v); return }},
	{"DT_JWT_REFRESH_TOKEN_GRACE_SECONDS", "3600", "a refresh token outlives its access token by this many seconds", func(c *Config, v string) (err error) { c.RefreshGrace, err = secs(v); return }},
	{"DT_NEW_USER_ROLE", "admin", "role of users created without one: admin, editor or viewer", func(c *Config, v string) error {
		c.NewUserRole = dtbase.Role(v)
		if !c.NewUserRole.Valid() {
			return fmt.Errorf("want admin, editor or viewer, got %q", v)
		}
		return nil
	}},
	{"DT_CORS_ORIGINS", "", "comma-separated origins allowed to call the API from a browser (* for any)", func(c *Config, v string) error {
		c.CORSOrigins = commaList(v)
		return nil
	}},
	{"DT_SITE_MODEL_MAX_BYTES", "52428800", "largest accepted site model (glTF) upload in bytes; DT_MAX_BODY_BYTES also applies", func(c *Config, v string) (err error) {
		c.SiteModelMax, err = positiveBytes(v)
		return
	}},
	{"DT_MAX_BODY_BYTES", "67108864", "largest accepted request body in bytes", func(c *Config, v string) (err error) {
		c.MaxBodyBytes, err = positiveBytes(v)
		return
	}},
	{"DT_MAX_UPLOAD_BYTES", "4294967296", "largest accepted CSV upload of readings in bytes (streamed, never held in memory)", func(c *Config, v string) (err error) {
		c.MaxUploadBytes, err = positiveBytes(v)
		return
	}},
	{"DT_LOG_FORMAT", "", "log format: json or text (default: text on a terminal, json otherwise)", func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{"DT_LOG_LEVEL", "info", "log level: debug, info, warn or error", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"DT_SCHEDULER", "true", "run scheduled services from this process (exactly once across replicas)", func(c *Config, v string) (err error) { c.Scheduler, err = strconv.ParseBool(v); return }},
	{"DT_PASSWORD_MIN_LENGTH", "8", "least number of characters of a new password (8 or more)", func(c *Config, v string) (err error) {
		c.PasswordMinLength, err = strconv.Atoi(strings.TrimSpace(v))
		if err == nil && c.PasswordMinLength < 8 {
			err = fmt.Errorf("must be at least 8, got %d", c.PasswordMinLength)
		}
		return
	}},
	{"DT_METRICS_PUBLIC", "false", "serve /metrics to anyone; otherwise it needs an admin's token or an API key", func(c *Config, v string) (err error) {
		c.MetricsPublic, err = strconv.ParseBool(v)
		return
	}},
	{"DT_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (login throttling, logs)", func(c *Config, v string) (err error) {
		c.TrustedProxies, err = auth.ParseCIDRs(v)
		return
	}},
	{"DT_MQTT_BROKER", "", "mqtt://host:1883 of a broker to subscribe to for readings (see the docs)", func(c *Config, v string) error { c.MQTTBroker = v; return nil }},
	{"DT_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "tile URL template of the web map ({z}/{x}/{y}, optionally {s}); the map still draws its markers when the tiles cannot be loaded", func(c *Config, v string) error { c.MapTileURL = v; return nil }},
}

// flagName turns DT_JWT_SECRET_KEY into jwt-secret-key.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "DT_")), "_", "-")
}

// databaseSettings choose the database: the settings of the commands that
// only open it.
var databaseSettings = []string{"DT_DATA_DIR", "DT_DATABASE_URL", "DT_SQL_USER", "DT_SQL_PASS", "DT_SQL_HOST", "DT_SQL_PORT", "DT_SQL_DBNAME"}

// settingsOf returns the settings named by envs, in the docs' order; all of
// them when envs is nil.
func settingsOf(envs []string) []setting {
	if envs == nil {
		return settings
	}
	var out []setting
	for _, s := range settings {
		if slices.Contains(envs, s.env) {
			out = append(out, s)
		}
	}
	return out
}

// commaList splits a comma-separated list into its items, trimmed, leaving
// out empty ones; nil when there are none.
func commaList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// bindConfig registers a flag per setting named by envs (nil: every
// setting) on fs, each defaulting to its environment variable, and returns
// a function that builds the Config once fs has been parsed. Settings not
// named keep their zero value. A value that does not parse is a usageError
// naming its variable.
func bindConfig(fs *flag.FlagSet, getenv func(string) (string, bool), envs []string) func() (Config, error) {
	bound := settingsOf(envs)
	values := map[string]*string{}
	for _, s := range bound {
		def := s.def
		if v, ok := getenv(s.env); ok {
			def = v
		}
		values[s.env] = fs.String(flagName(s.env), def, s.help+" ["+s.env+"]")
	}
	return func() (Config, error) {
		var c Config
		for _, s := range bound {
			if s.set == nil {
				continue
			}
			if err := s.set(&c, *values[s.env]); err != nil {
				return c, usageError{fmt.Sprintf("%s: %v", s.env, err)}
			}
		}
		// DT_DEFAULT_USER_PASS distinguishes unset from empty.
		if values["DT_DEFAULT_USER_PASS"] == nil {
			return c, nil
		}
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == flagName("DT_DEFAULT_USER_PASS") })
		if v, ok := getenv("DT_DEFAULT_USER_PASS"); ok || explicit {
			if explicit {
				v = *values["DT_DEFAULT_USER_PASS"]
			}
			c.DefaultPass = &v
		}
		return c, nil
	}
}

// DSN returns the database to open: DT_DATABASE_URL, else a URL built from
// the original's DT_SQL_* variables when DT_SQL_HOST is set, else the SQLite
// file in the data directory.
func (c Config) DSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	if c.SQLHost != "" {
		u := url.URL{Scheme: "postgres", Host: c.SQLHost + ":" + c.SQLPort, Path: "/" + c.SQLDBName}
		if c.SQLUser != "" {
			u.User = url.UserPassword(c.SQLUser, c.SQLPass) // encoded once (the original's B1)
		}
		return u.String()
	}
	return filepath.Join(c.DataDir, "dtbase.db")
}

// configHelp documents every setting for --help.
func configHelp() string {
	var b strings.Builder
	b.WriteString("Environment (each also a flag, e.g. DT_LISTEN_ADDR is --listen-addr):\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(&b, "  %-38s %s (default: %s)\n", s.env, s.help, def)
	}
	return b.String()
}

func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
