package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// mocks stands in for the Pulumi engine and the azure-native provider: it records every resource
// the program registers and answers with its inputs plus the outputs Azure would compute.
type mocks struct {
	mu        sync.Mutex
	resources []mockResource
}

// mockResource is one registered resource, its inputs turned into plain Go values (see plain).
type mockResource struct {
	Type, Name string
	Inputs     map[string]any
	// Protect and RetainOnDelete are the resource options of the same names.
	Protect, RetainOnDelete bool
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	m.resources = append(m.resources, mockResource{
		Type: args.TypeToken, Name: args.Name,
		Inputs:  plain(resource.NewObjectProperty(args.Inputs)).(map[string]any),
		Protect: args.RegisterRPC.GetProtect(), RetainOnDelete: args.RegisterRPC.GetRetainOnDelete(),
	})
	m.mu.Unlock()

	out := args.Inputs.Copy()
	setName := func(key string) { out["name"] = args.Inputs[resource.PropertyKey(key)] }
	switch args.TypeToken {
	case "azure-native:resources:ResourceGroup":
		setName("resourceGroupName")
	case "azure-native:operationalinsights:Workspace":
		setName("workspaceName")
		out["customerId"] = resource.NewStringProperty("customer-id")
	case managedEnvironmentType:
		setName("environmentName")
	case postgresServerType:
		setName("serverName")
		out["fullyQualifiedDomainName"] = resource.NewStringProperty(args.Inputs["serverName"].StringValue() + ".postgres.database.azure.com")
	case postgresDatabaseType:
		setName("databaseName")
	case postgresFirewallRuleType:
		setName("firewallRuleName")
	case virtualNetworkType:
		setName("virtualNetworkName")
	case privateZoneType:
		setName("privateZoneName")
	case virtualNetworkLinkType:
		setName("virtualNetworkLinkName")
	case natGatewayType:
		setName("natGatewayName")
	case publicIPAddressType:
		setName("publicIpAddressName")
		out["ipAddress"] = resource.NewStringProperty(mockOutboundIP)
	case randomPasswordType:
		// The engine returns a generated password as a secret.
		out["result"] = resource.MakeSecret(resource.NewStringProperty("generated-" + args.Name))
	case containerAppType:
		setName("containerAppName")
		// The configuration holds secrets, so the SDK sends all of it as one secret, and the
		// engine returns the output of the same name as a secret too.
		conf := args.Inputs["configuration"].SecretValue().Element.ObjectValue().Copy()
		ingress := conf["ingress"].ObjectValue().Copy()
		ingress["fqdn"] = resource.NewStringProperty(args.Inputs["containerAppName"].StringValue() + ".example.uksouth.azurecontainerapps.io")
		conf["ingress"] = resource.NewObjectProperty(ingress)
		out["configuration"] = resource.MakeSecret(resource.NewObjectProperty(conf))
	}
	return args.Name + "-id", out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "azure-native:operationalinsights:getSharedKeys" {
		return resource.PropertyMap{"primarySharedKey": resource.NewStringProperty("workspace-shared-key")}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// Type tokens of the generated SDK resources, and the address the mock gives a public IP.
const (
	managedEnvironmentType = "azure-native:app/v20240301:ManagedEnvironment"
	containerAppType       = "azure-native:app/v20240301:ContainerApp"
	randomPasswordType     = "random:index/randomPassword:RandomPassword"
	mockOutboundIP         = "198.51.100.77"
)

// byType returns the recorded resources of one type, in registration order.
func (m *mocks) byType(typ string) []mockResource {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rs []mockResource
	for _, r := range m.resources {
		if r.Type == typ {
			rs = append(rs, r)
		}
	}
	return rs
}

// one returns the single recorded resource of a type, failing the test if there is not exactly one.
func (m *mocks) one(t *testing.T, typ string) mockResource {
	t.Helper()
	rs := m.byType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

// secretValue marks a value that Pulumi treats as secret.
type secretValue struct{ V any }

// plain turns a property value into plain Go values (map[string]any, []any, string, float64,
// bool, nil) that go-cmp can compare, keeping secrets visible as secretValue.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return secretValue{plain(v.SecretValue().Element)}
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return secretValue{plain(o.Element)}
		}
		return plain(o.Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		a := []any{}
		for _, e := range v.ArrayValue() {
			a = append(a, plain(e))
		}
		return a
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsNull():
		return nil
	}
	return v.String()
}

// at walks a plain value along a dotted path of map keys and list indices, e.g.
// "template.containers.0.image", and returns what it finds with every secretValue removed. It
// fails the test when the path does not exist.
func at(t *testing.T, v any, path string) any {
	t.Helper()
	v, _ = lookup(t, v, path)
	return reveal(v)
}

// isSecret reports whether the value at path is protected as a secret, itself or as part of an
// enclosing secret.
func isSecret(t *testing.T, v any, path string) bool {
	t.Helper()
	_, secret := lookup(t, v, path)
	return secret
}

func lookup(t *testing.T, v any, path string) (_ any, secret bool) {
	t.Helper()
	for p := range strings.SplitSeq(path, ".") {
		if s, ok := v.(secretValue); ok {
			v, secret = s.V, true
		}
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				t.Fatalf("%s: no key %q", path, p)
			}
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				t.Fatalf("%s: no index %q in a list of %d", path, p, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: cannot take %q of %T", path, p, v)
		}
	}
	_, last := v.(secretValue)
	return v, secret || last
}

// reveal returns v with every secretValue replaced by what it holds.
func reveal(v any) any {
	switch x := v.(type) {
	case secretValue:
		return reveal(x.V)
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = reveal(e)
		}
		return m
	case []any:
		a := []any{}
		for _, e := range x {
			a = append(a, reveal(e))
		}
		return a
	}
	return v
}

// runDeploy runs deploy against the mocks and returns them with the stack's exports, which it
// checks are not secret.
func runDeploy(t *testing.T, cfg Config) (*mocks, map[string]string) {
	t.Helper()
	m := &mocks{}
	exports := map[string]string{}
	var mu sync.Mutex
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		if err := deploy(ctx, cfg); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for k, v := range ctx.GetCurrentExportMap() {
			wg.Add(1)
			v.(pulumi.StringOutput).ApplyT(func(s string) string {
				mu.Lock()
				exports[k] = s
				mu.Unlock()
				wg.Done()
				return s
			})
		}
		wg.Wait()
		// Outputs are public addresses: a secret one would print as [secret].
		for k, v := range ctx.GetCurrentExportMap() {
			if pulumi.IsSecret(v.(pulumi.StringOutput)) {
				t.Errorf("export %s is secret", k)
			}
		}
		return nil
	}, pulumi.WithMocks("dtbase", "test", m))
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return m, exports
}

// runLoadConfig runs loadConfig with the given stack configuration (keys without the project
// prefix); keys listed in secret are marked as set with --secret.
func runLoadConfig(t *testing.T, values map[string]string, secret ...string) (Config, error) {
	t.Helper()
	conf := map[string]string{}
	for k, v := range values {
		conf["dtbase:"+k] = v
	}
	var secretKeys []string
	for _, k := range secret {
		secretKeys = append(secretKeys, "dtbase:"+k)
	}
	var cfg Config
	var loadErr error
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, loadErr = loadConfig(ctx)
		return nil
	}, pulumi.WithMocks("dtbase", "test", &mocks{}), func(info *pulumi.RunInfo) {
		info.Config, info.ConfigSecretKeys = conf, secretKeys
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return cfg, loadErr
}
