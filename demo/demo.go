// Package demo loads the CROP farm demo: real readings from the Growing
// Underground farm's Aranet sensors (3 days at 10-minute intervals), their
// sensor types, a location schema for the farm and the sensors placed in it.
// Timestamps are shifted so the 3 days end now, and dashboards look live.
package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
)

//go:embed data/*.json data/*.csv
var data embed.FS

// Store is what loading the demo writes to.
type Store interface {
	dtbase.LocationStore
	// derive.Store has the sensors, readings, the location tree and the
	// derived measures.
	derive.Store
	dtbase.SiteStore
}

// Names the demo creates.
const (
	SchemaName  = "crop-farm"
	TypeTRH     = "Aranet T&RH"
	TypeCO2     = "Aranet CO2"
	MeasureTemp = "temperature"
	UnitsTemp   = "°C"
	interval    = 10 * time.Minute
	MeasureRH   = "relative humidity"
	measureCO2  = "co2"
)

func units(s string) *string { return &s }

// The farm schema: the CROP zone/aisle/column/shelf grid, plus x, y, z in
// metres so the web interface can draw the farm in 3D.
var schema = dtbase.LocationSchema{
	Name:        SchemaName,
	Description: units("The CROP underground farm: zone, aisle, column and shelf, with x/y/z positions in metres (illustrative layout)"),
	Identifiers: []dtbase.Identifier{
		{Name: "zone", Datatype: dtbase.String},
		{Name: "aisle", Datatype: dtbase.String},
		{Name: "column", Datatype: dtbase.Integer},
		{Name: "shelf", Datatype: dtbase.Integer},
		{Name: "x", Units: units("m"), Datatype: dtbase.Float},
		{Name: "y", Units: units("m"), Datatype: dtbase.Float},
		{Name: "z", Units: units("m"), Datatype: dtbase.Float},
	},
}

var sensorTypes = []dtbase.SensorType{
	{Name: TypeTRH, Description: units("Aranet wireless ambient temperature and relative humidity sensor"),
		Measures: []dtbase.Measure{
			{Name: MeasureTemp, Units: units(UnitsTemp), Datatype: dtbase.Float},
			{Name: MeasureRH, Units: units("%"), Datatype: dtbase.Float},
		}},
	{Name: TypeCO2, Description: units("Aranet wireless CO2 sensor"),
		Measures: []dtbase.Measure{{Name: measureCO2, Units: units("ppm"), Datatype: dtbase.Float}}},
}

// metricMeasure maps the export's metric names to the demo's measures.
var metricMeasure = map[string]dtbase.Measure{
	"aranet_ambient_temperature": sensorTypes[0].Measures[0],
	"aranet_relative_humidity":   sensorTypes[0].Measures[1],
	"aranet_co2":                 sensorTypes[1].Measures[0],
}

// spot is a position in the farm grid.
type spot struct {
	zone, aisle   string
	column, shelf int
}

