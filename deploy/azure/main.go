// Command azure is the Pulumi program that deploys dtbase to Azure: the dtbase container on Azure
// Container Apps, backed by an Azure Database for PostgreSQL Flexible Server. README.md says how
// to run it.
package main

import (
	"fmt"
	"net/url"

	app "github.com/pulumi/pulumi-azure-native-sdk/app/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/operationalinsights/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// Fixed values of the deployment, as in the original.
const (
	appPort = 5000
	dbAdmin = "dbadmin"
	dbName  = "dtdb"
	// postgresPort is the server's direct port. The scheduler's leader election holds a
	// session-level advisory lock, which a transaction pooler (PgBouncer, on 6432) would break.
	postgresPort = 5432
	// allowAzureRule is the name Azure's portal gives the rule that lets Azure services in.
	allowAzureRule = "AllowAllAzureServicesAndResourcesWithinAzureIps"
)

// Names of the Container App secrets that the environment variables refer to.
const (
	secretDatabaseURL      = "database-url"
	secretJWTKey           = "jwt-secret-key"
	secretDefaultUserPass  = "default-user-pass"
	secretRegistryPassword = "registry-password"
)

// deploy declares every resource of a dtbase stack and exports backend_endpoint, the app's
// https URL, and postgres_fqdn, the database server's host name. cfg must have passed
// validation (see loadConfig).
func deploy(ctx *pulumi.Context, cfg Config) error {
	rg, err := resources.NewResourceGroup(ctx, "rg", &resources.ResourceGroupArgs{
		ResourceGroupName: pulumi.String(cfg.Prefix + "-rg"),
		Location:          pulumi.String(cfg.Location),
	})
	if err != nil {
		return err
	}

	env, err := newEnvironment(ctx, cfg, rg)
	if err != nil {
		return err
	}
	db, err := newDatabase(ctx, cfg, rg)
	if err != nil {
		return err
	}
	backend, err := newBackend(ctx, cfg, rg, env, db)
	if err != nil {
		return err
	}

	// The app's configuration holds secrets, so Pulumi keeps all of it secret, the host name
	// included; the host name is public, and a secret endpoint would print as [secret].
	fqdn := pulumi.Unsecret(backend.Configuration.Ingress().Fqdn().Elem()).(pulumi.StringOutput)
	ctx.Export("backend_endpoint", pulumi.Sprintf("https://%s", fqdn))
	ctx.Export("postgres_fqdn", db.server.FullyQualifiedDomainName)
	return nil
}

// newEnvironment creates the Container Apps environment, which sends the apps' logs to a new
// Log Analytics workspace.
func newEnvironment(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup) (*app.ManagedEnvironment, error) {
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
		AppLogsConfiguration: &app.AppLogsConfigurationArgs{
			Destination: pulumi.String("log-analytics"),
			LogAnalyticsConfiguration: &app.LogAnalyticsConfigurationArgs{
				CustomerId: logs.CustomerId,
				// The key grants write access to the workspace; keep it out of the state in clear.
				SharedKey: pulumi.ToSecret(keys.PrimarySharedKey()).(pulumi.StringPtrOutput),
			},
		},
	})
}

// database is the PostgreSQL server with the dtbase database, reachable once ready is.
type database struct {
	server *PostgresServer
	// ready is the last resource to wait for before connecting: the database exists and the
	// firewall lets the app in.
	ready pulumi.Resource
}

