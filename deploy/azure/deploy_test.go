package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	containerAppType = "azure-native:app:ContainerApp"
)

// testConfig is a valid configuration. The passwords hold characters that must be escaped in a
// URL, so that the test of DT_DATABASE_URL means something.
func testConfig() Config {
	return Config{
		Prefix:              "dtbt",
		Location:            "uksouth",
		Image:               "ghcr.io/dtbase/dtbase:main",
		MinReplicas:         1,
		MaxReplicas:         3,
		PostgresAllowedIPs:  []string{"203.0.113.7", "198.51.100.20"},
		SQLServerPassword:   "S3cret/Pass@word#1%",
		DefaultUserPassword: "default-user-secret",
		JWTSecretKey:        "jwt-secret-0123456789abcdef0123456789",
	}
}

func TestDeployResources(t *testing.T) {
	m, _ := runDeploy(t, testConfig())

	type named struct{ Type, Name string }
	var got []named
	for _, r := range m.resources {
		got = append(got, named{r.Type, r.Name})
	}
	want := []named{
		{"azure-native:resources:ResourceGroup", "rg"},
		{"azure-native:operationalinsights:Workspace", "logs"},
		{"azure-native:app:ManagedEnvironment", "env"},
		{postgresServerType, "postgresql"},
		{postgresDatabaseType, "database"},
		{postgresFirewallRuleType, "allow-azure-services"},
		// The names are the original's: prefix, "-fwr", first 4 hex digits of sha256(ip).
		{postgresFirewallRuleType, "dtbt-fwrfec5"},
		{postgresFirewallRuleType, "dtbt-fwr140c"},
		{containerAppType, "backend"},
	}
	sortNamed := func(a, b named) int { return strings.Compare(a.Type+a.Name, b.Type+b.Name) }
	slices.SortFunc(got, sortNamed)
	slices.SortFunc(want, sortNamed)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
}

func TestDeployAzureNames(t *testing.T) {
	m, _ := runDeploy(t, testConfig())
	for _, tc := range []struct{ typ, key, want string }{
		{"azure-native:resources:ResourceGroup", "resourceGroupName", "dtbt-rg"},
		{"azure-native:operationalinsights:Workspace", "workspaceName", "dtbt-logs"},
		{"azure-native:app:ManagedEnvironment", "environmentName", "dtbt-env"},
		{postgresServerType, "serverName", "dtbt-postgresql"},
		{postgresDatabaseType, "databaseName", "dtdb"},
		{containerAppType, "containerAppName", "dtbt-backend"},
	} {
		r := m.one(t, tc.typ)
		if got := at(t, r.Inputs, tc.key); got != tc.want {
			t.Errorf("%s %s = %v, want %q", tc.typ, tc.key, got, tc.want)
		}
		if tc.typ != "azure-native:resources:ResourceGroup" {
			if got := at(t, r.Inputs, "resourceGroupName"); got != "dtbt-rg" {
				t.Errorf("%s is in resource group %v, want dtbt-rg", tc.typ, got)
			}
		}
	}
}

func TestDeployPostgres(t *testing.T) {
	cfg := testConfig()
	m, exports := runDeploy(t, cfg)

	server := m.one(t, postgresServerType).Inputs
	want := map[string]any{
		"resourceGroupName":          "dtbt-rg",
		"serverName":                 "dtbt-postgresql",
		"location":                   "uksouth",
		"administratorLogin":         "dbadmin",
		"administratorLoginPassword": cfg.SQLServerPassword,
		"version":                    "16",
		"createMode":                 "Default",
		"availabilityZone":           "1",
		"sku":                        map[string]any{"name": "Standard_B1ms", "tier": "Burstable"},
		"storage":                    map[string]any{"storageSizeGB": float64(32)},
		"backup":                     map[string]any{"backupRetentionDays": float64(14), "geoRedundantBackup": "Disabled"},
	}
	if diff := cmp.Diff(want, reveal(server)); diff != "" {
		t.Errorf("server inputs (-want +got):\n%s", diff)
	}
	if !isSecret(t, server, "administratorLoginPassword") {
		t.Error("administratorLoginPassword is not a secret")
	}

	db := m.one(t, postgresDatabaseType).Inputs
	if diff := cmp.Diff(map[string]any{
		"resourceGroupName": "dtbt-rg", "serverName": "dtbt-postgresql", "databaseName": "dtdb",
		"charset": "UTF8", "collation": "en_US.utf8",
	}, db); diff != "" {
		t.Errorf("database inputs (-want +got):\n%s", diff)
	}

	rules := map[string][2]any{}
	for _, r := range m.byType(postgresFirewallRuleType) {
		rules[at(t, r.Inputs, "firewallRuleName").(string)] = [2]any{at(t, r.Inputs, "startIpAddress"), at(t, r.Inputs, "endIpAddress")}
	}
	wantRules := map[string][2]any{
		"AllowAllAzureServicesAndResourcesWithinAzureIps": {"0.0.0.0", "0.0.0.0"},
		"dtbt-fwrfec5": {"203.0.113.7", "203.0.113.7"},
		"dtbt-fwr140c": {"198.51.100.20", "198.51.100.20"},
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("firewall rules (-want +got):\n%s", diff)
	}

	if got, want := exports["postgres_fqdn"], "dtbt-postgresql.postgres.database.azure.com"; got != want {
		t.Errorf("postgres_fqdn = %q, want %q", got, want)
	}
}

