// Command azure is the Pulumi program that deploys dtbase to Azure: the dtbase container on Azure
// Container Apps (a workload-profiles environment in a virtual network), backed by an Azure
// Database for PostgreSQL Flexible Server reached privately. README.md says how to run it.
package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/pulumi/pulumi-azure-native-sdk/operationalinsights/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	app "github.com/pulumi/pulumi-azure-native-sdk/app/v2/v20240301"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg, err := loadConfig(ctx)
		if err != nil {
			return err
		}
		return deploy(ctx, cfg)
	})
}

// Fixed values of the deployment.
const (
	appPort = 5000
	dbAdmin = "dbadmin"
	// dbAppRole is the role the app connects as: it owns the dtdb database and nothing else.
	dbAppRole = "dtbase_app"
	dbName    = "dtdb"
	// postgresPort is the server's direct port. The scheduler's leader election holds a
	// session-level advisory lock, which a transaction pooler (PgBouncer, on 6432) would break.
	postgresPort = 5432
	// caBundle is the CA certificates file of the image's base (distroless/static), which holds
	// the roots Azure's PostgreSQL certificates chain to (DigiCert Global Root G2, Microsoft RSA
	// Root Certificate Authority 2017).
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
	// workloadProfile is the environment's serverless profile the app runs on.
	workloadProfile = "Consumption"
	// connMaxLifetime (seconds) lets connections rebalance after a failover or scale change.
	connMaxLifetime = 1800
)

// Names of the Container App secrets that the environment variables refer to.
const (
	secretDatabaseURL      = "database-url"
	secretAdminURL         = "database-admin-url"
	secretAppDBPassword    = "database-app-password"
	secretJWTKey           = "jwt-secret-key"
	secretSealKey          = "secret-key"
	secretDefaultUserPass  = "default-user-pass"
	secretRegistryPassword = "registry-password"
)

// deploy declares every resource of a dtbase stack and exports backend_endpoint, the app's
// https URL, postgres_fqdn, the database server's host name, db_max_conns_per_replica, and
// in firewall mode outbound_ip. cfg must have passed validation (see loadConfig).
func deploy(ctx *pulumi.Context, cfg Config) error {
	conns, err := cfg.connsPerReplica()
	if err != nil {
		return err
	}
	rg, err := resources.NewResourceGroup(ctx, "rg", &resources.ResourceGroupArgs{
		ResourceGroupName: pulumi.String(cfg.Prefix + "-rg"),
		Location:          pulumi.String(cfg.Location),
	}, protect(cfg)...)
	if err != nil {
		return err
	}
	net, err := newNetwork(ctx, cfg, rg)
	if err != nil {
		return err
	}
	env, err := newEnvironment(ctx, cfg, rg, net)
	if err != nil {
		return err
	}
	db, err := newDatabase(ctx, cfg, rg, net)
	if err != nil {
		return err
	}
	backend, err := newBackend(ctx, cfg, rg, env, db, conns)
	if err != nil {
		return err
	}

	// The app's configuration holds secrets, so Pulumi keeps all of it secret, the host name
	// included; the host name is public, and a secret endpoint would print as [secret].
	fqdn := pulumi.Unsecret(backend.Configuration.Ingress().Fqdn().Elem()).(pulumi.StringOutput)
	ctx.Export("backend_endpoint", pulumi.Sprintf("https://%s", fqdn))
	ctx.Export("postgres_fqdn", db.server.FullyQualifiedDomainName)
	ctx.Export("db_max_conns_per_replica", pulumi.String(strconv.Itoa(conns)).ToStringOutput())
	if net.outboundIP != nil {
		ctx.Export("outbound_ip", net.outboundIP.IPAddress)
	}
	return nil
}

// protect returns the options that keep data safe from `pulumi destroy` and replacing changes:
// Pulumi refuses to delete a protected resource, and a retained one stays in Azure when Pulumi
// deletes it from the stack.
func protect(cfg Config) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Protect(cfg.Postgres.Protect), pulumi.RetainOnDelete(cfg.Postgres.Protect)}
}

