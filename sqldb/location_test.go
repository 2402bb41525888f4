package sqldb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func expectCode(t *testing.T, err error, code string) {
	t.Helper()
	wantCode(t, err, code, "")
}

func mustSchema(t *testing.T, db *sqldb.DB, name string, ids ...dtbase.Identifier) *dtbase.LocationSchema {
	t.Helper()
	s := &dtbase.LocationSchema{Name: name, Identifiers: ids}
	if err := db.CreateLocationSchema(context.Background(), s); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	return s
}

var (
	xID    = dtbase.Identifier{Name: "x", Units: ptr("m"), Datatype: dtbase.Float}
	yID    = dtbase.Identifier{Name: "y", Units: ptr("m"), Datatype: dtbase.Float}
	roomID = dtbase.Identifier{Name: "room", Datatype: dtbase.String}
)

func TestLocationSchemaIdentifiers(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	s := mustSchema(t, db, "xy", yID, xID)
	if got := s.IdentifierNames(); !cmp.Equal(got, []string{"x", "y"}) {
		t.Errorf("identifiers %v, want sorted [x y]", got)
	}
	// Same (name, units) is reused, null units included; the stored
	// datatype wins over the one sent.
	mustSchema(t, db, "x-room", dtbase.Identifier{Name: "x", Units: ptr("m"), Datatype: dtbase.Integer}, roomID)
	mustSchema(t, db, "room", roomID)
	ids, err := db.ListLocationIdentifiers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := mapped(ids, func(id dtbase.Identifier) string { return id.Name + ":" + string(id.Datatype) })
	// Identifiers are created in payload order, as in the original.
	if want := []string{"y:float", "x:float", "room:string"}; !cmp.Equal(got, want) {
		t.Errorf("identifiers %v, want %v", got, want)
	}
	// Different units: a new identifier.
	mustSchema(t, db, "x-cm", dtbase.Identifier{Name: "x", Units: ptr("cm"), Datatype: dtbase.Float})
	if ids, _ := db.ListLocationIdentifiers(ctx); len(ids) != 4 {
		t.Errorf("got %d identifiers, want 4", len(ids))
	}
	mustSchema(t, db, "empty")
	schemas, err := db.ListLocationSchemas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := mapped(schemas, func(s dtbase.LocationSchema) string { return s.Name })
	if want := []string{"xy", "x-room", "room", "x-cm", "empty"}; !cmp.Equal(names, want) {
		t.Errorf("schemas %v, want %v", names, want)
	}
	if schemas[4].Identifiers == nil || len(schemas[4].Identifiers) != 0 {
		t.Errorf("empty schema identifiers %#v, want []", schemas[4].Identifiers)
	}

	for _, tc := range []struct {
		name string
		s    dtbase.LocationSchema
		code string
	}{
		{"duplicate name", dtbase.LocationSchema{Name: "xy"}, dtbase.ECONFLICT},
		{"identifier twice", dtbase.LocationSchema{Name: "n1", Identifiers: []dtbase.Identifier{xID, xID}}, dtbase.ECONFLICT},
		{"same name other units", dtbase.LocationSchema{Name: "n2", Identifiers: []dtbase.Identifier{xID, {Name: "x", Datatype: dtbase.Float}}}, dtbase.ECONFLICT},
		{"bad datatype", dtbase.LocationSchema{Name: "n3", Identifiers: []dtbase.Identifier{{Name: "q", Datatype: "complex"}}}, dtbase.EINVALID},
		{"reserved id", dtbase.LocationSchema{Name: "n4", Identifiers: []dtbase.Identifier{{Name: "id", Datatype: dtbase.Integer}}}, dtbase.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			expectCode(t, db.CreateLocationSchema(ctx, &s), tc.code)
		})
	}
	// Nothing of a failed request is kept.
	if ids, _ := db.ListLocationIdentifiers(ctx); len(ids) != 4 {
		t.Errorf("got %d identifiers after failures, want 4", len(ids))
	}
}

