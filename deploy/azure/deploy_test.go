package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testConfig is a valid configuration with the defaults loadConfig fills in. The passwords hold
// characters that must be escaped in a URL, so that the test of DT_DATABASE_URL means something.
func testConfig() Config {
	return Config{
		Prefix:      "dtbt",
		Location:    "uksouth",
		Image:       "ghcr.io/dtbase/dtbase:main",
		MinReplicas: 1,
		MaxReplicas: 3,
		Postgres: Postgres{
			Access:              accessPrivate,
			SKU:                 defaultPostgresSKU,
			StorageGB:           defaultStorageGB,
			AutoGrow:            true,
			BackupRetentionDays: defaultBackupRetentionDays,
			Protect:             true,
		},
		SQLServerPassword:   "S3cret/Pass@word#1%",
		DefaultUserPassword: "default-user-secret",
	}
}

// firewallConfig is testConfig with firewall access and two extra allowed addresses.
func firewallConfig() Config {
	cfg := testConfig()
	cfg.Postgres.Access = accessFirewall
	cfg.Postgres.AllowedIPs = []string{"203.0.113.7", "198.51.100.20"}
	return cfg
}

type named struct{ Type, Name string }

func resourceNames(m *mocks) []named {
	var got []named
	for _, r := range m.resources {
		got = append(got, named{r.Type, r.Name})
	}
	slices.SortFunc(got, func(a, b named) int { return strings.Compare(a.Type+a.Name, b.Type+b.Name) })
	return got
}

