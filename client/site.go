package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// SiteModel describes a stored site model (a glTF 2.0 file).
type SiteModel struct {
	SchemaName string    `json:"schema_name"`
	Version    int64     `json:"version"`
	Format     string    `json:"format"` // "glb" or "gltf"
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Created    time.Time `json:"created"`
}

// SitePlacement says which identifiers of a schema hold x (east), y (north)
// and z (up), their unit, and how the model is moved to line up with them.
type SitePlacement struct {
	SchemaName string     `json:"schema_name"`
	X          string     `json:"x"`
	Y          string     `json:"y"`
	Z          string     `json:"z"`
	Unit       string     `json:"unit"`
	Offset     [3]float64 `json:"offset"`
	Rotation   float64    `json:"rotation"`
	Scale      float64    `json:"scale"`
}

// Site is a schema's model (nil without one) and placement.
type Site struct {
	Model     *SiteModel    `json:"model"`
	Placement SitePlacement `json:"placement"`
}

// UploadSiteModel stores model, a .glb or a self-contained .gltf, as the
// site model of a location schema, replacing the previous one
// (/location/upload-site-model). A bad file is an *Error with status 400,
// one over the server's limit 413.
func (c *Client) UploadSiteModel(ctx context.Context, schemaName string, model []byte) (SiteModel, error) {
	var out SiteModel
	ct := "model/gltf-binary"
	if bytes.HasPrefix(bytes.TrimLeft(model, " \t\r\n"), []byte("{")) {
		ct = "model/gltf+json"
	}
	err := c.upload(ctx, http.MethodPost, "/location/upload-site-model", url.Values{"schema_name": {schemaName}}, bytes.NewReader(model), ct, &out)
	return out, err
}

// SiteModelFile downloads a schema's site model (/location/site-model).
func (c *Client) SiteModelFile(ctx context.Context, schemaName string) ([]byte, error) {
	rc, err := c.stream(ctx, http.MethodGet, "/location/site-model", url.Values{"schema_name": {schemaName}}, nil, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("dtbase client: read site model: %w", err)
	}
	return data, nil
}

// GetSite returns a schema's site model version and placement
// (/location/get-site).
func (c *Client) GetSite(ctx context.Context, schemaName string) (Site, error) {
	return fetch[Site](ctx, c, http.MethodPost, "/location/get-site", schemaNameBody{schemaName}, http.StatusOK)
}

// SetSitePlacement stores a schema's placement (/location/set-site-placement).
func (c *Client) SetSitePlacement(ctx context.Context, p SitePlacement) error {
	return c.call(ctx, http.MethodPost, "/location/set-site-placement", p, http.StatusOK, nil)
}

// DeleteSiteModel removes a schema's site model (/location/delete-site-model).
func (c *Client) DeleteSiteModel(ctx context.Context, schemaName string) error {
	return c.call(ctx, http.MethodPost, "/location/delete-site-model", schemaNameBody{schemaName}, http.StatusOK, nil)
}