func TestDeployContainerApp(t *testing.T) {
	cfg := testConfig()
	m, exports := runDeploy(t, cfg)
	capp := m.one(t, containerAppType).Inputs

	if got := at(t, capp, "environmentId"); got != "env-id" {
		t.Errorf("environmentId = %v, want the managed environment's id", got)
	}
	container := at(t, capp, "template.containers.0")
	if got := at(t, container, "image"); got != cfg.Image {
		t.Errorf("image = %v, want %q", got, cfg.Image)
	}

	wantEnv := []any{
		map[string]any{"name": "DT_LISTEN_ADDR", "value": ":5000"},
		map[string]any{"name": "DT_DATABASE_URL", "secretRef": "database-url"},
		map[string]any{"name": "DT_JWT_SECRET_KEY", "secretRef": "jwt-secret-key"},
		map[string]any{"name": "DT_DEFAULT_USER_PASS", "secretRef": "default-user-pass"},
	}
	if diff := cmp.Diff(wantEnv, at(t, container, "env")); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}

	// The direct port (not PgBouncer's 6432), TLS, and the password escaped for a URL.
	wantDBURL := "postgres://dbadmin:S3cret%2FPass%40word%231%25@dtbt-postgresql.postgres.database.azure.com:5432/dtdb?sslmode=require"
	wantSecrets := []any{
		map[string]any{"name": "database-url", "value": wantDBURL},
		map[string]any{"name": "jwt-secret-key", "value": cfg.JWTSecretKey},
		map[string]any{"name": "default-user-pass", "value": cfg.DefaultUserPassword},
	}
	if diff := cmp.Diff(wantSecrets, at(t, capp, "configuration.secrets")); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	for i := range wantSecrets {
		if path := fmt.Sprintf("configuration.secrets.%d.value", i); !isSecret(t, capp, path) {
			t.Errorf("%s is not a secret", path)
		}
	}
	// The app must get the password back intact from the URL, whatever it contains.
	u, err := url.Parse(at(t, capp, "configuration.secrets.0.value").(string))
	if err != nil {
		t.Fatalf("DT_DATABASE_URL does not parse: %v", err)
	}
	if pw, _ := u.User.Password(); pw != cfg.SQLServerPassword || u.User.Username() != "dbadmin" {
		t.Errorf("DT_DATABASE_URL credentials = %q/%q, want dbadmin/%q", u.User.Username(), pw, cfg.SQLServerPassword)
	}

	wantIngress := map[string]any{
		"external":      true,
		"targetPort":    float64(5000),
		"transport":     "auto",
		"allowInsecure": false,
		"traffic":       []any{map[string]any{"latestRevision": true, "weight": float64(100)}},
	}
	if diff := cmp.Diff(wantIngress, at(t, capp, "configuration.ingress")); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}

	probes := map[string]string{}
	for _, p := range at(t, container, "probes").([]any) {
		if port := at(t, p, "httpGet.port"); port != float64(5000) {
			t.Errorf("%v probe port = %v, want 5000", at(t, p, "type"), port)
		}
		// Azure's limits, which it checks only at deployment time.
		for key, limit := range map[string]float64{"failureThreshold": 10, "periodSeconds": 240, "timeoutSeconds": 240} {
			if v, ok := p.(map[string]any)[key].(float64); ok && (v < 1 || v > limit) {
				t.Errorf("%v probe %s = %v, want 1 to %v", at(t, p, "type"), key, v, limit)
			}
		}
		probes[at(t, p, "type").(string)] = at(t, p, "httpGet.path").(string)
	}
	if diff := cmp.Diff(map[string]string{"Startup": "/healthz", "Liveness": "/healthz", "Readiness": "/readyz"}, probes); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}

	if got, want := exports["backend_endpoint"], "https://dtbt-backend.example.uksouth.azurecontainerapps.io"; got != want {
		t.Errorf("backend_endpoint = %q, want %q", got, want)
	}
}