func TestLocations(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustSchema(t, db, "xy", xID, yID)
	mustSchema(t, db, "xy2", xID, yID)
	mustSchema(t, db, "rooms", roomID, dtbase.Identifier{Name: "floor", Datatype: dtbase.Integer}, dtbase.Identifier{Name: "open", Datatype: dtbase.Boolean})

	// An integer literal is accepted for a float identifier and stored as a float.
	loc, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.IntValue(1), "y": dtbase.FloatValue(2.5)})
	if err != nil {
		t.Fatal(err)
	}
	if loc.Values[0] != dtbase.FloatValue(1) {
		t.Errorf("x stored as %#v, want float 1", loc.Values[0])
	}
	expectCode(t, func() error {
		_, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(2.5)})
		return err
	}(), dtbase.ECONFLICT)
	// The same coordinates in another schema are another location.
	if _, err := db.CreateLocation(ctx, "xy2", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(2.5)}); err != nil {
		t.Fatalf("same coordinates in another schema: %v", err)
	}
	if _, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateLocation(ctx, "rooms", dtbase.Coordinates{"room": dtbase.StringValue("lab"), "floor": dtbase.IntValue(-1), "open": dtbase.BoolValue(true)}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		schema string
		coords dtbase.Coordinates
		code   string
	}{
		{"unknown schema", "nope", dtbase.Coordinates{}, dtbase.ENOTFOUND},
		{"missing key", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1)}, dtbase.EINVALID},
		{"unknown key", "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(1), "z": dtbase.FloatValue(1)}, dtbase.EINVALID},
		{"string for float", "xy", dtbase.Coordinates{"x": dtbase.StringValue("1"), "y": dtbase.FloatValue(1)}, dtbase.EINVALID},
		{"bool for integer", "rooms", dtbase.Coordinates{"room": dtbase.StringValue("a"), "floor": dtbase.BoolValue(true), "open": dtbase.BoolValue(true)}, dtbase.EINVALID},
		{"float for integer", "rooms", dtbase.Coordinates{"room": dtbase.StringValue("a"), "floor": dtbase.FloatValue(1), "open": dtbase.BoolValue(true)}, dtbase.EINVALID},
		{"int32 overflow", "rooms", dtbase.Coordinates{"room": dtbase.StringValue("a"), "floor": dtbase.IntValue(1 << 31), "open": dtbase.BoolValue(true)}, dtbase.EINVALID},
		{"int for bool", "rooms", dtbase.Coordinates{"room": dtbase.StringValue("a"), "floor": dtbase.IntValue(1), "open": dtbase.IntValue(1)}, dtbase.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.CreateLocation(ctx, tc.schema, tc.coords)
			expectCode(t, err, tc.code)
		})
	}

	locs, err := db.FindLocations(ctx, "xy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 2 || locs[0].ID >= locs[1].ID {
		t.Fatalf("locations %+v, want 2 in id order", locs)
	}
	locs, err = db.FindLocations(ctx, "xy", dtbase.Coordinates{"y": dtbase.IntValue(3)})
	if err != nil || len(locs) != 1 || locs[0].Values[1] != dtbase.FloatValue(3) {
		t.Fatalf("filtered locations %+v, %v", locs, err)
	}
	locs, err = db.FindLocations(ctx, "rooms", nil)
	if err != nil || len(locs) != 1 {
		t.Fatalf("rooms %+v, %v", locs, err)
	}
	// rooms identifiers sorted: floor, open, room.
	if want := []dtbase.Value{dtbase.IntValue(-1), dtbase.BoolValue(true), dtbase.StringValue("lab")}; !cmp.Equal(locs[0].Values, want) {
		t.Errorf("room values %v, want %v", locs[0].Values, want)
	}
	if locs, err := db.FindLocations(ctx, "nope", nil); err != nil || len(locs) != 0 || locs == nil {
		t.Errorf("unknown schema: %#v, %v; want empty list", locs, err)
	}
	_, err = db.FindLocations(ctx, "xy", dtbase.Coordinates{"q": dtbase.IntValue(3)})
	expectCode(t, err, dtbase.EINVALID)

	// Delete needs the full coordinates.
	expectCode(t, db.DeleteLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1)}), dtbase.EINVALID)
	expectCode(t, db.DeleteLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(9), "y": dtbase.FloatValue(9)}), dtbase.ENOTFOUND)
	expectCode(t, db.DeleteLocation(ctx, "nope", dtbase.Coordinates{}), dtbase.ENOTFOUND)
	expectCode(t, db.DeleteLocationSchema(ctx, "xy"), dtbase.ECONFLICT)
	if err := db.DeleteLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(3)}); err != nil {
		t.Fatal(err)
	}
	if locs, _ := db.FindLocations(ctx, "xy", nil); len(locs) != 1 {
		t.Errorf("after delete: %d locations, want 1", len(locs))
	}

	// Update moves a location unless another one is there already.
	if _, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(5), "y": dtbase.FloatValue(5)}); err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(5), "y": dtbase.FloatValue(5)}, dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(2.5)})
	expectCode(t, err, dtbase.ECONFLICT)
	moved, err := db.UpdateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(5), "y": dtbase.FloatValue(5)}, dtbase.Coordinates{"y": dtbase.IntValue(6)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []dtbase.Value{dtbase.FloatValue(5), dtbase.FloatValue(6)}; !cmp.Equal(moved.Values, want) {
		t.Errorf("moved to %v, want %v", moved.Values, want)
	}
	if locs, _ := db.FindLocations(ctx, "xy", dtbase.Coordinates{"y": dtbase.FloatValue(6)}); len(locs) != 1 {
		t.Errorf("moved location not found")
	}
}

