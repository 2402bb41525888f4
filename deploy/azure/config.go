package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Config is the stack configuration this program reads. loadConfig fills it from
// `pulumi config`; deploy trusts it to have passed validate.
type Config struct {
	// Prefix starts the name of every Azure resource (resource-name-prefix).
	Prefix string
	// Location is the Azure region (location, default uksouth).
	Location string
	// Image is the dtbase container image, e.g. ghcr.io/dtbase/dtbase:main (image).
	Image string
	// MinReplicas and MaxReplicas bound the number of app replicas (min-replicas, max-replicas;
	// default 1 and 3). Replicas are stateless; the scheduler elects a leader among them.
	MinReplicas, MaxReplicas int

	// Postgres is the database server's configuration.
	Postgres Postgres

	// SQLServerPassword is the database administrator's password (sql-server-password, secret).
	// Only the one-off db-init step uses it; the app connects as its own role.
	SQLServerPassword string
	// DefaultUserPassword becomes DT_DEFAULT_USER_PASS (default-user-password, secret).
	DefaultUserPassword string

	// Registry holds credentials for a private image registry, or is nil when the image is
	// public (registry-server, registry-username, registry-password).
	Registry *Registry
}

// Postgres configures the PostgreSQL Flexible Server (keys postgres-*).
type Postgres struct {
	// Access is how the app reaches the server: accessPrivate (default; VNet integration with a
	// delegated subnet and a private DNS zone, no public endpoint) or accessFirewall (public
	// endpoint, firewall open only to the environment's static outbound address and AllowedIPs).
	Access string
	// AllowedIPs are extra IPv4 addresses allowed through the firewall, e.g. an administrator's
	// (postgres-allowed-ips, comma-separated; firewall access only).
	AllowedIPs []string
	// SKU is the compute size, e.g. Standard_B1ms (postgres-sku); its tier follows from its name.
	SKU string
	// MaxConnections overrides the SKU's max_connections when the server parameter was changed
	// or the SKU is not in postgresSKUs (postgres-max-connections; 0: from the SKU).
	MaxConnections int
	// StorageGB is the initial disk size (postgres-storage-gb, default 32); AutoGrow lets Azure
	// grow it before it fills (postgres-storage-auto-grow, default true).
	StorageGB int
	AutoGrow  bool
	// BackupRetentionDays is 7 to 35 (postgres-backup-retention-days, default 14);
	// GeoRedundantBackup copies backups to the paired region (postgres-geo-redundant-backup,
	// default false; it cannot be changed after the server is created).
	BackupRetentionDays int
	GeoRedundantBackup  bool
	// AvailabilityZone is "1", "2", "3" or "" for no preference, which regions without zones
	// need (postgres-availability-zone).
	AvailabilityZone string
	// Protect sets Pulumi's protect flag on the resource group, server and database, so that
	// `pulumi destroy` or a replacing change stops instead of deleting the data
	// (postgres-protect, default true). The server and database are also retained in Azure
	// when Pulumi deletes them.
	Protect bool
}

// Ways the app reaches PostgreSQL (postgres-access).
const (
	accessPrivate  = "private"
	accessFirewall = "firewall"
)

// Registry is a private container registry the app pulls its image from.
type Registry struct {
	Server   string
	Username string
	Password string // secret
}

// Defaults for optional configuration.
const (
	defaultLocation            = "uksouth"
	defaultMinReplicas         = 1
	defaultMaxReplicas         = 3
	defaultPostgresSKU         = "Standard_B1ms"
	defaultStorageGB           = 32
	defaultBackupRetentionDays = 14
)

// Limits of Azure names that derive from the prefix: a Container App name has at most 32
// characters and we append "-backend" (8), so the prefix has at most 24.
const maxPrefixLen = 24

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// parseConfig parses the value s of key, def when s is empty. A value
// parse refuses is added to errs ("key must be what") and gives def, so
// that validate does not report the same key again.
func parseConfig[T any](s string, def T, parse func(string) (T, error), key, what string, errs *[]error) T {
	if s == "" {
		return def
	}
	v, err := parse(s)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s must be %s, got %q", key, what, s))
		return def
	}
	return v
}