// newEnvironment creates the Container Apps environment: the workload-profiles kind, in the
// virtual network's apps subnet, sending the apps' logs to a new Log Analytics workspace.
func newEnvironment(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup, net network) (*app.ManagedEnvironment, error) {
	logs, err := operationalinsights.NewWorkspace(ctx, "logs", &operationalinsights.WorkspaceArgs{
		ResourceGroupName: rg.Name,
		WorkspaceName:     pulumi.String(cfg.Prefix + "-logs"),
		Location:          rg.Location,
		Sku:               &operationalinsights.WorkspaceSkuArgs{Name: pulumi.String("PerGB2018")},
		RetentionInDays:   pulumi.Int(30),
	})
	if err != nil {
		return nil, err
	}
	keys := operationalinsights.GetSharedKeysOutput(ctx, operationalinsights.GetSharedKeysOutputArgs{
		ResourceGroupName: rg.Name,
		WorkspaceName:     logs.Name,
	})
	return app.NewManagedEnvironment(ctx, "env", &app.ManagedEnvironmentArgs{
		ResourceGroupName: rg.Name,
		EnvironmentName:   pulumi.String(cfg.Prefix + "-env"),
		Location:          rg.Location,
		WorkloadProfiles: app.WorkloadProfileArray{
			app.WorkloadProfileArgs{Name: pulumi.String(workloadProfile), WorkloadProfileType: pulumi.String(workloadProfile)},
		},
		VnetConfiguration: &app.VnetConfigurationArgs{
			InfrastructureSubnetId: net.appsSubnetID,
			Internal:               pulumi.Bool(false),
		},
		AppLogsConfiguration: &app.AppLogsConfigurationArgs{
			Destination: pulumi.String("log-analytics"),
			LogAnalyticsConfiguration: &app.LogAnalyticsConfigurationArgs{
				CustomerId: logs.CustomerId,
				// The key grants write access to the workspace; keep it out of the state in clear.
				SharedKey: pulumi.ToSecret(keys.PrimarySharedKey()).(pulumi.StringPtrOutput),
			},
		},
	}, pulumi.DependsOn(net.ready))
}

// database is the PostgreSQL server with the dtbase database, reachable once ready is.
type database struct {
	server *azureResource
	// ready is the last resource to wait for before connecting: the database exists and, with
	// firewall access, the firewall lets the app in.
	ready pulumi.Resource
}

// newDatabase creates the PostgreSQL server, the dtdb database and, with firewall access, the
// firewall rules: the environment's outbound address and the configured extra addresses, never
// 0.0.0.0 ("any Azure service", which admits other customers' subscriptions).
func newDatabase(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup, net network) (database, error) {
	p := cfg.Postgres
	tier, _ := postgresTier(p.SKU)
	enabled := func(b bool) pulumi.String {
		if b {
			return "Enabled"
		}
		return "Disabled"
	}
	netArgs := pulumi.Map{"publicNetworkAccess": pulumi.String("Enabled")}
	if p.Access == accessPrivate {
		netArgs = pulumi.Map{
			"publicNetworkAccess":         pulumi.String("Disabled"),
			"delegatedSubnetResourceId":   net.postgresSubnetID,
			"privateDnsZoneArmResourceId": net.dnsZone.ID(),
		}
	}
	args := pulumi.Map{
		"resourceGroupName":          rg.Name,
		"serverName":                 pulumi.String(cfg.Prefix + "-postgresql"),
		"location":                   rg.Location,
		"administratorLogin":         pulumi.String(dbAdmin),
		"administratorLoginPassword": pulumi.String(cfg.SQLServerPassword),
		"version":                    pulumi.String("16"),
		"createMode":                 pulumi.String("Default"),
		"sku":                        pulumi.Map{"name": pulumi.String(p.SKU), "tier": pulumi.String(tier)},
		"storage":                    pulumi.Map{"storageSizeGB": pulumi.Int(p.StorageGB), "autoGrow": enabled(p.AutoGrow)},
		"backup":                     pulumi.Map{"backupRetentionDays": pulumi.Int(p.BackupRetentionDays), "geoRedundantBackup": enabled(p.GeoRedundantBackup)},
		"network":                    netArgs,
		"authConfig":                 pulumi.Map{"passwordAuth": pulumi.String("Enabled"), "activeDirectoryAuth": pulumi.String("Disabled")},
	}
	if p.AvailabilityZone != "" {
		args["availabilityZone"] = pulumi.String(p.AvailabilityZone)
	}
	server, err := newAzureResource(ctx, postgresServerType, "postgresql", args, []string{"administratorLoginPassword"},
		append(protect(cfg), pulumi.DependsOn(net.ready))...)
	if err != nil {
		return database{}, err
	}
	db, err := newAzureResource(ctx, postgresDatabaseType, "database", pulumi.Map{
		"resourceGroupName": rg.Name,
		"serverName":        server.Name,
		"databaseName":      pulumi.String(dbName),
		"charset":           pulumi.String("UTF8"),
		"collation":         pulumi.String("en_US.utf8"),
	}, nil, protect(cfg)...)
	if err != nil {
		return database{}, err
	}
	if p.Access != accessFirewall {
		return database{server: server, ready: db}, nil
	}

	type rule struct {
		name string
		ip   pulumi.StringInput
	}
	rules := []rule{{cfg.Prefix + "-apps-outbound", net.outboundIP.IPAddress}}
	for _, ip := range p.AllowedIPs {
		rules = append(rules, rule{firewallRuleName(cfg.Prefix, ip), pulumi.String(ip)})
	}
	// A Flexible Server may refuse an operation while another one runs on it, so the rules are
	// created one after another.
	prev := pulumi.Resource(db)
	for _, r := range rules {
		fw, err := newAzureResource(ctx, postgresFirewallRuleType, r.name, pulumi.Map{
			"resourceGroupName": rg.Name,
			"serverName":        server.Name,
			"firewallRuleName":  pulumi.String(r.name),
			"startIpAddress":    r.ip,
			"endIpAddress":      r.ip,
		}, nil, pulumi.DependsOn([]pulumi.Resource{prev}))
		if err != nil {
			return database{}, err
		}
		prev = fw
	}
	return database{server: server, ready: prev}, nil
}

