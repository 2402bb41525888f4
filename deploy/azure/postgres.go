package main

// The azure-native SDK module for PostgreSQL (dbforpostgresql) is not served by the module proxy we
// build from, so this file declares the three resources we need the way the generated SDK does: a
// resource struct with typed outputs, an args struct of inputs, and a plain struct that carries the
// wire names. The provider plugin is the same azure-native 2.90.0 that the other modules use; only
// the Go types are ours. Only the properties this program sets are declared.

import (
	"errors"
	"reflect"

	"github.com/pulumi/pulumi-azure-native-sdk/v2/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Type tokens of the Flexible Server resources. The unversioned tokens of azure-native v2 use the
// Flexible Server API (2022-12-01). If Azure ever refuses version 16 under that API, a versioned
// token such as "azure-native:dbforpostgresql/v20240801:Server" selects a newer API with the same
// properties.
const (
	postgresServerType       = "azure-native:dbforpostgresql:Server"
	postgresDatabaseType     = "azure-native:dbforpostgresql:Database"
	postgresFirewallRuleType = "azure-native:dbforpostgresql:FirewallRule"
)

// PostgresServer is an Azure Database for PostgreSQL Flexible Server.
type PostgresServer struct {
	pulumi.CustomResourceState

	// FullyQualifiedDomainName is the host name clients connect to.
	FullyQualifiedDomainName pulumi.StringOutput `pulumi:"fullyQualifiedDomainName"`
	// Name is the server name, the first label of its host name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// PostgresServerArgs are the inputs of a PostgresServer. ResourceGroupName and ServerName are
// required. The nested settings are plain values because this program fixes them.
type PostgresServerArgs struct {
	ResourceGroupName          pulumi.StringInput
	ServerName                 pulumi.StringInput
	Location                   pulumi.StringPtrInput
	AdministratorLogin         pulumi.StringPtrInput
	AdministratorLoginPassword pulumi.StringPtrInput
	Version                    pulumi.StringPtrInput
	CreateMode                 pulumi.StringPtrInput
	AvailabilityZone           pulumi.StringPtrInput
	Sku                        *PostgresSku
	Storage                    *PostgresStorage
	Backup                     *PostgresBackup
}

// PostgresSku is the compute tier and size of a server, e.g. Burstable Standard_B1ms.
type PostgresSku struct {
	Name string `pulumi:"name"`
	Tier string `pulumi:"tier"`
}

// PostgresStorage is the size of a server's disk.
type PostgresStorage struct {
	StorageSizeGB int `pulumi:"storageSizeGB"`
}

// PostgresBackup is a server's backup policy.
type PostgresBackup struct {
	BackupRetentionDays int    `pulumi:"backupRetentionDays"`
	GeoRedundantBackup  string `pulumi:"geoRedundantBackup"`
}

type postgresServerArgs struct {
	ResourceGroupName          string           `pulumi:"resourceGroupName"`
	ServerName                 string           `pulumi:"serverName"`
	Location                   *string          `pulumi:"location"`
	AdministratorLogin         *string          `pulumi:"administratorLogin"`
	AdministratorLoginPassword *string          `pulumi:"administratorLoginPassword"`
	Version                    *string          `pulumi:"version"`
	CreateMode                 *string          `pulumi:"createMode"`
	AvailabilityZone           *string          `pulumi:"availabilityZone"`
	Sku                        *PostgresSku     `pulumi:"sku"`
	Storage                    *PostgresStorage `pulumi:"storage"`
	Backup                     *PostgresBackup  `pulumi:"backup"`
}

// ElementType tells the Pulumi SDK which plain struct, and so which wire names, the args map to.
func (PostgresServerArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*postgresServerArgs)(nil)).Elem()
}