func TestDeployReplicas(t *testing.T) {
	for _, tc := range []struct{ min, max int }{{1, 3}, {0, 1}, {2, 10}} {
		t.Run(fmt.Sprintf("%d..%d", tc.min, tc.max), func(t *testing.T) {
			cfg := testConfig()
			cfg.MinReplicas, cfg.MaxReplicas = tc.min, tc.max
			m, _ := runDeploy(t, cfg)
			scale := at(t, m.one(t, containerAppType).Inputs, "template.scale")
			if got := at(t, scale, "minReplicas"); got != float64(tc.min) {
				t.Errorf("minReplicas = %v, want %d", got, tc.min)
			}
			if got := at(t, scale, "maxReplicas"); got != float64(tc.max) {
				t.Errorf("maxReplicas = %v, want %d", got, tc.max)
			}
		})
	}
}

// TestDeployNoPlainSecrets checks that no secret value appears anywhere in any resource's inputs
// except inside a value Pulumi treats as secret (encrypted in the state, masked in output).
func TestDeployNoPlainSecrets(t *testing.T) {
	cfg := testConfig()
	cfg.Registry = &Registry{Server: "ghcr.io", Username: "bot", Password: "registry-token-secret"}
	m, _ := runDeploy(t, cfg)
	secrets := []string{cfg.SQLServerPassword, url.PathEscape(cfg.SQLServerPassword), cfg.DefaultUserPassword, cfg.JWTSecretKey, cfg.Registry.Password, "workspace-shared-key"}

	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case secretValue:
			// Secret: allowed to hold anything.
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s.%d", path, i), e)
			}
		case string:
			for _, s := range secrets {
				if strings.Contains(x, s) {
					t.Errorf("%s holds a secret in plain text", path)
				}
			}
		}
	}
	for _, r := range m.resources {
		walk(r.Type+"/"+r.Name, r.Inputs)
	}

	// The shared key did reach the environment, as a secret.
	env := m.one(t, "azure-native:app:ManagedEnvironment").Inputs
	const keyPath = "appLogsConfiguration.logAnalyticsConfiguration.sharedKey"
	if got := at(t, env, keyPath); got != "workspace-shared-key" || !isSecret(t, env, keyPath) {
		t.Errorf("sharedKey = %#v (secret: %v), want the workspace key as a secret", got, isSecret(t, env, keyPath))
	}
}

func TestDeployRegistry(t *testing.T) {
	t.Run("public image", func(t *testing.T) {
		m, _ := runDeploy(t, testConfig())
		conf := at(t, m.one(t, containerAppType).Inputs, "configuration").(map[string]any)
		if r, ok := conf["registries"]; ok && len(r.([]any)) > 0 {
			t.Errorf("registries = %v, want none for a public image", r)
		}
	})
	t.Run("private registry", func(t *testing.T) {
		cfg := testConfig()
		cfg.Registry = &Registry{Server: "ghcr.io", Username: "bot", Password: "registry-token-secret"}
		m, _ := runDeploy(t, cfg)
		capp := m.one(t, containerAppType).Inputs
		want := []any{map[string]any{"server": "ghcr.io", "username": "bot", "passwordSecretRef": "registry-password"}}
		if diff := cmp.Diff(want, at(t, capp, "configuration.registries")); diff != "" {
			t.Errorf("registries (-want +got):\n%s", diff)
		}
		if got := at(t, capp, "configuration.secrets.3"); !cmp.Equal(got, map[string]any{"name": "registry-password", "value": "registry-token-secret"}) || !isSecret(t, capp, "configuration.secrets.3.value") {
			t.Errorf("registry secret = %v, want registry-password as a secret", got)
		}
	})
}

func TestDeployWithoutAllowedIPs(t *testing.T) {
	cfg := testConfig()
	cfg.PostgresAllowedIPs = nil
	m, _ := runDeploy(t, cfg)
	rules := m.byType(postgresFirewallRuleType)
	if len(rules) != 1 || at(t, rules[0].Inputs, "firewallRuleName") != allowAzureRule {
		t.Errorf("firewall rules = %v, want only %s", rules, allowAzureRule)
	}
}
