package demo

import (
	"context"
	"fmt"
	"math"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
)

// Names of the demo's tree and derived measures.
const (
	SiteSchemaName = "crop-site"
	VPDName        = "vpd"
	FarmMeanTemp   = "farm mean temperature"
)

// The site schema: named places with a position on the map.
var siteSchema = dtbase.LocationSchema{
	Name:        SiteSchemaName,
	Description: units("Places of the CROP site, arranged as farm → tunnel → zone; the farm grid's shelves sit under the zones"),
	Identifiers: []dtbase.Identifier{
		{Name: "name", Datatype: dtbase.String},
		{Name: "kind", Datatype: dtbase.String},
		{Name: "latitude", Units: units("degrees"), Datatype: dtbase.Float},
		{Name: "longitude", Units: units("degrees"), Datatype: dtbase.Float},
	},
}

// tunnelOf groups the farm's zones into tunnels (illustrative).
var tunnelOf = map[string]string{
	"Farm1": "Main tunnel", "Farm2": "Main tunnel", "Entrance": "Main tunnel", "Stairs": "Main tunnel", "Lobby": "Main tunnel",
	"Propagation": "Side tunnel", "R&D": "Side tunnel", "Retired": "Side tunnel", "Tunnel7": "Tunnel 7",
}

// The farm lies under Clapham; positions are illustrative, spread so the
// markers can be told apart on a map.
const farmLat, farmLon = 51.4618, -0.1384

// loadTree builds farm → tunnel → zone → shelf over the farm grid's
// locations, and defines the demo's derived measures: VPD per T&RH sensor
// and the mean temperature over the farm.
func loadTree(ctx context.Context, st Store) (int, error) {
	s := siteSchema
	s.Identifiers = append([]dtbase.Identifier(nil), siteSchema.Identifiers...)
	if err := st.CreateLocationSchema(ctx, &s); ignoreConflict(err) != nil {
		return 0, fmt.Errorf("create site schema: %w", err)
	}
	nodes := 0
	place := func(name, kind string, lat, lon float64, parent *int64) (int64, error) {
		round := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
		c := dtbase.Coordinates{"name": dtbase.StringValue(name), "kind": dtbase.StringValue(kind),
			"latitude": dtbase.FloatValue(round(lat)), "longitude": dtbase.FloatValue(round(lon))}
		l, err := st.CreateLocation(ctx, SiteSchemaName, c)
		if dtbase.ErrorCode(err) == dtbase.ECONFLICT {
			var found []dtbase.Location
			if found, err = st.FindLocations(ctx, SiteSchemaName, c); err == nil && len(found) == 1 {
				l = &found[0]
			}
		}
		if err != nil || l == nil {
			return 0, fmt.Errorf("create %s %s: %w", kind, name, err)
		}
		nodes++
		if parent != nil {
			if err := st.SetLocationParent(ctx, l.ID, parent); err != nil {
				return 0, fmt.Errorf("place %s %s: %w", kind, name, err)
			}
		}
		return l.ID, nil
	}
	farm, err := place("Growing Underground", "farm", farmLat, farmLon, nil)
	if err != nil {
		return 0, err
	}
	tunnels := map[string]int64{}
	zones := map[string]int64{}
	grid, err := st.FindLocations(ctx, SchemaName, nil)
	if err != nil {
		return 0, err
	}
	for _, loc := range grid {
		zone := loc.Coordinates()["zone"].S
		tunnel, ok := tunnelOf[zone]
		if !ok {
			tunnel = "Main tunnel"
		}
		tid, ok := tunnels[tunnel]
		if !ok {
			n := float64(len(tunnels))
			if tid, err = place(tunnel, "tunnel", farmLat+0.0008*n, farmLon+0.0012*(n-1), &farm); err != nil {
				return 0, err
			}
			tunnels[tunnel] = tid
		}
		zid, ok := zones[zone]
		if !ok {
			n := float64(len(zones))
			if zid, err = place(zone, "zone", farmLat-0.0006+0.0003*n, farmLon-0.0015+0.0004*n, &tid); err != nil {
				return 0, err
			}
			zones[zone] = zid
		}
		if err := st.SetLocationParent(ctx, loc.ID, &zid); err != nil {
			return 0, fmt.Errorf("place shelf %d: %w", loc.ID, err)
		}
	}
	for _, d := range []*dtbase.DerivedMeasure{
		{Name: VPDName, Units: units("kPa"), Expression: "vpd(temperature, [relative humidity])", SensorType: units(TypeTRH)},
		{Name: FarmMeanTemp, Units: units(UnitsTemp), Expression: "temperature", LocationID: &farm, Aggregate: units("mean")},
	} {
		if err := derive.Define(ctx, st, d); ignoreConflict(err) != nil {
			return 0, fmt.Errorf("define %s: %w", d.Name, err)
		}
	}
	return nodes, nil
}
