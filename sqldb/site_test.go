package sqldb_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

var siteDoc = []byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":4}],"bufferViews":[{"buffer":0,"byteLength":4}]}`)

func TestSiteModelVersions(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustSchema(t, db, "site", xID, yID)
	if _, err := db.FindSiteModel(ctx, "site", true); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("model before upload: %v, want ENOTFOUND", err)
	}
	v1 := dtbase.EncodeGLB(siteDoc, []byte{1, 2, 3, 4})
	m := &dtbase.SiteModel{Schema: "site", Data: v1}
	if err := db.PutSiteModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.Format != dtbase.SiteFormatGLB || m.Size != int64(len(v1)) || len(m.SHA256) != 64 {
		t.Fatalf("stored model %+v", m)
	}

	// Bad uploads leave the stored version as it was.
	for name, data := range map[string][]byte{
		"not gltf":  []byte("PK\x03\x04 a zip file"),
		"truncated": v1[:len(v1)-3],
		"external":  []byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":4,"uri":"site.bin"}]}`),
	} {
		err := db.PutSiteModel(ctx, &dtbase.SiteModel{Schema: "site", Data: data})
		if dtbase.ErrorCode(err) != dtbase.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if err := db.PutSiteModel(ctx, &dtbase.SiteModel{Schema: "nowhere", Data: v1}); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("unknown schema: %v, want ENOTFOUND", err)
	}
	got, err := db.FindSiteModel(ctx, "site", true)
	if err != nil || got.Version != 1 || !bytes.Equal(got.Data, v1) || got.SHA256 != m.SHA256 {
		t.Fatalf("after bad uploads: %+v, %v; want version 1 unchanged", got, err)
	}

	v2 := dtbase.EncodeGLB(siteDoc, []byte{5, 6, 7, 8})
	if err := db.PutSiteModel(ctx, &dtbase.SiteModel{Schema: "site", Data: v2}); err != nil {
		t.Fatal(err)
	}
	got, err = db.FindSiteModel(ctx, "site", false)
	if err != nil || got.Version != 2 || got.Data != nil || got.SHA256 == m.SHA256 {
		t.Fatalf("after replacing: %+v, %v; want version 2 without data", got, err)
	}
	got, err = db.FindSiteModel(ctx, "site", true)
	if err != nil || !bytes.Equal(got.Data, v2) {
		t.Fatalf("replaced data: %v", err)
	}

	if err := db.DeleteSiteModel(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSiteModel(ctx, "site"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("second delete: %v, want ENOTFOUND", err)
	}
}

func TestSitePlacementStore(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustSchema(t, db, "xy-room", xID, yID, roomID)
	p, err := db.FindSitePlacement(ctx, "xy-room")
	if err != nil || p.X != "x" || p.Y != "y" || p.Unit != "m" {
		t.Fatalf("default placement %+v, %v", p, err)
	}
	want := dtbase.SitePlacement{X: "y", Y: "x", Unit: "cm", Offset: [3]float64{1, 2, 3}, Rotation: 90, Scale: 2}
	if err := db.SetSitePlacement(ctx, "xy-room", want); err != nil {
		t.Fatal(err)
	}
	if p, err = db.FindSitePlacement(ctx, "xy-room"); err != nil || *p != want {
		t.Fatalf("stored placement %+v, %v; want %+v", p, err, want)
	}
	if err := db.SetSitePlacement(ctx, "xy-room", dtbase.SitePlacement{X: "room", Y: "y", Unit: "m"}); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("string axis: %v, want EINVALID", err)
	}
	if _, err := db.FindSitePlacement(ctx, "nowhere"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("unknown schema: %v, want ENOTFOUND", err)
	}
	// Deleting the schema removes its site.
	if err := db.PutSiteModel(ctx, &dtbase.SiteModel{Schema: "xy-room", Data: dtbase.EncodeGLB(siteDoc, []byte{1, 2, 3, 4})}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteLocationSchema(ctx, "xy-room"); err != nil {
		t.Fatalf("delete schema with a site: %v", err)
	}
}