// newDatabase creates the PostgreSQL server (the original's size: Burstable B1ms, 32 GB, 14 days
// of backups), the dtdb database and the firewall rules.
func newDatabase(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup) (database, error) {
	server, err := NewPostgresServer(ctx, "postgresql", &PostgresServerArgs{
		ResourceGroupName:          rg.Name,
		ServerName:                 pulumi.String(cfg.Prefix + "-postgresql"),
		Location:                   rg.Location,
		AdministratorLogin:         pulumi.String(dbAdmin),
		AdministratorLoginPassword: pulumi.String(cfg.SQLServerPassword),
		Version:                    pulumi.String("16"),
		CreateMode:                 pulumi.String("Default"),
		AvailabilityZone:           pulumi.String("1"),
		Sku:                        &PostgresSku{Name: "Standard_B1ms", Tier: "Burstable"},
		Storage:                    &PostgresStorage{StorageSizeGB: 32},
		Backup:                     &PostgresBackup{BackupRetentionDays: 14, GeoRedundantBackup: "Disabled"},
	})
	if err != nil {
		return database{}, err
	}
	db, err := NewPostgresDatabase(ctx, "database", &PostgresDatabaseArgs{
		ResourceGroupName: rg.Name,
		ServerName:        server.Name,
		DatabaseName:      pulumi.String(dbName),
		Charset:           pulumi.String("UTF8"),
		Collation:         pulumi.String("en_US.utf8"),
	})
	if err != nil {
		return database{}, err
	}

	// Container Apps on the consumption plan have no fixed outbound address, so the app gets in
	// through the "Azure services" rule (0.0.0.0). The original instead added a rule per outbound
	// IP of its Web App, inside an apply that `pulumi preview` could not show.
	type rule struct{ resourceName, ruleName, ip string }
	rules := []rule{{"allow-azure-services", allowAzureRule, "0.0.0.0"}}
	for _, ip := range cfg.PostgresAllowedIPs {
		name := firewallRuleName(cfg.Prefix, ip)
		rules = append(rules, rule{name, name, ip})
	}
	// A Flexible Server may refuse an operation while another one runs on it, so the rules are
	// created one after another.
	prev := pulumi.Resource(db)
	for _, r := range rules {
		fw, err := NewPostgresFirewallRule(ctx, r.resourceName, &PostgresFirewallRuleArgs{
			ResourceGroupName: rg.Name,
			ServerName:        server.Name,
			FirewallRuleName:  pulumi.String(r.ruleName),
			StartIpAddress:    pulumi.String(r.ip),
			EndIpAddress:      pulumi.String(r.ip),
		}, pulumi.DependsOn([]pulumi.Resource{prev}))
		if err != nil {
			return database{}, err
		}
		prev = fw
	}
	return database{server: server, ready: prev}, nil
}

// newBackend creates the Container App that runs dtbase. Every credential reaches the container
// as a Container App secret referenced by an environment variable, never as a plain value.
func newBackend(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup, env *app.ManagedEnvironment, db database) (*app.ContainerApp, error) {
	dbURL := pulumi.ToSecret(pulumi.All(db.server.FullyQualifiedDomainName, pulumi.ToSecret(pulumi.String(cfg.SQLServerPassword))).ApplyT(
		func(v []any) string { return databaseURL(v[0].(string), v[1].(string)) },
	)).(pulumi.StringOutput)

	secrets := app.SecretArray{
		app.SecretArgs{Name: pulumi.String(secretDatabaseURL), Value: dbURL},
		app.SecretArgs{Name: pulumi.String(secretJWTKey), Value: secret(cfg.JWTSecretKey)},
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

	return app.NewContainerApp(ctx, "backend", &app.ContainerAppArgs{
		ResourceGroupName: rg.Name,
		ContainerAppName:  pulumi.String(cfg.Prefix + "-backend"),
		Location:          rg.Location,
		EnvironmentId:     env.ID(),
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
						app.EnvironmentVarArgs{Name: pulumi.String("DT_LISTEN_ADDR"), Value: pulumi.String(fmt.Sprintf(":%d", appPort))},
						app.EnvironmentVarArgs{Name: pulumi.String("DT_DATABASE_URL"), SecretRef: pulumi.String(secretDatabaseURL)},
						app.EnvironmentVarArgs{Name: pulumi.String("DT_JWT_SECRET_KEY"), SecretRef: pulumi.String(secretJWTKey)},
						app.EnvironmentVarArgs{Name: pulumi.String("DT_DEFAULT_USER_PASS"), SecretRef: pulumi.String(secretDefaultUserPass)},
					},
					Probes: probes(),
				},
			},
			Scale: &app.ScaleArgs{
				MinReplicas: pulumi.Int(cfg.MinReplicas),
				MaxReplicas: pulumi.Int(cfg.MaxReplicas),
				Rules: app.ScaleRuleArray{
					// One Go process serves many requests at once; the B1ms database, not the
					// app's CPU, is what limits a replica, so scale out late.
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

// databaseURL is the DT_DATABASE_URL of the app: the administrator on the direct port, TLS
// required (Azure refuses plain connections).
func databaseURL(host, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(dbAdmin, password),
		Host:     fmt.Sprintf("%s:%d", host, postgresPort),
		Path:     "/" + dbName,
		RawQuery: "sslmode=require",
	}
	return u.String()
}

// secret wraps a configuration secret so Pulumi encrypts it in the state and masks it in output.
func secret(s string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s)).(pulumi.StringOutput)
}
