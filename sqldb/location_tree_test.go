package sqldb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// farmTree builds farm → tunnel{1,2} → zone per tunnel, in two schemas, and
// returns the location ids by name.
func farmTree(t *testing.T, db *sqldb.DB) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	mustSchema(t, db, "site", dtbase.Identifier{Name: "site", Datatype: dtbase.String})
	mustSchema(t, db, "area", roomID)
	ids := map[string]int64{}
	for _, n := range []struct{ schema, key, name string }{
		{"site", "site", "farm"}, {"area", "room", "tunnel1"}, {"area", "room", "tunnel2"},
		{"area", "room", "zone1"}, {"area", "room", "zone2"}, {"area", "room", "shelf1"},
	} {
		l, err := db.CreateLocation(ctx, n.schema, dtbase.Coordinates{n.key: dtbase.StringValue(n.name)})
		if err != nil {
			t.Fatal(err)
		}
		ids[n.name] = l.ID
	}
	for child, parent := range map[string]string{"tunnel1": "farm", "tunnel2": "farm", "zone1": "tunnel1", "zone2": "tunnel2", "shelf1": "zone1"} {
		p := ids[parent]
		if err := db.SetLocationParent(ctx, ids[child], &p); err != nil {
			t.Fatalf("%s under %s: %v", child, parent, err)
		}
	}
	return ids
}

func TestLocationTree(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	ids := farmTree(t, db)
	subOf := func(name string) []int64 {
		t.Helper()
		got, err := db.LocationSubtree(ctx, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := subOf("farm"), []int64{ids["farm"], ids["tunnel1"], ids["tunnel2"], ids["zone1"], ids["zone2"], ids["shelf1"]}; !cmp.Equal(got, want) {
		t.Errorf("subtree of farm %v, want %v", got, want)
	}
	if got, want := subOf("tunnel1"), []int64{ids["tunnel1"], ids["zone1"], ids["shelf1"]}; !cmp.Equal(got, want) {
		t.Errorf("subtree of tunnel1 %v, want %v", got, want)
	}

	// Cycles are refused naming parent_id, and nothing changes.
	for _, c := range []struct{ loc, parent string }{{"farm", "farm"}, {"farm", "shelf1"}, {"tunnel1", "zone1"}} {
		p := ids[c.parent]
		err := db.SetLocationParent(ctx, ids[c.loc], &p)
		var fe *dtbase.FieldError
		if dtbase.ErrorCode(err) != dtbase.EUNPROCESSABLE || !errors.As(err, &fe) || fe.Field != "parent_id" {
			t.Errorf("%s under %s: %v, want EUNPROCESSABLE on parent_id", c.loc, c.parent, err)
		}
	}
	missing := int64(9999)
	expectCode(t, db.SetLocationParent(ctx, missing, nil), dtbase.ENOTFOUND)
	expectCode(t, db.SetLocationParent(ctx, ids["zone1"], &missing), dtbase.ENOTFOUND)
	_, err := db.LocationSubtree(ctx, missing)
	expectCode(t, err, dtbase.ENOTFOUND)

	// Moving zone1 (with shelf1) under tunnel2.
	t2 := ids["tunnel2"]
	if err := db.SetLocationParent(ctx, ids["zone1"], &t2); err != nil {
		t.Fatal(err)
	}
	if got, want := subOf("tunnel2"), []int64{ids["tunnel2"], ids["zone1"], ids["zone2"], ids["shelf1"]}; !cmp.Equal(got, want) {
		t.Errorf("after the move, subtree of tunnel2 %v, want %v", got, want)
	}
	if got, want := subOf("tunnel1"), []int64{ids["tunnel1"]}; !cmp.Equal(got, want) {
		t.Errorf("after the move, subtree of tunnel1 %v, want %v", got, want)
	}
	// Making a root.
	if err := db.SetLocationParent(ctx, ids["tunnel2"], nil); err != nil {
		t.Fatal(err)
	}
	if got, want := subOf("farm"), []int64{ids["farm"], ids["tunnel1"]}; !cmp.Equal(got, want) {
		t.Errorf("after making tunnel2 a root, subtree of farm %v, want %v", got, want)
	}

	// Deleting a parent through the flat API makes its children roots.
	if err := db.DeleteLocation(ctx, "area", dtbase.Coordinates{"room": dtbase.StringValue("zone1")}); err != nil {
		t.Fatal(err)
	}
	nodes, err := db.LocationTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[int64]*int64{}
	for _, n := range nodes {
		parents[n.ID] = n.ParentID
	}
	if p, ok := parents[ids["shelf1"]]; !ok || p != nil {
		t.Errorf("shelf1 after deleting zone1: parent %v, present %v; want a root", p, ok)
	}
}

func TestSensorsUnderTree(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	ids := farmTree(t, db)
	mustSensorType(t, db, "th", dtbase.Measure{Name: "temperature", Units: ptr("C"), Datatype: dtbase.Float})
	mustSensor(t, db, "th", "s1")
	mustSensor(t, db, "th", "s2")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	place := func(uid, room string, at time.Time) {
		t.Helper()
		if _, err := db.CreateSensorPlacement(ctx, uid, "area", dtbase.Coordinates{"room": dtbase.StringValue(room)}, at); err != nil {
			t.Fatal(err)
		}
	}
	place("s1", "shelf1", t0)
	place("s2", "zone2", t0)
	place("s1", "tunnel2", t0.AddDate(0, 1, 0)) // s1 moves out of tunnel1's subtree
	under := func(name string, at time.Time) []string {
		t.Helper()
		ps, err := db.SensorsUnder(ctx, ids[name], at)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, p := range ps {
			out = append(out, p.UniqueIdentifier)
		}
		return out
	}
	for _, c := range []struct {
		loc  string
		at   time.Time
		want []string
	}{
		{"farm", t0.AddDate(0, 0, 1), []string{"s1", "s2"}},
		{"tunnel1", t0.AddDate(0, 0, 1), []string{"s1"}},
		{"tunnel1", t0.AddDate(0, 2, 0), []string{}},
		{"tunnel2", t0.AddDate(0, 2, 0), []string{"s1", "s2"}},
		{"tunnel2", t0.AddDate(0, 0, 1), []string{"s2"}},
		{"farm", t0.Add(-time.Hour), []string{}},
	} {
		if got := under(c.loc, c.at); !cmp.Equal(got, c.want) {
			t.Errorf("sensors under %s at %s: %v, want %v", c.loc, c.at, got, c.want)
		}
	}
	nodes, err := db.LocationTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := dtbase.TreeCounts(nodes)
	if counts[ids["farm"]] != 2 || counts[ids["tunnel2"]] != 2 || counts[ids["tunnel1"]] != 0 {
		t.Errorf("rolled-up counts %v", counts)
	}
}
