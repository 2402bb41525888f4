package api

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/httpasset"
)

// siteModelInfo describes a stored site model without its data.
type siteModelInfo struct {
	SchemaName string      `json:"schema_name"`
	Version    int64       `json:"version"`
	Format     string      `json:"format"`
	Size       int64       `json:"size"`
	SHA256     string      `json:"sha256"`
	Created    dtbase.Time `json:"created"`
}

func siteModelInfoOf(m *dtbase.SiteModel) siteModelInfo {
	return siteModelInfo{m.Schema, m.Version, m.Format, m.Size, m.SHA256, dtbase.Time(m.Created)}
}

// sitePlacementBody is a schema's placement as clients send and receive it.
type sitePlacementBody struct {
	SchemaName string    `json:"schema_name" dt:"max=name"`
	X          string    `json:"x" dt:"max=name"`
	Y          string    `json:"y" dt:"max=name"`
	Z          string    `json:"z" dt:"optional,max=name"`
	Unit       string    `json:"unit" dt:"optional,max=units"`
	Offset     []float64 `json:"offset" dt:"optional"`
	Rotation   float64   `json:"rotation" dt:"optional"`
	Scale      float64   `json:"scale" dt:"optional"`
}

// siteResponse is a schema's site: its model, if any, and its placement.
type siteResponse struct {
	Model     *siteModelInfo    `json:"model"`
	Placement sitePlacementBody `json:"placement"`
}

// siteRoutes registers the site model endpoints.
func (s *Server) siteRoutes() {
	up := s.handleRaw(http.MethodPost, "/location/upload-site-model", dtbase.RoleEditor,
		"Upload the 3D model (glTF 2.0) of a location schema's site", s.uploadSiteModel)
	up.status = http.StatusCreated
	up.resp = reflect.TypeFor[siteModelInfo]()
	up.consumes = []string{"model/gltf-binary", "model/gltf+json", "multipart/form-data"}
	up.query = []queryParam{{"schema_name", "string", "the location schema the model shows", true}}
	up.extraErrors = map[int]string{http.StatusRequestEntityTooLarge: "The model is larger than DT_SITE_MODEL_MAX_BYTES"}
	up.description = "Send a .glb as the body (Content-Type model/gltf-binary) or a .gltf with every buffer and image " +
		"embedded as data: URIs (model/gltf+json), or either as the part named file of a multipart/form-data form " +
		"(schema_name may then be a form field). The file is checked before it is stored: a GLB's header, length and " +
		"chunks; glTF 2.0 JSON; no external URIs; buffer views inside their buffers. A bad file is a 400 and nothing " +
		"is stored. A new upload replaces the schema's model in one transaction, so the old one is served until the " +
		"new one is stored; version counts the uploads."

	get := s.handleRaw(http.MethodGet, "/location/site-model", dtbase.RoleViewer,
		"Download the 3D model of a location schema's site", s.getSiteModel)
	get.produces = "model/gltf-binary"
	get.query = []queryParam{{"schema_name", "string", "the location schema", true}}
	get.extraErrors = map[int]string{http.StatusNotModified: "If-None-Match names the current version"}
	get.description = "The stored file as uploaded (model/gltf-binary or model/gltf+json), with an ETag (its SHA-256) " +
		"and Cache-Control: private, no-cache, so browsers keep it and revalidate with If-None-Match (304)."

	handle(s, http.MethodPost, "/location/get-site", dtbase.RoleViewer, http.StatusOK,
		"Get a location schema's site: its model's version and its placement", s.getSite).description =
		"model is null when the schema has no model. When no placement was set, the placement is guessed from " +
			"numeric identifiers named x, y and z, in metres."
	handle(s, http.MethodPost, "/location/set-site-placement", dtbase.RoleEditor, http.StatusOK,
		"Set how a schema's locations map into its site", s.setSitePlacement).description =
		"x, y and z (optional) name numeric identifiers of the schema holding east, north and up; unit is m, cm, " +
			"mm, ft or in; offset (metres, east/north/up), rotation (degrees about up) and scale move the model to " +
			"line up with the locations."
	handle(s, http.MethodPost, "/location/delete-site-model", dtbase.RoleEditor, http.StatusOK,
		"Delete a location schema's site model", s.deleteSiteModel)
}