func TestDeployResources(t *testing.T) {
	common := []named{
		{"azure-native:resources:ResourceGroup", "rg"},
		{"azure-native:operationalinsights:Workspace", "logs"},
		{managedEnvironmentType, "env"},
		{virtualNetworkType, "vnet"},
		{postgresServerType, "postgresql"},
		{postgresDatabaseType, "database"},
		{randomPasswordType, "database-app-password"},
		{randomPasswordType, "jwt-secret-key"},
		{randomPasswordType, "secret-key"},
		{containerAppType, "backend"},
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		extra []named
	}{
		{"private", testConfig(), []named{{privateZoneType, "postgres-dns"}, {virtualNetworkLinkType, "postgres-dns-link"}}},
		{"firewall", firewallConfig(), []named{
			{publicIPAddressType, "outbound-ip"},
			{natGatewayType, "nat"},
			{postgresFirewallRuleType, "dtbt-apps-outbound"},
			// The names are the original's: prefix, "-fwr", first 4 hex digits of sha256(ip).
			{postgresFirewallRuleType, "dtbt-fwrfec5"},
			{postgresFirewallRuleType, "dtbt-fwr140c"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := runDeploy(t, tc.cfg)
			want := append(slices.Clone(common), tc.extra...)
			slices.SortFunc(want, func(a, b named) int { return strings.Compare(a.Type+a.Name, b.Type+b.Name) })
			if diff := cmp.Diff(want, resourceNames(m)); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeployAzureNames(t *testing.T) {
	m, _ := runDeploy(t, testConfig())
	for _, tc := range []struct{ typ, key, want string }{
		{"azure-native:resources:ResourceGroup", "resourceGroupName", "dtbt-rg"},
		{"azure-native:operationalinsights:Workspace", "workspaceName", "dtbt-logs"},
		{managedEnvironmentType, "environmentName", "dtbt-env"},
		{virtualNetworkType, "virtualNetworkName", "dtbt-vnet"},
		{privateZoneType, "privateZoneName", "dtbt.private.postgres.database.azure.com"},
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

// TestDeployPostgresAPIVersion checks that the PostgreSQL resources use the pinned API that
// lists version 16, not the provider's default API.
func TestDeployPostgresAPIVersion(t *testing.T) {
	m, _ := runDeploy(t, firewallConfig())
	for _, typ := range []string{postgresServerType, postgresDatabaseType, postgresFirewallRuleType} {
		if len(m.byType(typ)) == 0 {
			t.Errorf("no %s registered", typ)
		}
		if !strings.HasPrefix(typ, "azure-native:dbforpostgresql/v20240801:") {
			t.Errorf("%s is not on the 2024-08-01 API", typ)
		}
	}
	for _, r := range m.resources {
		if strings.HasPrefix(r.Type, "azure-native:dbforpostgresql:") {
			t.Errorf("%s %s uses the unversioned API", r.Type, r.Name)
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
		"sku":                        map[string]any{"name": "Standard_B1ms", "tier": "Burstable"},
		"storage":                    map[string]any{"storageSizeGB": float64(32), "autoGrow": "Enabled"},
		"backup":                     map[string]any{"backupRetentionDays": float64(14), "geoRedundantBackup": "Disabled"},
		"network": map[string]any{
			"publicNetworkAccess":         "Disabled",
			"delegatedSubnetResourceId":   "vnet-id/subnets/postgres",
			"privateDnsZoneArmResourceId": "postgres-dns-id",
		},
		"authConfig": map[string]any{"passwordAuth": "Enabled", "activeDirectoryAuth": "Disabled"},
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
	if got, want := exports["postgres_fqdn"], "dtbt-postgresql.postgres.database.azure.com"; got != want {
		t.Errorf("postgres_fqdn = %q, want %q", got, want)
	}
}

// TestDeployPostgresOptions checks the configurable size, backups and zone.
func TestDeployPostgresOptions(t *testing.T) {
	cfg := testConfig()
	cfg.Postgres.SKU = "Standard_D2ds_v5"
	cfg.Postgres.StorageGB = 128
	cfg.Postgres.AutoGrow = false
	cfg.Postgres.BackupRetentionDays = 35
	cfg.Postgres.GeoRedundantBackup = true
	cfg.Postgres.AvailabilityZone = "2"
	m, _ := runDeploy(t, cfg)
	server := reveal(m.one(t, postgresServerType).Inputs).(map[string]any)
	for path, want := range map[string]any{
		"sku":              map[string]any{"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
		"storage":          map[string]any{"storageSizeGB": float64(128), "autoGrow": "Disabled"},
		"backup":           map[string]any{"backupRetentionDays": float64(35), "geoRedundantBackup": "Enabled"},
		"availabilityZone": "2",
	} {
		if diff := cmp.Diff(want, at(t, server, path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	// Without a zone (the default, which regions without zones need) the key is absent.
	m, _ = runDeploy(t, testConfig())
	if _, ok := m.one(t, postgresServerType).Inputs["availabilityZone"]; ok {
		t.Error("availabilityZone is set although postgres-availability-zone is not")
	}
}

// TestDeployProtect checks that the resource group, server and database are protected and
// retained by default, and only then.
func TestDeployProtect(t *testing.T) {
	guarded := []string{"azure-native:resources:ResourceGroup", postgresServerType, postgresDatabaseType}
	for _, protect := range []bool{true, false} {
		cfg := testConfig()
		cfg.Postgres.Protect = protect
		m, _ := runDeploy(t, cfg)
		for _, r := range m.resources {
			want := protect && slices.Contains(guarded, r.Type)
			if r.Protect != want || r.RetainOnDelete != want {
				t.Errorf("postgres-protect=%v: %s %s protect %v, retainOnDelete %v; want %v", protect, r.Type, r.Name, r.Protect, r.RetainOnDelete, want)
			}
		}
	}
}

// TestDeployPrivateAccess checks the default network: a workload-profiles environment in the
// VNet's apps subnet, the server in its own delegated subnet with a linked private DNS zone and
// no public endpoint, and no firewall rule at all.
func TestDeployPrivateAccess(t *testing.T) {
	m, _ := runDeploy(t, testConfig())
	vnet := m.one(t, virtualNetworkType).Inputs
	wantSubnets := []any{
		map[string]any{"name": "apps", "addressPrefix": "10.40.0.0/23",
			"delegations": []any{map[string]any{"name": "apps", "serviceName": "Microsoft.App/environments"}}},
		map[string]any{"name": "postgres", "addressPrefix": "10.40.2.0/24",
			"delegations": []any{map[string]any{"name": "postgres", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}},
	}
	if diff := cmp.Diff(wantSubnets, at(t, vnet, "subnets")); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	env := m.one(t, managedEnvironmentType).Inputs
	if diff := cmp.Diff(map[string]any{"infrastructureSubnetId": "vnet-id/subnets/apps", "internal": false}, at(t, env, "vnetConfiguration")); diff != "" {
		t.Errorf("environment vnetConfiguration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{map[string]any{"name": "Consumption", "workloadProfileType": "Consumption"}}, at(t, env, "workloadProfiles")); diff != "" {
		t.Errorf("environment workloadProfiles (-want +got):\n%s", diff)
	}
	if got := at(t, m.one(t, containerAppType).Inputs, "workloadProfileName"); got != "Consumption" {
		t.Errorf("app workloadProfileName = %v, want Consumption", got)
	}
	link := m.one(t, virtualNetworkLinkType).Inputs
	if at(t, link, "virtualNetwork.id") != "vnet-id" || at(t, link, "privateZoneName") != "dtbt.private.postgres.database.azure.com" {
		t.Errorf("DNS zone link = %v, want the zone linked to the VNet", link)
	}
	if rules := m.byType(postgresFirewallRuleType); len(rules) != 0 {
		t.Errorf("%d firewall rules with private access, want none", len(rules))
	}
}

// TestDeployFirewallAccess checks the cheaper-to-reach option: the server's firewall admits the
// NAT gateway's static address, which the apps subnet goes out through, and the extra addresses.
func TestDeployFirewallAccess(t *testing.T) {
	m, exports := runDeploy(t, firewallConfig())
	rules := map[string][2]any{}
	for _, r := range m.byType(postgresFirewallRuleType) {
		rules[at(t, r.Inputs, "firewallRuleName").(string)] = [2]any{at(t, r.Inputs, "startIpAddress"), at(t, r.Inputs, "endIpAddress")}
	}
	wantRules := map[string][2]any{
		"dtbt-apps-outbound": {mockOutboundIP, mockOutboundIP},
		"dtbt-fwrfec5":       {"203.0.113.7", "203.0.113.7"},
		"dtbt-fwr140c":       {"198.51.100.20", "198.51.100.20"},
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("firewall rules (-want +got):\n%s", diff)
	}
	if got := at(t, m.one(t, postgresServerType).Inputs, "network"); !cmp.Equal(got, map[string]any{"publicNetworkAccess": "Enabled"}) {
		t.Errorf("server network = %v, want the public endpoint behind the firewall", got)
	}
	subnets := at(t, m.one(t, virtualNetworkType).Inputs, "subnets").([]any)
	if len(subnets) != 1 || at(t, subnets[0], "natGateway.id") != "nat-id" {
		t.Errorf("subnets = %v, want only apps, going out through the NAT gateway", subnets)
	}
	if got := at(t, m.one(t, natGatewayType).Inputs, "publicIpAddresses"); !cmp.Equal(got, []any{map[string]any{"id": "outbound-ip-id"}}) {
		t.Errorf("NAT gateway addresses = %v, want the static outbound IP", got)
	}
	if got := at(t, m.one(t, publicIPAddressType).Inputs, "publicIPAllocationMethod"); got != "Static" {
		t.Errorf("outbound IP allocation = %v, want Static", got)
	}
	if exports["outbound_ip"] != mockOutboundIP {
		t.Errorf("outbound_ip = %q, want %q", exports["outbound_ip"], mockOutboundIP)
	}
}

// TestDeployNeverAllAzure checks that no configuration opens the server to every Azure
// customer (the 0.0.0.0 rule) or to any range wider than one address.
func TestDeployNeverAllAzure(t *testing.T) {
	for _, cfg := range []Config{testConfig(), firewallConfig()} {
		m, _ := runDeploy(t, cfg)
		for _, r := range m.byType(postgresFirewallRuleType) {
			start, end := at(t, r.Inputs, "startIpAddress"), at(t, r.Inputs, "endIpAddress")
			if start == "0.0.0.0" || end == "0.0.0.0" || start != end {
				t.Errorf("%s firewall rule %s admits %v–%v", cfg.Postgres.Access, r.Name, start, end)
			}
		}
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
		map[string]any{"name": "DT_SECRET_KEY", "secretRef": "secret-key"},
		map[string]any{"name": "DT_DEFAULT_USER_PASS", "secretRef": "default-user-pass"},
		map[string]any{"name": "DT_DB_MAX_CONNS", "value": "6"},
		map[string]any{"name": "DT_DB_CONN_MAX_LIFETIME_SECONDS", "value": "1800"},
	}
	if diff := cmp.Diff(wantEnv, at(t, container, "env")); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
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

// secretsByName returns the Container App's secrets by name, and whether each is a secret.
func secretsByName(t *testing.T, capp map[string]any) (map[string]string, map[string]bool) {
	t.Helper()
	values, secret := map[string]string{}, map[string]bool{}
	for i, s := range at(t, capp, "configuration.secrets").([]any) {
		name := at(t, s, "name").(string)
		values[name] = at(t, s, "value").(string)
		secret[name] = isSecret(t, capp, fmt.Sprintf("configuration.secrets.%d.value", i))
	}
	return values, secret
}

// TestDeployDatabaseURLs checks that the app connects as its own role, not the administrator,
// over TLS verified against the image's CA bundle, and that only the init container gets the
// administrator's URL.
func TestDeployDatabaseURLs(t *testing.T) {
	cfg := testConfig()
	m, _ := runDeploy(t, cfg)
	capp := m.one(t, containerAppType).Inputs
	values, secret := secretsByName(t, capp)

	const host = "dtbt-postgresql.postgres.database.azure.com:5432"
	for _, tc := range []struct{ secret, user, password string }{
		{"database-url", "dtbase_app", "generated-database-app-password"},
		{"database-admin-url", "dbadmin", cfg.SQLServerPassword},
	} {
		if !secret[tc.secret] {
			t.Errorf("%s is not a secret", tc.secret)
		}
		u, err := url.Parse(values[tc.secret])
		if err != nil {
			t.Fatalf("%s does not parse: %v", tc.secret, err)
		}
		// The app must get the password back intact from the URL, whatever it contains.
		if pw, _ := u.User.Password(); u.User.Username() != tc.user || pw != tc.password {
			t.Errorf("%s credentials = %q/%q, want %s/%q", tc.secret, u.User.Username(), pw, tc.user, tc.password)
		}
		if u.Host != host || u.Path != "/dtdb" {
			t.Errorf("%s names %s%s, want %s/dtdb", tc.secret, u.Host, u.Path, host)
		}
		if diff := cmp.Diff(url.Values{"sslmode": {"verify-full"}, "sslrootcert": {"/etc/ssl/certs/ca-certificates.crt"}}, u.Query()); diff != "" {
			t.Errorf("%s TLS parameters (-want +got):\n%s", tc.secret, diff)
		}
	}

	// Which container sees which database secret.
	refs := func(container any) map[string]string {
		got := map[string]string{}
		for _, e := range at(t, container, "env").([]any) {
			if ref, ok := e.(map[string]any)["secretRef"]; ok {
				got[at(t, e, "name").(string)] = ref.(string)
			}
		}
		return got
	}
	app := refs(at(t, capp, "template.containers.0"))
	if app["DT_DATABASE_URL"] != "database-url" {
		t.Errorf("app DT_DATABASE_URL = %q, want the app role's URL", app["DT_DATABASE_URL"])
	}
	for name, ref := range app {
		if ref == "database-admin-url" || ref == "database-app-password" {
			t.Errorf("the app container gets %s from %s", name, ref)
		}
	}
	initC := at(t, capp, "template.initContainers.0")
	if got := at(t, initC, "args"); !cmp.Equal(got, []any{"db-init"}) || at(t, initC, "image") != cfg.Image {
		t.Errorf("init container runs %v %v, want %s db-init", at(t, initC, "image"), got, cfg.Image)
	}
	wantInit := []any{
		map[string]any{"name": "DT_DATABASE_URL", "secretRef": "database-admin-url"},
		map[string]any{"name": "DT_DB_APP_ROLE", "value": "dtbase_app"},
		map[string]any{"name": "DT_DB_APP_PASSWORD", "secretRef": "database-app-password"},
	}
	if diff := cmp.Diff(wantInit, at(t, initC, "env")); diff != "" {
		t.Errorf("init container env (-want +got):\n%s", diff)
	}
}

// TestDeployGeneratedSecrets checks that the token and sealing keys, and the app role's
// password, are RandomPasswords that reach the app only as Container App secrets.
func TestDeployGeneratedSecrets(t *testing.T) {
	m, _ := runDeploy(t, testConfig())
	for _, r := range m.byType(randomPasswordType) {
		length := map[string]float64{"jwt-secret-key": 48, "secret-key": 48, "database-app-password": 32}[r.Name]
		if diff := cmp.Diff(map[string]any{"length": length, "special": false}, r.Inputs); diff != "" {
			t.Errorf("RandomPassword %s (-want +got):\n%s", r.Name, diff)
		}
	}
	values, secret := secretsByName(t, m.one(t, containerAppType).Inputs)
	for _, name := range []string{"jwt-secret-key", "secret-key", "database-app-password"} {
		if values[name] != "generated-"+name || !secret[name] {
			t.Errorf("Container App secret %s = %q (secret: %v), want the generated password as a secret", name, values[name], secret[name])
		}
	}
	if values["default-user-pass"] != "default-user-secret" || !secret["default-user-pass"] {
		t.Errorf("default-user-pass = %q (secret: %v)", values["default-user-pass"], secret["default-user-pass"])
	}
}

// TestDeployPoolSize checks DT_DB_MAX_CONNS for the default size and a larger one: every
// replica of both revisions during a change, plus Azure's reserve and the headroom, fits in the
// server's max_connections.
func TestDeployPoolSize(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sku            string
		min, max, want int
	}{
		{"default B1ms 1..3", "Standard_B1ms", 1, 3, 6},
		{"B2s 2..10", "Standard_B2s", 2, 10, 33},
		{"D4ds_v5 2..20, capped", "Standard_D4ds_v5", 2, 20, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Postgres.SKU, cfg.MinReplicas, cfg.MaxReplicas = tc.sku, tc.min, tc.max
			m, exports := runDeploy(t, cfg)
			var got string
			for _, e := range at(t, m.one(t, containerAppType).Inputs, "template.containers.0.env").([]any) {
				if at(t, e, "name") == "DT_DB_MAX_CONNS" {
					got = at(t, e, "value").(string)
				}
			}
			if got != fmt.Sprint(tc.want) || exports["db_max_conns_per_replica"] != got {
				t.Errorf("DT_DB_MAX_CONNS = %q (export %q), want %d", got, exports["db_max_conns_per_replica"], tc.want)
			}
			if used := tc.want*(tc.min+tc.max) + azureReservedConns + headroomConns; used > postgresMaxConnections[tc.sku] {
				t.Errorf("%d connections at most, over %s's %d", used, tc.sku, postgresMaxConnections[tc.sku])
			}
		})
	}
}

func TestDeployReplicas(t *testing.T) {
	for _, tc := range []struct{ min, max int }{{1, 3}, {0, 1}, {1, 6}} {
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
	for _, cfg := range []Config{testConfig(), firewallConfig()} {
		cfg.Registry = &Registry{Server: "ghcr.io", Username: "bot", Password: "registry-token-secret"}
		m, _ := runDeploy(t, cfg)
		secrets := []string{cfg.SQLServerPassword, url.PathEscape(cfg.SQLServerPassword), cfg.DefaultUserPassword, cfg.Registry.Password,
			"workspace-shared-key", "generated-jwt-secret-key", "generated-secret-key", "generated-database-app-password"}

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
		env := m.one(t, managedEnvironmentType).Inputs
		const keyPath = "appLogsConfiguration.logAnalyticsConfiguration.sharedKey"
		if got := at(t, env, keyPath); got != "workspace-shared-key" || !isSecret(t, env, keyPath) {
			t.Errorf("sharedKey = %#v (secret: %v), want the workspace key as a secret", got, isSecret(t, env, keyPath))
		}
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
		values, secret := secretsByName(t, capp)
		if values["registry-password"] != "registry-token-secret" || !secret["registry-password"] {
			t.Errorf("registry secret = %q (secret: %v), want registry-password as a secret", values["registry-password"], secret["registry-password"])
		}
	})
}
