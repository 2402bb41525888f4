package main

import (
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Address plan of the virtual network. The apps subnet is larger than the /27 minimum of a
// workload-profiles environment so that it has room for many replicas.
const (
	vnetAddressSpace     = "10.40.0.0/16"
	appsSubnetPrefix     = "10.40.0.0/23"
	postgresSubnetPrefix = "10.40.2.0/24"
)

// network is the virtual network the environment (and, with private access, the database
// server) lives in.
type network struct {
	appsSubnetID     pulumi.StringOutput
	postgresSubnetID pulumi.StringOutput // private access only
	dnsZone          *azureResource      // private access only: the server's private DNS zone
	outboundIP       *azureResource      // firewall access only: the apps' static outbound address
	// ready lists what the environment and server must wait for.
	ready []pulumi.Resource
}

// newNetwork creates the virtual network with a subnet delegated to Container Apps and, with
// private access, one delegated to PostgreSQL plus a private DNS zone linked to the network, so
// the server's host name resolves to its private address. With firewall access the apps subnet
// goes out to the internet through a NAT gateway with a static public address instead, which
// the database firewall admits.
func newNetwork(ctx *pulumi.Context, cfg Config, rg *resources.ResourceGroup) (network, error) {
	var n network
	delegation := func(name, service string) pulumi.Array {
		return pulumi.Array{pulumi.Map{"name": pulumi.String(name), "serviceName": pulumi.String(service)}}
	}
	apps := pulumi.Map{
		"name":          pulumi.String("apps"),
		"addressPrefix": pulumi.String(appsSubnetPrefix),
		"delegations":   delegation("apps", "Microsoft.App/environments"),
	}
	subnets := pulumi.Array{apps}

	if cfg.Postgres.Access == accessFirewall {
		ip, err := newAzureResource(ctx, publicIPAddressType, "outbound-ip", pulumi.Map{
			"resourceGroupName":        rg.Name,
			"publicIpAddressName":      pulumi.String(cfg.Prefix + "-outbound-ip"),
			"location":                 rg.Location,
			"sku":                      pulumi.Map{"name": pulumi.String("Standard")},
			"publicIPAllocationMethod": pulumi.String("Static"),
			"publicIPAddressVersion":   pulumi.String("IPv4"),
		}, nil)
		if err != nil {
			return n, err
		}
		nat, err := newAzureResource(ctx, natGatewayType, "nat", pulumi.Map{
			"resourceGroupName": rg.Name,
			"natGatewayName":    pulumi.String(cfg.Prefix + "-nat"),
			"location":          rg.Location,
			"sku":               pulumi.Map{"name": pulumi.String("Standard")},
			"publicIpAddresses": pulumi.Array{pulumi.Map{"id": ip.ID()}},
		}, nil)
		if err != nil {
			return n, err
		}
		apps["natGateway"] = pulumi.Map{"id": nat.ID()}
		n.outboundIP = ip
	} else {
		subnets = append(subnets, pulumi.Map{
			"name":          pulumi.String("postgres"),
			"addressPrefix": pulumi.String(postgresSubnetPrefix),
			"delegations":   delegation("postgres", "Microsoft.DBforPostgreSQL/flexibleServers"),
		})
	}

	vnet, err := newAzureResource(ctx, virtualNetworkType, "vnet", pulumi.Map{
		"resourceGroupName":  rg.Name,
		"virtualNetworkName": pulumi.String(cfg.Prefix + "-vnet"),
		"location":           rg.Location,
		"addressSpace":       pulumi.Map{"addressPrefixes": pulumi.StringArray{pulumi.String(vnetAddressSpace)}},
		"subnets":            subnets,
	}, nil)
	if err != nil {
		return n, err
	}
	subnetID := func(name string) pulumi.StringOutput {
		return pulumi.Sprintf("%s/subnets/%s", vnet.ID(), name)
	}
	n.appsSubnetID = subnetID("apps")
	n.ready = []pulumi.Resource{vnet}
	if cfg.Postgres.Access == accessFirewall {
		return n, nil
	}

	n.postgresSubnetID = subnetID("postgres")
	// Azure requires the zone name to end in .postgres.database.azure.com.
	zone, err := newAzureResource(ctx, privateZoneType, "postgres-dns", pulumi.Map{
		"resourceGroupName": rg.Name,
		"privateZoneName":   pulumi.String(cfg.Prefix + ".private.postgres.database.azure.com"),
		"location":          pulumi.String("Global"),
	}, nil)
	if err != nil {
		return n, err
	}
	link, err := newAzureResource(ctx, virtualNetworkLinkType, "postgres-dns-link", pulumi.Map{
		"resourceGroupName":      rg.Name,
		"privateZoneName":        zone.Name,
		"virtualNetworkLinkName": pulumi.String(cfg.Prefix + "-vnet-link"),
		"location":               pulumi.String("Global"),
		"virtualNetwork":         pulumi.Map{"id": vnet.ID()},
		"registrationEnabled":    pulumi.Bool(false),
	}, nil)
	if err != nil {
		return n, err
	}
	n.dnsZone = zone
	n.ready = append(n.ready, link)
	return n, nil
}
