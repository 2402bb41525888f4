package client

import (
	"bytes"
	"context"
	"testing"

	"github.com/dtbase/dtbase"
)

func TestSiteModel(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	must(t, c.InsertLocationSchema(ctx, LocationSchema{Name: "hall", Identifiers: []LocationIdentifier{
		{Name: "x", Datatype: Float}, {Name: "y", Datatype: Float}}}))
	glb := dtbase.EncodeGLB([]byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":4}]}`), []byte{1, 2, 3, 4})
	m, err := c.UploadSiteModel(ctx, "hall", glb)
	if err != nil || m.Version != 1 || m.Format != "glb" {
		t.Fatalf("upload: %+v %v", m, err)
	}
	if _, err := c.UploadSiteModel(ctx, "hall", []byte(`{"asset":{"version":"2.0"},"buffers":[{"uri":"hall.bin","byteLength":4}]}`)); StatusOf(err) != 400 {
		t.Fatalf("external uri: %v, want 400", err)
	}
	got, err := c.SiteModelFile(ctx, "hall")
	if err != nil || !bytes.Equal(got, glb) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	must(t, c.SetSitePlacement(ctx, SitePlacement{SchemaName: "hall", X: "y", Y: "x", Unit: "cm", Offset: [3]float64{1, 2, 3}}))
	site, err := c.GetSite(ctx, "hall")
	if err != nil || site.Model == nil || site.Model.SHA256 != m.SHA256 || site.Placement.X != "y" || site.Placement.Offset[2] != 3 {
		t.Fatalf("site %+v %v", site, err)
	}
	must(t, c.DeleteSiteModel(ctx, "hall"))
	if site, err = c.GetSite(ctx, "hall"); err != nil || site.Model != nil {
		t.Fatalf("after delete: %+v %v", site, err)
	}
}