// loadConfig reads the stack configuration and validates it. It returns one error that lists
// every problem, so a user fixes them all in one go rather than one `pulumi up` at a time. The
// passwords must have been set with `pulumi config set --secret`, so that they are never
// stored in plain text in Pulumi.<stack>.yaml.
func loadConfig(ctx *pulumi.Context) (Config, error) {
	var errs []error
	get := func(key string) string {
		v, _ := ctx.GetConfig(ctx.Project() + ":" + key)
		return strings.TrimSpace(v)
	}
	getSecret := func(key string) string {
		full := ctx.Project() + ":" + key
		v, ok := ctx.GetConfig(full)
		if ok && !ctx.IsConfigSecret(full) {
			errs = append(errs, fmt.Errorf("%s must be a secret: set it with `pulumi config set --secret %s <value>`", key, key))
		}
		return v
	}
	getInt := func(key string, def int) int {
		return parseConfig(get(key), def, strconv.Atoi, key, "an integer", &errs)
	}
	getBool := func(key string, def bool) bool {
		return parseConfig(get(key), def, strconv.ParseBool, key, "true or false", &errs)
	}

	cfg := Config{
		Prefix:      get("resource-name-prefix"),
		Location:    get("location"),
		Image:       get("image"),
		MinReplicas: getInt("min-replicas", defaultMinReplicas),
		MaxReplicas: getInt("max-replicas", defaultMaxReplicas),
		Postgres: Postgres{
			Access:              get("postgres-access"),
			SKU:                 get("postgres-sku"),
			MaxConnections:      getInt("postgres-max-connections", 0),
			StorageGB:           getInt("postgres-storage-gb", defaultStorageGB),
			AutoGrow:            getBool("postgres-storage-auto-grow", true),
			BackupRetentionDays: getInt("postgres-backup-retention-days", defaultBackupRetentionDays),
			GeoRedundantBackup:  getBool("postgres-geo-redundant-backup", false),
			AvailabilityZone:    get("postgres-availability-zone"),
			Protect:             getBool("postgres-protect", true),
		},
		SQLServerPassword:   getSecret("sql-server-password"),
		DefaultUserPassword: getSecret("default-user-password"),
	}
	if cfg.Location == "" {
		cfg.Location = defaultLocation
	}
	if cfg.Postgres.Access == "" {
		cfg.Postgres.Access = accessPrivate
	}
	if cfg.Postgres.SKU == "" {
		cfg.Postgres.SKU = defaultPostgresSKU
	}
	// The keys that secrets replaced: generated now, so a value set here would be ignored.
	for _, key := range []string{"jwt-secret-key", "secret-key"} {
		if _, ok := ctx.GetConfig(ctx.Project() + ":" + key); ok {
			errs = append(errs, fmt.Errorf("%s is generated by the program (a RandomPassword); remove it with `pulumi config rm %s`", key, key))
		}
	}
	ips, err := parseIPs(get("postgres-allowed-ips"))
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Postgres.AllowedIPs = ips
	reg := Registry{Server: get("registry-server"), Username: get("registry-username"), Password: getSecret("registry-password")}
	if reg != (Registry{}) {
		cfg.Registry = &reg
	}

	if err := errors.Join(append(errs, cfg.validate())...); err != nil {
		return Config{}, fmt.Errorf("invalid stack configuration:\n%w", err)
	}
	if cfg.MinReplicas == 0 {
		ctx.Log.Warn("min-replicas is 0: when the app scales to zero no replica runs scheduled services", nil)
	}
	return cfg, nil
}

// validate reports every problem with c, joined into one error, or nil.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case c.Prefix == "":
		add("resource-name-prefix is required: every Azure resource name starts with it (e.g. `pulumi config set resource-name-prefix dtbase`)")
	case len(c.Prefix) < 2 || len(c.Prefix) > maxPrefixLen || !prefixPattern.MatchString(c.Prefix) || strings.Contains(c.Prefix, "--"):
		add("resource-name-prefix %q must be 2 to %d lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit", c.Prefix, maxPrefixLen)
	}
	if c.Image == "" {
		add("image is required: the dtbase container image, e.g. ghcr.io/dtbase/dtbase:main")
	} else if strings.ContainsFunc(c.Image, unicode.IsSpace) {
		add("image %q must not contain spaces", c.Image)
	}
	if c.MinReplicas < 0 {
		add("min-replicas must be 0 or more, got %d", c.MinReplicas)
	}
	if c.MaxReplicas < 1 || c.MaxReplicas > 300 {
		add("max-replicas must be between 1 and 300, got %d", c.MaxReplicas)
	}
	if c.MinReplicas > c.MaxReplicas {
		add("min-replicas (%d) must not exceed max-replicas (%d)", c.MinReplicas, c.MaxReplicas)
	}
	if err := checkAzurePassword(c.SQLServerPassword); err != nil {
		add("sql-server-password %v", err)
	}
	if c.DefaultUserPassword == "" {
		add("default-user-password is required: the password of default_user@localhost")
	}
	errs = append(errs, c.Postgres.validate(c.Prefix))
	if _, err := c.connsPerReplica(); err != nil {
		errs = append(errs, err)
	}
	if r := c.Registry; r != nil && (r.Server == "" || r.Username == "" || r.Password == "") {
		add("registry-server, registry-username and registry-password must be set together")
	}
	return errors.Join(errs...)
}

