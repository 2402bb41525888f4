package main

// The azure-native SDK modules for PostgreSQL (dbforpostgresql) and networking are not in this
// program's go.mod: the first is not served by the module proxy we build from, the second is
// very large to compile. Their resources are registered here by type token, with their inputs
// as a property map, as the generated SDK would send them; the provider plugin is the same
// azure-native version the other modules use. The tests check these inputs.

import (
	"github.com/pulumi/pulumi-azure-native-sdk/v2/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Type tokens. The PostgreSQL resources use the pinned 2024-08-01 API, which lists PostgreSQL
// 16 and private access; the unversioned tokens of azure-native v2 use 2022-12-01 (versions 11
// to 14).
const (
	postgresServerType       = "azure-native:dbforpostgresql/v20240801:Server"
	postgresDatabaseType     = "azure-native:dbforpostgresql/v20240801:Database"
	postgresFirewallRuleType = "azure-native:dbforpostgresql/v20240801:FirewallRule"

	virtualNetworkType     = "azure-native:network:VirtualNetwork"
	privateZoneType        = "azure-native:network:PrivateZone"
	virtualNetworkLinkType = "azure-native:network:VirtualNetworkLink"
	publicIPAddressType    = "azure-native:network:PublicIPAddress"
	natGatewayType         = "azure-native:network:NatGateway"
)

// azureResource is a resource registered by type token. Only the outputs this program reads
// are declared; each is set only on the resource types that have it.
type azureResource struct {
	pulumi.CustomResourceState

	// Name is the resource's Azure name.
	Name pulumi.StringOutput `pulumi:"name"`
	// FullyQualifiedDomainName is a PostgreSQL server's host name.
	FullyQualifiedDomainName pulumi.StringOutput `pulumi:"fullyQualifiedDomainName"`
	// IPAddress is a public IP address's address.
	IPAddress pulumi.StringOutput `pulumi:"ipAddress"`
}

// newAzureResource registers a resource of type typ with the given inputs. secretInputs name
// inputs that Pulumi must store and show as secrets.
func newAzureResource(ctx *pulumi.Context, typ, name string, inputs pulumi.Map, secretInputs []string, opts ...pulumi.ResourceOption) (*azureResource, error) {
	for _, k := range secretInputs {
		if v, ok := inputs[k]; ok {
			inputs[k] = pulumi.ToSecret(v)
		}
	}
	if len(secretInputs) > 0 {
		opts = append(opts, pulumi.AdditionalSecretOutputs(secretInputs))
	}
	var r azureResource
	if err := ctx.RegisterResource(typ, name, inputs, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}