// placements says where each device of the export sits. Named devices are
// placed from their names; unnamed ones are spread over the farm (see
// data/README.md).
var placements = map[string]spot{
	// Temperature and humidity.
	"c4:93:00:10:0d:03": {"Farm1", "B", 1, 2},  // Farm_T/RH_1B2
	"c4:93:00:10:09:e5": {"Farm1", "B", 16, 1}, // Farm_T/RH_16B1
	"c4:93:00:10:0d:a2": {"Farm1", "B", 16, 2}, // Farm_T/RH_16B2
	"c4:93:00:10:12:95": {"Farm1", "B", 16, 4}, // Farm_T/RH_16B4
	"c4:93:00:10:12:ab": {"Farm2", "B", 29, 2}, // Farm_T/RH_29B2
	"c4:93:00:10:26:9b": {"R&D", "X", 4, 1},    // R&D_T/RH_4
	"c4:93:00:10:33:30": {"Lobby", "L", 1, 1},  // Lobby1_T/RH_1
	"c4:93:00:10:10:f2": {"Propagation", "P", 1, 1},
	"c4:93:00:10:26:b5": {"Propagation", "P", 2, 1},
	"c4:93:00:10:12:e2": {"Tunnel7", "T", 1, 1}, // Tunnel7_T/RH_1
	"c4:93:00:10:33:16": {"Farm1", "B", 6, 2},
	"c4:93:00:10:33:11": {"Farm1", "A", 15, 4},
	"c4:93:00:10:32:5d": {"Farm1", "B", 20, 4},
	"c4:93:00:10:32:4c": {"Farm1", "B", 20, 2},
	"c4:93:00:10:33:57": {"Farm2", "B", 25, 2},
	"c4:93:00:10:32:69": {"Farm2", "B", 25, 4},
	"c4:93:00:10:32:ff": {"Farm2", "B", 26, 2},
	"c4:93:00:10:32:ba": {"Farm2", "B", 26, 4},
	"c4:93:00:10:33:47": {"Farm2", "B", 27, 2},
	"c4:93:00:10:32:b9": {"Farm2", "B", 27, 4},
	"c4:93:00:10:33:14": {"Farm2", "B", 28, 2},
	"c4:93:00:10:32:b7": {"Farm2", "B", 28, 4},
	"c4:93:00:10:32:7e": {"Farm2", "B", 30, 2},
	"c4:93:00:10:32:56": {"Farm2", "B", 30, 4},
	"c4:93:00:10:33:3a": {"Farm2", "B", 31, 2},
	"c4:93:00:10:33:0e": {"Farm2", "B", 31, 4},
	"c4:93:00:10:33:0b": {"Farm2", "B", 32, 2},
	"c4:93:00:10:32:6a": {"Farm2", "B", 32, 4},
	// CO2.
	"c4:93:00:30:01:62": {"Farm1", "A", 1, 2}, // Farm_CO2_1
	"c4:93:00:30:04:5a": {"Farm2", "A", 25, 2},
	"c4:93:00:30:04:2e": {"Farm2", "A", 28, 2},
	"c4:93:00:30:04:1a": {"Farm2", "A", 33, 3},
}

// zoneOrigin places the zones along the tunnel (x, in metres) for the 3D
// view: the farm's columns are 1.2 m apart, the other rooms beyond its ends.
var zoneOrigin = map[string]float64{
	"Farm1": 0, "Farm2": 0, "Entrance": -6, "Stairs": -9, "Lobby": -12,
	"Propagation": 44, "R&D": 50, "Retired": 56, "Tunnel7": 64,
}

// coordinates returns the location of a spot in the demo schema.
func (s spot) coordinates() dtbase.Coordinates {
	column, shelf := s.column, s.shelf
	if column == 99 { // locations.csv marks rooms without a grid with 99
		column = 1
	}
	if shelf == 99 {
		shelf = 1
	}
	y := 0.0
	switch s.aisle {
	case "B":
		y = 2.4
	case "A":
	default:
		y = 1.2
	}
	x := zoneOrigin[s.zone] + float64(column)*1.2
	return dtbase.Coordinates{
		"zone": dtbase.StringValue(s.zone), "aisle": dtbase.StringValue(s.aisle),
		"column": dtbase.IntValue(int64(s.column)), "shelf": dtbase.IntValue(int64(s.shelf)),
		"x": dtbase.FloatValue(x), "y": dtbase.FloatValue(y), "z": dtbase.FloatValue(0.5 * float64(shelf)),
	}
}

// export is the Hyper API export format of the data files.
type export struct {
	Metadata struct {
		Devices map[string]struct {
			Name           string  `json:"name"`
			VendorDeviceID *string `json:"vendor_device_id"`
		} `json:"devices"`
	} `json:"metadata"`
	Labels []string `json:"labels"`
	Series []struct {
		Metric   string     `json:"metric"`
		DeviceID string     `json:"device_id"`
		Values   []*float64 `json:"values"`
	} `json:"series"`
}