// validate reports every problem with p, joined into one error, or nil.
func (p Postgres) validate(prefix string) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch p.Access {
	case accessPrivate:
		if len(p.AllowedIPs) > 0 {
			add("postgres-allowed-ips needs postgres-access=firewall: with private access the server has no public endpoint")
		}
	case accessFirewall:
	default:
		add("postgres-access must be %q or %q, got %q", accessPrivate, accessFirewall, p.Access)
	}
	if _, ok := postgresTier(p.SKU); !ok {
		add("postgres-sku %q must be a Flexible Server size such as Standard_B1ms, Standard_D2ds_v5 or Standard_E2ds_v5", p.SKU)
	}
	if p.MaxConnections < 0 {
		add("postgres-max-connections must be 0 (from the SKU) or more, got %d", p.MaxConnections)
	}
	if p.StorageGB < 32 || p.StorageGB > 32767 {
		add("postgres-storage-gb must be between 32 and 32767, got %d", p.StorageGB)
	}
	if p.BackupRetentionDays < 7 || p.BackupRetentionDays > 35 {
		add("postgres-backup-retention-days must be between 7 and 35, got %d", p.BackupRetentionDays)
	}
	switch p.AvailabilityZone {
	case "", "1", "2", "3":
	default:
		add("postgres-availability-zone must be 1, 2, 3 or unset (no preference), got %q", p.AvailabilityZone)
	}
	seen := map[string]string{}
	for _, ip := range p.AllowedIPs {
		name := firewallRuleName(prefix, ip)
		if other, ok := seen[name]; ok {
			add("postgres-allowed-ips %s and %s hash to the same firewall rule name %s: allow one of them by hand in the Azure portal", other, ip, name)
		}
		seen[name] = ip
	}
	return errors.Join(errs...)
}

// checkAzurePassword applies Azure's rules for a PostgreSQL administrator password, so that a
// bad one fails at once rather than minutes into a deployment: 8 to 128 characters, from at
// least three of upper case, lower case, digits and other characters.
func checkAzurePassword(p string) error {
	if p == "" {
		return errors.New("is required: the PostgreSQL administrator password")
	}
	if len(p) < 8 || len(p) > 128 {
		return errors.New("must be 8 to 128 characters long")
	}
	var upper, lower, digit, other bool
	for _, r := range p {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			n++
		}
	}
	if n < 3 {
		return errors.New("must contain characters from three of: upper case, lower case, digits, other characters")
	}
	return nil
}

// parseIPs splits a comma-separated list of IPv4 addresses, dropping blanks and repeats.
// PostgreSQL Flexible Server firewall rules take IPv4 addresses only.
func parseIPs(s string) ([]string, error) {
	var ips []string
	var errs []error
	seen := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		if ip := net.ParseIP(f); ip == nil || ip.To4() == nil || strings.Contains(f, ":") {
			errs = append(errs, fmt.Errorf("postgres-allowed-ips: %q is not an IPv4 address", f))
			continue
		}
		ips = append(ips, f)
	}
	return ips, errors.Join(errs...)
}

// firewallRuleName names the rule for one allowed address as the original deployment did,
// `<prefix>-fwr` and the first four hex digits of the SHA-256 of the address, so that a
// stack's rules keep their names when the list is reordered.
func firewallRuleName(prefix, ip string) string {
	sum := sha256.Sum256([]byte(ip))
	return prefix + "-fwr" + hex.EncodeToString(sum[:2])
}
