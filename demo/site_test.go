package demo

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestFarmModelIsValidGLB(t *testing.T) {
	b := FarmModel()
	format, err := dtbase.ValidateSiteModel(b, dtbase.DefaultSiteModelMaxBytes)
	if err != nil || format != dtbase.SiteFormatGLB {
		t.Fatalf("farm model: %q, %v", format, err)
	}
	t.Logf("farm model: %d bytes", len(b))
}

func TestLoadStoresTheFarmModel(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	if _, err := Load(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := db.FindSiteModel(ctx, SchemaName, false)
	if err != nil || m.Version != 1 || m.Format != dtbase.SiteFormatGLB {
		t.Fatalf("farm model %+v, %v", m, err)
	}
	// A demo database from before site models gets its model on the next load.
	if err := db.DeleteSiteModel(ctx, SchemaName); err != nil {
		t.Fatal(err)
	}
	if sum, err := Load(ctx, db, time.Now()); err != nil || !sum.Skipped {
		t.Fatalf("second load: %+v %v", sum, err)
	}
	if _, err := db.FindSiteModel(ctx, SchemaName, false); err != nil {
		t.Fatalf("model not restored: %v", err)
	}
}