// NewPostgresServer registers a Flexible Server. The administrator password is always sent and
// stored as a secret, whatever the caller passed.
func NewPostgresServer(ctx *pulumi.Context, name string, args *PostgresServerArgs, opts ...pulumi.ResourceOption) (*PostgresServer, error) {
	if args == nil || args.ResourceGroupName == nil || args.ServerName == nil {
		return nil, errors.New("postgres server: ResourceGroupName and ServerName are required")
	}
	if args.AdministratorLoginPassword != nil {
		args.AdministratorLoginPassword = pulumi.ToSecret(args.AdministratorLoginPassword).(pulumi.StringPtrInput)
	}
	opts = append(opts, pulumi.AdditionalSecretOutputs([]string{"administratorLoginPassword"}))
	var r PostgresServer
	if err := ctx.RegisterResource(postgresServerType, name, args, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}

// PostgresDatabase is a database on a Flexible Server.
type PostgresDatabase struct {
	pulumi.CustomResourceState

	// Name is the database name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// PostgresDatabaseArgs are the inputs of a PostgresDatabase; the three names are required.
type PostgresDatabaseArgs struct {
	ResourceGroupName pulumi.StringInput
	ServerName        pulumi.StringInput
	DatabaseName      pulumi.StringInput
	Charset           pulumi.StringPtrInput
	Collation         pulumi.StringPtrInput
}

type postgresDatabaseArgs struct {
	ResourceGroupName string  `pulumi:"resourceGroupName"`
	ServerName        string  `pulumi:"serverName"`
	DatabaseName      string  `pulumi:"databaseName"`
	Charset           *string `pulumi:"charset"`
	Collation         *string `pulumi:"collation"`
}

// ElementType tells the Pulumi SDK which plain struct, and so which wire names, the args map to.
func (PostgresDatabaseArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*postgresDatabaseArgs)(nil)).Elem()
}

// NewPostgresDatabase registers a database on a Flexible Server.
func NewPostgresDatabase(ctx *pulumi.Context, name string, args *PostgresDatabaseArgs, opts ...pulumi.ResourceOption) (*PostgresDatabase, error) {
	if args == nil || args.ResourceGroupName == nil || args.ServerName == nil || args.DatabaseName == nil {
		return nil, errors.New("postgres database: ResourceGroupName, ServerName and DatabaseName are required")
	}
	var r PostgresDatabase
	if err := ctx.RegisterResource(postgresDatabaseType, name, args, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}

// PostgresFirewallRule lets one range of IPv4 addresses connect to a Flexible Server. The range
// 0.0.0.0–0.0.0.0 means "any Azure service".
type PostgresFirewallRule struct {
	pulumi.CustomResourceState

	// Name is the rule name.
	Name pulumi.StringOutput `pulumi:"name"`
	// StartIpAddress is the first address of the range.
	StartIpAddress pulumi.StringOutput `pulumi:"startIpAddress"`
	// EndIpAddress is the last address of the range.
	EndIpAddress pulumi.StringOutput `pulumi:"endIpAddress"`
}

// PostgresFirewallRuleArgs are the inputs of a PostgresFirewallRule; all are required.
type PostgresFirewallRuleArgs struct {
	ResourceGroupName pulumi.StringInput
	ServerName        pulumi.StringInput
	FirewallRuleName  pulumi.StringInput
	StartIpAddress    pulumi.StringInput
	EndIpAddress      pulumi.StringInput
}

type postgresFirewallRuleArgs struct {
	ResourceGroupName string `pulumi:"resourceGroupName"`
	ServerName        string `pulumi:"serverName"`
	FirewallRuleName  string `pulumi:"firewallRuleName"`
	StartIpAddress    string `pulumi:"startIpAddress"`
	EndIpAddress      string `pulumi:"endIpAddress"`
}

// ElementType tells the Pulumi SDK which plain struct, and so which wire names, the args map to.
func (PostgresFirewallRuleArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*postgresFirewallRuleArgs)(nil)).Elem()
}

// NewPostgresFirewallRule registers a firewall rule on a Flexible Server.
func NewPostgresFirewallRule(ctx *pulumi.Context, name string, args *PostgresFirewallRuleArgs, opts ...pulumi.ResourceOption) (*PostgresFirewallRule, error) {
	if args == nil || args.ResourceGroupName == nil || args.ServerName == nil || args.FirewallRuleName == nil ||
		args.StartIpAddress == nil || args.EndIpAddress == nil {
		return nil, errors.New("postgres firewall rule: all arguments are required")
	}
	var r PostgresFirewallRule
	if err := ctx.RegisterResource(postgresFirewallRuleType, name, args, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}
