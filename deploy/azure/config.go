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
	// PostgresAllowedIPs are extra IPv4 addresses allowed to reach the database, e.g. an
	// administrator's (postgres-allowed-ips, comma-separated).
	PostgresAllowedIPs []string

	// SQLServerPassword is the database administrator's password (sql-server-password, secret).
	SQLServerPassword string
	// DefaultUserPassword becomes DT_DEFAULT_USER_PASS (default-user-password, secret).
	DefaultUserPassword string
	// JWTSecretKey becomes DT_JWT_SECRET_KEY (jwt-secret-key, secret).
	JWTSecretKey string

	// Registry holds credentials for a private image registry, or is nil when the image is
	// public (registry-server, registry-username, registry-password).
	Registry *Registry
}

// Registry is a private container registry the app pulls its image from.
type Registry struct {
	Server   string
	Username string
	Password string // secret
}

// Defaults for optional configuration.
const (
	defaultLocation    = "uksouth"
	defaultMinReplicas = 1
	defaultMaxReplicas = 3
)

// Limits of Azure names that derive from the prefix: a Container App name has at most 32
// characters and we append "-backend" (8), so the prefix has at most 24.
const maxPrefixLen = 24

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// loadConfig reads the stack configuration and validates it. It returns one error that lists
// every problem, so a user fixes them all in one go rather than one `pulumi up` at a time. The
// three passwords must have been set with `pulumi config set --secret`, so that they are never
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
		s := get(key)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s must be an integer, got %q", key, s))
			return def // so that validate does not report the same key again
		}
		return n
	}

	cfg := Config{
		Prefix:              get("resource-name-prefix"),
		Location:            get("location"),
		Image:               get("image"),
		MinReplicas:         getInt("min-replicas", defaultMinReplicas),
		MaxReplicas:         getInt("max-replicas", defaultMaxReplicas),
		SQLServerPassword:   getSecret("sql-server-password"),
		DefaultUserPassword: getSecret("default-user-password"),
		JWTSecretKey:        getSecret("jwt-secret-key"),
	}
	if cfg.Location == "" {
		cfg.Location = defaultLocation
	}
	ips, err := parseIPs(get("postgres-allowed-ips"))
	if err != nil {
		errs = append(errs, err)
	}
	cfg.PostgresAllowedIPs = ips
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
	// HS256 wants a key at least as long as its 256-bit hash.
	if len(c.JWTSecretKey) < 32 {
		add("jwt-secret-key must be at least 32 characters (e.g. `openssl rand -hex 32`)")
	}
	if r := c.Registry; r != nil && (r.Server == "" || r.Username == "" || r.Password == "") {
		add("registry-server, registry-username and registry-password must be set together")
	}
	seen := map[string]string{}
	for _, ip := range c.PostgresAllowedIPs {
		name := firewallRuleName(c.Prefix, ip)
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