// Summary says what Load did.
type Summary struct {
	// Skipped is set when the database already had sensors and nothing was
	// loaded.
	Skipped     bool
	SensorTypes int
	Locations   int
	TreeNodes   int // the site's farm, tunnels and zones
	Sensors     int
	Readings    int64
	From, To    time.Time // the time range of the readings
}

// Load loads the demo into st unless it already holds sensors. The
// readings are shifted so the last one falls on now rounded down to 10
// minutes. Types, the schema and locations that exist already are reused.
func Load(ctx context.Context, st Store, now time.Time) (Summary, error) {
	var sum Summary
	existing, err := st.FindSensors(ctx, dtbase.SensorFilter{})
	if err != nil {
		return sum, err
	}
	if len(existing) > 0 {
		sum.Skipped = true
		// A demo loaded before site models existed gets its model now.
		return sum, ensureFarmModel(ctx, st)
	}
	exports := map[string]*export{TypeTRH: nil, TypeCO2: nil}
	for typ, file := range map[string]string{TypeTRH: "data/hyper_trh_testdata.json", TypeCO2: "data/hyper_co2_testdata.json"} {
		raw, err := data.ReadFile(file)
		if err != nil {
			return sum, fmt.Errorf("demo data: %w", err)
		}
		var ex export
		if err := json.Unmarshal(raw, &ex); err != nil {
			return sum, fmt.Errorf("demo data %s: %w", file, err)
		}
		exports[typ] = &ex
	}
	shift, first, err := timeShift(exports, now)
	if err != nil {
		return sum, err
	}

	for _, t := range sensorTypes {
		t.Measures = append([]dtbase.Measure(nil), t.Measures...)
		if err := st.CreateSensorType(ctx, &t); ignoreConflict(err) != nil {
			return sum, fmt.Errorf("create sensor type %s: %w", t.Name, err)
		}
		sum.SensorTypes++
	}
	s := schema
	s.Identifiers = append([]dtbase.Identifier(nil), schema.Identifiers...)
	if err := st.CreateLocationSchema(ctx, &s); ignoreConflict(err) != nil {
		return sum, fmt.Errorf("create location schema: %w", err)
	}
	if err := ensureFarmModel(ctx, st); err != nil {
		return sum, err
	}
	spots, err := farmSpots()
	if err != nil {
		return sum, err
	}
	for _, sp := range spots {
		if _, err := st.CreateLocation(ctx, SchemaName, sp.coordinates()); ignoreConflict(err) != nil {
			return sum, fmt.Errorf("create location %+v: %w", sp, err)
		}
		sum.Locations++
	}

	var series []dtbase.ReadingSeries
	for _, typ := range []string{TypeTRH, TypeCO2} {
		ex := exports[typ]
		stamps := make([]time.Time, len(ex.Labels))
		for i, l := range ex.Labels {
			t, ok := dtbase.ParseTime(l)
			if !ok {
				return sum, fmt.Errorf("demo data: bad timestamp %q", l)
			}
			stamps[i] = t.Add(shift)
		}
		for _, dev := range sortedKeys(ex.Metadata.Devices) {
			meta := ex.Metadata.Devices[dev]
			sp, ok := placements[dev]
			if !ok {
				return sum, fmt.Errorf("demo data: no placement for device %s", dev)
			}
			sensor := &dtbase.Sensor{UniqueIdentifier: dev, TypeName: typ, Name: units(sensorName(typ, dev, meta.Name))}
			if meta.VendorDeviceID != nil {
				sensor.Notes = units("Aranet device " + *meta.VendorDeviceID + " in the CROP farm")
			}
			if err := st.CreateSensor(ctx, sensor); err != nil {
				return sum, fmt.Errorf("create sensor %s: %w", dev, err)
			}
			sum.Sensors++
			if _, err := st.CreateSensorPlacement(ctx, dev, SchemaName, sp.coordinates(), first.Add(shift)); err != nil {
				return sum, fmt.Errorf("place sensor %s: %w", dev, err)
			}
		}
		for _, sr := range ex.Series {
			m, ok := metricMeasure[sr.Metric]
			if !ok {
				return sum, fmt.Errorf("demo data: unknown metric %s", sr.Metric)
			}
			rs := dtbase.ReadingSeries{UniqueIdentifier: sr.DeviceID, MeasureName: m.Name, MeasureUnits: m.Units}
			for i, v := range sr.Values {
				if v == nil || i >= len(stamps) {
					continue
				}
				rs.Values = append(rs.Values, dtbase.FloatValue(*v))
				rs.Timestamps = append(rs.Timestamps, stamps[i])
				if sum.From.IsZero() || stamps[i].Before(sum.From) {
					sum.From = stamps[i]
				}
				if stamps[i].After(sum.To) {
					sum.To = stamps[i]
				}
			}
			series = append(series, rs)
		}
	}
	if sum.TreeNodes, err = loadTree(ctx, st); err != nil {
		return sum, err
	}
	res, err := st.InsertReadings(ctx, series)
	if err != nil {
		return sum, fmt.Errorf("insert readings: %w", err)
	}
	sum.Readings = res.Inserted
	return sum, nil
}

