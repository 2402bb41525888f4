package main

import (
	"fmt"
	"strings"
)

// Connection budget of the database server; docs/operations.md explains the formula:
//
//	per replica = min(maxConnsPerReplica,
//	                  (max_connections − azureReservedConns − headroomConns) / (max-replicas + min-replicas))
//
// A revision change runs the new revision's replicas (min-replicas at first) beside the old
// one's (up to max-replicas) until the new ones are ready, hence the sum. Each replica's pool
// (DT_DB_MAX_CONNS) holds everything the process opens: requests, migrations and the scheduler's
// lock. The headroom is for what runs outside the pools.
const (
	// azureReservedConns are the connections Azure keeps for its own superuser and replication.
	azureReservedConns = 15
	// headroomConns: an operator's psql or pg_dump (5), the db-init step of replicas starting at
	// once (3), and a spare (2).
	headroomConns = 10
	// minConnsPerReplica: the scheduler leader's lock connection plus two for requests.
	minConnsPerReplica = 3
	// maxConnsPerReplica: more than a 0.5-CPU replica can use; the rest stays free for growth.
	maxConnsPerReplica = 50
)

// postgresMaxConnections is the default max_connections of each Flexible Server size, from
// Azure's "Limits in Azure Database for PostgreSQL flexible server" page (it grows with memory).
var postgresMaxConnections = map[string]int{
	"Standard_B1ms": 50, "Standard_B2s": 429, "Standard_B2ms": 859, "Standard_B4ms": 1719,
	"Standard_B8ms": 3438, "Standard_B12ms": 5000, "Standard_B16ms": 5000, "Standard_B20ms": 5000,

	"Standard_D2s_v3": 859, "Standard_D4s_v3": 1719, "Standard_D8s_v3": 3438, "Standard_D16s_v3": 5000,
	"Standard_D2ds_v4": 859, "Standard_D4ds_v4": 1719, "Standard_D8ds_v4": 3438, "Standard_D16ds_v4": 5000,
	"Standard_D2ds_v5": 859, "Standard_D4ds_v5": 1719, "Standard_D8ds_v5": 3438, "Standard_D16ds_v5": 5000,
	"Standard_D2ads_v5": 859, "Standard_D4ads_v5": 1719, "Standard_D8ads_v5": 3438, "Standard_D16ads_v5": 5000,

	"Standard_E2s_v3": 1719, "Standard_E4s_v3": 3438, "Standard_E8s_v3": 5000,
	"Standard_E2ds_v4": 1719, "Standard_E4ds_v4": 3438, "Standard_E8ds_v4": 5000,
	"Standard_E2ds_v5": 1719, "Standard_E4ds_v5": 3438, "Standard_E8ds_v5": 5000,
	"Standard_E2ads_v5": 1719, "Standard_E4ads_v5": 3438, "Standard_E8ads_v5": 5000,
}

// postgresTier returns the compute tier of a Flexible Server size, which its name encodes.
func postgresTier(sku string) (string, bool) {
	switch {
	case strings.HasPrefix(sku, "Standard_B"):
		return "Burstable", true
	case strings.HasPrefix(sku, "Standard_D"):
		return "GeneralPurpose", true
	case strings.HasPrefix(sku, "Standard_E"):
		return "MemoryOptimized", true
	}
	return "", false
}

// connsPerReplica returns DT_DB_MAX_CONNS for each replica, or an error when the server cannot
// give every replica at least minConnsPerReplica.
func (c Config) connsPerReplica() (int, error) {
	limit := c.Postgres.MaxConnections
	if limit == 0 {
		var ok bool
		if limit, ok = postgresMaxConnections[c.Postgres.SKU]; !ok {
			return 0, fmt.Errorf("postgres-sku %s: its connection limit is unknown; set postgres-max-connections to the server's max_connections", c.Postgres.SKU)
		}
	}
	replicas := c.MaxReplicas + c.MinReplicas
	available := limit - azureReservedConns - headroomConns
	if replicas < 1 || available < minConnsPerReplica*replicas {
		return 0, fmt.Errorf("postgres-sku %s allows %d connections: after %d reserved by Azure and %d of headroom, %d cannot give %d connections to each of up to %d replicas (max-replicas %d + min-replicas %d during a revision change); choose a bigger postgres-sku or fewer replicas",
			c.Postgres.SKU, limit, azureReservedConns, headroomConns, max(available, 0), minConnsPerReplica, replicas, c.MaxReplicas, c.MinReplicas)
	}
	return min(available/replicas, maxConnsPerReplica), nil
}