// newBackend creates the Container App that runs dtbase. Every credential reaches the container
// as a Container App secret referenced by an environment variable, never as a plain value. An
// init container runs `dtbase db-init` as the server administrator before each replica starts,
// so that the app's own role exists, has the current password and owns the database; the app
// container gets only that role's URL.
func newBackend(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup, env *app.ManagedEnvironment, db database, conns int) (*app.ContainerApp, error) {
	// Random strings without special characters: they go into URLs and environment variables.
	newPassword := func(name string, length int) (pulumi.StringOutput, error) {
		p, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{Length: pulumi.Int(length), Special: pulumi.Bool(false)})
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return p.Result, nil
	}
	appPassword, err := newPassword("database-app-password", 32)
	if err != nil {
		return nil, err
	}
	// 48 letters and digits carry about 285 bits, more than HS256's 256-bit key needs.
	jwtKey, err := newPassword("jwt-secret-key", 48)
	if err != nil {
		return nil, err
	}
	sealKey, err := newPassword("secret-key", 48)
	if err != nil {
		return nil, err
	}
	dbURL := func(user string, password pulumi.StringInput) pulumi.StringOutput {
		return pulumi.ToSecret(pulumi.All(db.server.FullyQualifiedDomainName, password).ApplyT(
			func(v []any) string { return databaseURL(v[0].(string), user, v[1].(string)) },
		)).(pulumi.StringOutput)
	}

	secrets := app.SecretArray{
		app.SecretArgs{Name: pulumi.String(secretDatabaseURL), Value: dbURL(dbAppRole, appPassword)},
		app.SecretArgs{Name: pulumi.String(secretAdminURL), Value: dbURL(dbAdmin, secret(cfg.SQLServerPassword))},
		app.SecretArgs{Name: pulumi.String(secretAppDBPassword), Value: appPassword},
		app.SecretArgs{Name: pulumi.String(secretJWTKey), Value: jwtKey},
		app.SecretArgs{Name: pulumi.String(secretSealKey), Value: sealKey},
		app.SecretArgs{Name: pulumi.String(secretDefaultUserPass), Value: secret(cfg.DefaultUserPassword)},
	}
	var registries app.RegistryCredentialsArray
	if r := cfg.Registry; r != nil {
		secrets = append(secrets, app.SecretArgs{Name: pulumi.String(secretRegistryPassword), Value: secret(r.Password)})
		registries = append(registries, app.RegistryCredentialsArgs{
			Server:            pulumi.String(r.Server),
			Username:          pulumi.String(r.Username),
			PasswordSecretRef: pulumi.String(secretRegistryPassword),
		})
	}
	envVar := func(name, value string) app.EnvironmentVarArgs {
		return app.EnvironmentVarArgs{Name: pulumi.String(name), Value: pulumi.String(value)}
	}
	secretVar := func(name, secret string) app.EnvironmentVarArgs {
		return app.EnvironmentVarArgs{Name: pulumi.String(name), SecretRef: pulumi.String(secret)}
	}

	return app.NewContainerApp(ctx, "backend", &app.ContainerAppArgs{
		ResourceGroupName:   rg.Name,
		ContainerAppName:    pulumi.String(cfg.Prefix + "-backend"),
		Location:            rg.Location,
		EnvironmentId:       env.ID(),
		WorkloadProfileName: pulumi.String(workloadProfile),
		Configuration: &app.ConfigurationArgs{
			ActiveRevisionsMode: pulumi.String("Single"),
			Ingress: &app.IngressArgs{
				External:      pulumi.Bool(true),
				TargetPort:    pulumi.Int(appPort),
				Transport:     pulumi.String("auto"),
				AllowInsecure: pulumi.Bool(false),
				Traffic: app.TrafficWeightArray{
					app.TrafficWeightArgs{LatestRevision: pulumi.Bool(true), Weight: pulumi.Int(100)},
				},
			},
			Secrets:    secrets,
			Registries: registries,
		},
		Template: &app.TemplateArgs{
			InitContainers: app.InitContainerArray{
				app.InitContainerArgs{
					Name:  pulumi.String("db-init"),
					Image: pulumi.String(cfg.Image),
					Args:  pulumi.StringArray{pulumi.String("db-init")},
					// With the app container's 0.5 CPU and 1 GiB, a valid total either way.
					Resources: &app.ContainerResourcesArgs{Cpu: pulumi.Float64(0.25), Memory: pulumi.String("0.5Gi")},
					Env: app.EnvironmentVarArray{
						secretVar("DT_DATABASE_URL", secretAdminURL),
						envVar("DT_DB_APP_ROLE", dbAppRole),
						secretVar("DT_DB_APP_PASSWORD", secretAppDBPassword),
					},
				},
			},
			Containers: app.ContainerArray{
				app.ContainerArgs{
					Name:  pulumi.String("dtbase"),
					Image: pulumi.String(cfg.Image),
					Args:  pulumi.StringArray{pulumi.String("serve")},
					Resources: &app.ContainerResourcesArgs{
						Cpu:    pulumi.Float64(0.5),
						Memory: pulumi.String("1Gi"),
					},
					Env: app.EnvironmentVarArray{
						envVar("DT_LISTEN_ADDR", fmt.Sprintf(":%d", appPort)),
						secretVar("DT_DATABASE_URL", secretDatabaseURL),
						secretVar("DT_JWT_SECRET_KEY", secretJWTKey),
						secretVar("DT_SECRET_KEY", secretSealKey),
						secretVar("DT_DEFAULT_USER_PASS", secretDefaultUserPass),
						envVar("DT_DB_MAX_CONNS", strconv.Itoa(conns)),
						envVar("DT_DB_CONN_MAX_LIFETIME_SECONDS", strconv.Itoa(connMaxLifetime)),
					},
					Probes: probes(),
				},
			},
			Scale: &app.ScaleArgs{
				MinReplicas: pulumi.Int(cfg.MinReplicas),
				MaxReplicas: pulumi.Int(cfg.MaxReplicas),
				Rules: app.ScaleRuleArray{
					// One Go process serves many requests at once; the database, not the app's
					// CPU, is what limits a replica, so scale out late.
					app.ScaleRuleArgs{
						Name: pulumi.String("http"),
						Http: &app.HttpScaleRuleArgs{Metadata: pulumi.StringMap{"concurrentRequests": pulumi.String("50")}},
					},
				},
			},
		},
	}, pulumi.DependsOn([]pulumi.Resource{db.ready}))
}