func TestCreateLocationWithIdentifiers(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	ids := []dtbase.Identifier{yID, xID}
	loc, err := db.CreateLocationWithIdentifiers(ctx, ids, []dtbase.Value{dtbase.FloatValue(2), dtbase.IntValue(1)})
	if err != nil {
		t.Fatal(err)
	}
	if loc.Schema != "x-y" || !cmp.Equal(loc.Values, []dtbase.Value{dtbase.FloatValue(1), dtbase.FloatValue(2)}) {
		t.Errorf("got %s %v, want x-y [1.0 2.0]", loc.Schema, loc.Values)
	}
	// The schema is reused for another location; the same location is a conflict.
	if _, err := db.CreateLocationWithIdentifiers(ctx, ids, []dtbase.Value{dtbase.FloatValue(3), dtbase.IntValue(1)}); err != nil {
		t.Fatalf("second location: %v", err)
	}
	_, err = db.CreateLocationWithIdentifiers(ctx, ids, []dtbase.Value{dtbase.FloatValue(3), dtbase.IntValue(1)})
	expectCode(t, err, dtbase.ECONFLICT)
	// Same names, other units: the schema name is taken by other identifiers.
	_, err = db.CreateLocationWithIdentifiers(ctx, []dtbase.Identifier{{Name: "x", Datatype: dtbase.Float}, yID}, []dtbase.Value{dtbase.FloatValue(1), dtbase.FloatValue(1)})
	expectCode(t, err, dtbase.ECONFLICT)
	_, err = db.CreateLocationWithIdentifiers(ctx, ids, []dtbase.Value{dtbase.FloatValue(3)})
	expectCode(t, err, dtbase.EINVALID)
	_, err = db.CreateLocationWithIdentifiers(ctx, ids, []dtbase.Value{dtbase.FloatValue(3), dtbase.StringValue("a")})
	expectCode(t, err, dtbase.EINVALID)
	if locs, _ := db.FindLocations(ctx, "x-y", nil); len(locs) != 2 {
		t.Errorf("got %d locations, want 2", len(locs))
	}
}

// TestConcurrentLocationInserts checks that concurrent inserts of the same
// coordinates leave exactly one location.
func TestConcurrentLocationInserts(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustSchema(t, db, "xy", xID, yID)
	ok := winners(t, concurrently(8, func(int) error {
		_, err := db.CreateLocation(ctx, "xy", dtbase.Coordinates{"x": dtbase.FloatValue(1), "y": dtbase.FloatValue(1)})
		return err
	}))
	if locs, _ := db.FindLocations(ctx, "xy", nil); ok != 1 || len(locs) != 1 {
		t.Errorf("%d inserts succeeded and %d locations exist; want 1 and 1", ok, len(locs))
	}
}

// concurrently runs f(0) to f(n-1) at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Go(func() {
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return errs
}

// winners counts the nil errors of calls that race for one thing: the
// losers' are ECONFLICT, and any other error fails t.
func winners(t *testing.T, errs []error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch dtbase.ErrorCode(err) {
		case "":
			n++
		case dtbase.ECONFLICT:
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	return n
}