// ensureFarmModel stores FarmModel as the farm schema's site model unless
// it has one; without the farm schema (a database of other data) it does
// nothing.
func ensureFarmModel(ctx context.Context, st Store) error {
	if _, err := st.FindSiteModel(ctx, SchemaName, false); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return err
	}
	err := st.PutSiteModel(ctx, &dtbase.SiteModel{Schema: SchemaName, Data: FarmModel()})
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store the farm's site model: %w", err)
	}
	return nil
}

// timeShift returns how far to move the export's timestamps so the last
// reading falls on now rounded down to the interval, and the time of the
// first reading (before the shift).
func timeShift(exports map[string]*export, now time.Time) (time.Duration, time.Time, error) {
	var first, last time.Time
	for _, ex := range exports {
		for _, sr := range ex.Series {
			for i, v := range sr.Values {
				if v == nil || i >= len(ex.Labels) {
					continue
				}
				t, ok := dtbase.ParseTime(ex.Labels[i])
				if !ok {
					return 0, time.Time{}, fmt.Errorf("demo data: bad timestamp %q", ex.Labels[i])
				}
				if first.IsZero() || t.Before(first) {
					first = t
				}
				if t.After(last) {
					last = t
				}
			}
		}
	}
	if last.IsZero() {
		return 0, time.Time{}, fmt.Errorf("demo data: no readings")
	}
	return now.UTC().Truncate(interval).Sub(last), first, nil
}

// farmSpots returns every location of the demo: the rows of locations.csv
// and the spots of the sensors, without duplicates, in a stable order.
func farmSpots() ([]spot, error) {
	raw, err := data.ReadFile("data/locations.csv")
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(raw))
	var out []spot
	seen := map[spot]bool{}
	add := func(s spot) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demo data locations.csv: %w", err)
		}
		if line == 1 {
			continue // header
		}
		col, err1 := strconv.Atoi(rec[2])
		shelf, err2 := strconv.Atoi(rec[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("demo data locations.csv line %d: bad column or shelf", line)
		}
		add(spot{rec[0], rec[1], col, shelf})
	}
	for _, dev := range sortedKeys(placements) {
		add(placements[dev])
	}
	return out, nil
}

func sensorName(typ, dev, name string) string {
	if name != "" {
		return name
	}
	short := dev
	if len(dev) > 5 {
		short = dev[len(dev)-5:]
	}
	if typ == TypeCO2 {
		return "CO2 " + short
	}
	return "T/RH " + short
}

// ignoreConflict treats "exists already" as success, so the demo reuses
// what a user created before.
func ignoreConflict(err error) error {
	if dtbase.ErrorCode(err) == dtbase.ECONFLICT {
		return nil
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