// probes returns the container's health checks. The startup probe gives `dtbase serve` 100
// seconds to apply migrations before liveness checks may restart it; readiness takes a replica
// out of the load balancer while it cannot reach the database. Azure allows at most 10 failures
// and 240 seconds for period and timeout.
func probes() app.ContainerAppProbeArray {
	probe := func(kind, path string, period, timeout, failures int) app.ContainerAppProbeArgs {
		return app.ContainerAppProbeArgs{
			Type:             pulumi.String(kind),
			HttpGet:          &app.ContainerAppProbeHttpGetArgs{Path: pulumi.String(path), Port: pulumi.Int(appPort)},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(timeout),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	return app.ContainerAppProbeArray{
		probe("Startup", "/healthz", 10, 3, 10),
		probe("Liveness", "/healthz", 10, 3, 3),
		probe("Readiness", "/readyz", 5, 5, 3),
	}
}

// databaseURL is a DT_DATABASE_URL on the server's direct port, with TLS verified against the
// image's CA bundle and the server's host name (sslmode=require would accept any certificate).
func databaseURL(host, user, password string) string {
	q := url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caBundle}}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     fmt.Sprintf("%s:%d", host, postgresPort),
		Path:     "/" + dbName,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// secret wraps a configuration secret so Pulumi encrypts it in the state and masks it in output.
func secret(s string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s)).(pulumi.StringOutput)
}
