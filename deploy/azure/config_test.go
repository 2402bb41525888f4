package main

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// validValues is a complete stack configuration; secretKeys are the keys set with --secret.
func validValues() map[string]string {
	return map[string]string{
		"image":                 "ghcr.io/dtbase/dtbase:main",
		"resource-name-prefix":  "dtbt",
		"sql-server-password":   "S3cret/Pass@word#1",
		"default-user-password": "default-user-secret",
		"jwt-secret-key":        "jwt-secret-0123456789abcdef0123456789",
	}
}

var secretKeys = []string{"sql-server-password", "default-user-password", "jwt-secret-key", "registry-password"}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := runLoadConfig(t, validValues(), secretKeys...)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Prefix:              "dtbt",
		Location:            "uksouth",
		Image:               "ghcr.io/dtbase/dtbase:main",
		MinReplicas:         1,
		MaxReplicas:         3,
		SQLServerPassword:   "S3cret/Pass@word#1",
		DefaultUserPassword: "default-user-secret",
		JWTSecretKey:        "jwt-secret-0123456789abcdef0123456789",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadConfigOptional(t *testing.T) {
	v := validValues()
	v["location"] = "westeurope"
	v["min-replicas"] = "2"
	v["max-replicas"] = " 5 "
	v["postgres-allowed-ips"] = " 203.0.113.7, ,198.51.100.20,203.0.113.7"
	v["registry-server"] = "ghcr.io"
	v["registry-username"] = "bot"
	v["registry-password"] = "token"
	got, err := runLoadConfig(t, v, secretKeys...)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location != "westeurope" || got.MinReplicas != 2 || got.MaxReplicas != 5 {
		t.Errorf("location, replicas = %s, %d..%d, want westeurope, 2..5", got.Location, got.MinReplicas, got.MaxReplicas)
	}
	if diff := cmp.Diff([]string{"203.0.113.7", "198.51.100.20"}, got.PostgresAllowedIPs); diff != "" {
		t.Errorf("allowed IPs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Registry{"ghcr.io", "bot", "token"}, got.Registry); diff != "" {
		t.Errorf("registry (-want +got):\n%s", diff)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  map[string]string // "" deletes the key
		plain   string            // a secret key set without --secret
		wantErr []string
	}{
		{name: "missing prefix", change: map[string]string{"resource-name-prefix": ""}, wantErr: []string{"resource-name-prefix is required"}},
		{name: "upper-case prefix", change: map[string]string{"resource-name-prefix": "DtBase"}, wantErr: []string{`resource-name-prefix "DtBase" must be`}},
		{name: "prefix too long", change: map[string]string{"resource-name-prefix": strings.Repeat("a", 25)}, wantErr: []string{"resource-name-prefix"}},
		{name: "prefix with double hyphen", change: map[string]string{"resource-name-prefix": "dt--base"}, wantErr: []string{"resource-name-prefix"}},
		{name: "prefix ending in hyphen", change: map[string]string{"resource-name-prefix": "dtbase-"}, wantErr: []string{"resource-name-prefix"}},
		{name: "missing image", change: map[string]string{"image": ""}, wantErr: []string{"image is required"}},
		{name: "missing sql password", change: map[string]string{"sql-server-password": ""}, wantErr: []string{"sql-server-password is required"}},
		{name: "weak sql password", change: map[string]string{"sql-server-password": "alllowercase"}, wantErr: []string{"sql-server-password must contain characters from three"}},
		{name: "short sql password", change: map[string]string{"sql-server-password": "Ab1!"}, wantErr: []string{"sql-server-password must be 8 to 128"}},
		{name: "missing default user password", change: map[string]string{"default-user-password": ""}, wantErr: []string{"default-user-password is required"}},
		{name: "short jwt key", change: map[string]string{"jwt-secret-key": "short"}, wantErr: []string{"jwt-secret-key must be at least 32"}},
		{name: "secret in plain text", plain: "jwt-secret-key", wantErr: []string{"jwt-secret-key must be a secret", "pulumi config set --secret jwt-secret-key"}},
		{name: "non-integer replicas", change: map[string]string{"max-replicas": "three"}, wantErr: []string{`max-replicas must be an integer, got "three"`}},
		{name: "min above max", change: map[string]string{"min-replicas": "4", "max-replicas": "2"}, wantErr: []string{"min-replicas (4) must not exceed max-replicas (2)"}},
		{name: "negative min", change: map[string]string{"min-replicas": "-1"}, wantErr: []string{"min-replicas must be 0 or more"}},
		{name: "zero max", change: map[string]string{"min-replicas": "0", "max-replicas": "0"}, wantErr: []string{"max-replicas must be between 1 and 300"}},
		{name: "bad IP", change: map[string]string{"postgres-allowed-ips": "203.0.113.7,example.org"}, wantErr: []string{`"example.org" is not an IPv4 address`}},
		{name: "IPv6", change: map[string]string{"postgres-allowed-ips": "2001:db8::1"}, wantErr: []string{`"2001:db8::1" is not an IPv4 address`}},
		{name: "partial registry", change: map[string]string{"registry-server": "ghcr.io"}, wantErr: []string{"must be set together"}},
		{
			name:    "every problem at once",
			change:  map[string]string{"resource-name-prefix": "", "image": "", "max-replicas": "0"},
			wantErr: []string{"resource-name-prefix is required", "image is required", "max-replicas must be between"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validValues()
			for k, x := range tc.change {
				if x == "" {
					delete(v, k)
				} else {
					v[k] = x
				}
			}
			var secret []string
			for _, k := range secretKeys {
				if k != tc.plain {
					secret = append(secret, k)
				}
			}
			_, err := runLoadConfig(t, v, secret...)
			if err == nil {
				t.Fatalf("loadConfig succeeded, want an error containing %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestFirewallRuleName(t *testing.T) {
	// Values from the original deployment's Python: hashlib.sha256(ip.encode()).hexdigest()[:4].
	for ip, want := range map[string]string{
		"203.0.113.7":   "dtbase-fwrfec5",
		"198.51.100.20": "dtbase-fwr140c",
		"1.2.3.4":       "dtbase-fwr6694",
	} {
		if got := firewallRuleName("dtbase", ip); got != want {
			t.Errorf("firewallRuleName(%q) = %q, want %q", ip, got, want)
		}
	}
}

// TestExampleStack checks that Pulumi.test.yaml, once given the secrets it leaves out, is a
// valid configuration, so the example in README.md works as written.
func TestExampleStack(t *testing.T) {
	b, err := os.ReadFile("Pulumi.test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var stack struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &stack); err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for k, x := range stack.Config {
		key, ok := strings.CutPrefix(k, "dtbase:")
		if !ok {
			t.Fatalf("config key %q is not in the dtbase namespace", k)
		}
		if _, isMap := x.(map[string]any); isMap {
			t.Fatalf("config key %q holds an encrypted secret: the example must not", k)
		}
		v[key] = fmt.Sprint(x)
	}
	secrets := validValues()
	for _, k := range []string{"image", "resource-name-prefix"} {
		delete(secrets, k)
	}
	maps.Copy(v, secrets)
	if _, err := runLoadConfig(t, v, secretKeys...); err != nil {
		t.Errorf("example stack with secrets added: %v", err)
	}
}