func (s *Server) uploadSiteModel(w http.ResponseWriter, r *http.Request, body []byte) {
	schema := r.URL.Query().Get("schema_name")
	data, form, err := siteUploadData(r, body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if schema == "" {
		schema = form
	}
	if schema == "" {
		writeError(w, r, dtbase.Errorf(dtbase.EINVALID, "Name the location schema: the query parameter schema_name is required."))
		return
	}
	if _, err := dtbase.ValidateSiteModel(data, s.siteModelMax()); err != nil {
		writeError(w, r, err)
		return
	}
	m := &dtbase.SiteModel{Schema: schema, Data: data}
	if err := s.store.PutSiteModel(r.Context(), m); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, siteModelInfoOf(m))
}

func (s *Server) siteModelMax() int64 {
	if s.cfg.SiteModelMaxBytes > 0 {
		return s.cfg.SiteModelMaxBytes
	}
	return dtbase.DefaultSiteModelMaxBytes
}

// siteUploadData extracts the model from a raw or multipart body, and the
// schema_name form field of a multipart one.
func siteUploadData(r *http.Request, body []byte) (data []byte, schema string, err error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return body, "", nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			if data == nil {
				return nil, "", dtbase.Errorf(dtbase.EINVALID, "The form has no part named file holding the model")
			}
			return data, schema, nil
		}
		if err != nil {
			return nil, "", dtbase.Errorf(dtbase.EINVALID, "Malformed multipart body: %v", err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, "", dtbase.Errorf(dtbase.EINVALID, "Malformed multipart body: %v", err)
		}
		switch part.FormName() {
		case "file":
			data = b
		case "schema_name":
			schema = strings.TrimSpace(string(b))
		}
	}
}

func (s *Server) getSiteModel(w http.ResponseWriter, r *http.Request, _ []byte) {
	schema := r.URL.Query().Get("schema_name")
	if schema == "" {
		writeError(w, r, dtbase.Errorf(dtbase.EINVALID, "Name the location schema: the query parameter schema_name is required."))
		return
	}
	httpasset.ServeSiteModel(w, r, s.store, schema, writeError)
}

func (s *Server) getSite(ctx context.Context, req *schemaNameRequest) (siteResponse, error) {
	p, err := s.store.FindSitePlacement(ctx, req.SchemaName)
	if err != nil {
		return siteResponse{}, err
	}
	out := siteResponse{Placement: placementBody(req.SchemaName, p)}
	m, err := s.store.FindSiteModel(ctx, req.SchemaName, false)
	switch {
	case err == nil:
		info := siteModelInfoOf(m)
		out.Model = &info
	case dtbase.ErrorCode(err) != dtbase.ENOTFOUND:
		return siteResponse{}, err
	}
	return out, nil
}

func placementBody(schema string, p *dtbase.SitePlacement) sitePlacementBody {
	return sitePlacementBody{schema, p.X, p.Y, p.Z, p.Unit, p.Offset[:], p.Rotation, p.Scale}
}

func (s *Server) setSitePlacement(ctx context.Context, req *sitePlacementBody) (detail, error) {
	unit := req.Unit
	if unit == "" {
		unit = "m"
	}
	p := dtbase.SitePlacement{X: req.X, Y: req.Y, Z: req.Z, Unit: unit, Rotation: req.Rotation, Scale: req.Scale}
	if len(req.Offset) != 0 && len(req.Offset) != 3 {
		return detail{}, dtbase.Errorf(dtbase.EINVALID, "offset has %d numbers; it needs 3 (east, north, up, in metres).", len(req.Offset))
	}
	copy(p.Offset[:], req.Offset)
	return done(s.store.SetSitePlacement(ctx, req.SchemaName, p), "Site placement saved")
}

func (s *Server) deleteSiteModel(ctx context.Context, req *schemaNameRequest) (detail, error) {
	return done(s.store.DeleteSiteModel(ctx, req.SchemaName), "Site model of '"+req.SchemaName+"' deleted")
}
