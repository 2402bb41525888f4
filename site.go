package dtbase

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// SiteModel is the 3D model of a location schema's site: a glTF 2.0 file,
// binary (.glb) or JSON (.gltf) with every buffer and image embedded.
type SiteModel struct {
	Schema  string
	Version int64  // 1 for the first upload, then one more per replacement
	Format  string // SiteFormatGLB or SiteFormatGLTF
	Data    []byte
	Size    int64
	SHA256  string // hex digest of Data, the HTTP ETag
	Created time.Time
}

// Site model formats.
const (
	SiteFormatGLB  = "glb"
	SiteFormatGLTF = "gltf"
)

// DefaultSiteModelMaxBytes is the default largest site model accepted
// (DT_SITE_MODEL_MAX_BYTES).
const DefaultSiteModelMaxBytes = 50 << 20

// SitePlacement maps the locations of a schema into the site's frame: which
// identifiers hold x (east), y (north) and z (up), the unit of their values,
// and how the model is moved to line up with them.
type SitePlacement struct {
	X    string `json:"x"`
	Y    string `json:"y"`
	Z    string `json:"z"` // "" draws every location on the floor
	Unit string `json:"unit"`
	// Offset (metres, east/north/up) and Rotation (degrees about the up
	// axis, counter-clockwise seen from above) move the model, not the
	// locations; Scale multiplies the model's size (glTF is in metres).
	Offset   [3]float64 `json:"offset"`
	Rotation float64    `json:"rotation"`
	Scale    float64    `json:"scale"`
}

// SiteUnits are the units placement values may be in, with their size in
// metres.
var SiteUnits = map[string]float64{"m": 1, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "in": 0.0254}

// SiteStore keeps site models and placements.
type SiteStore interface {
	// PutSiteModel stores m.Data as the newest version of the model of
	// m.Schema, after ValidateSiteModel, and sets m's Version, Format, Size,
	// SHA256 and Created. The previous version is removed in the same
	// transaction, so readers see the old model until the new one is
	// stored. ENOTFOUND for an unknown schema, EINVALID for a bad file.
	PutSiteModel(ctx context.Context, m *SiteModel) error
	// FindSiteModel returns the newest model of a schema, with its data when
	// withData is set; ENOTFOUND when the schema has none.
	FindSiteModel(ctx context.Context, schema string, withData bool) (*SiteModel, error)
	// DeleteSiteModel removes a schema's model; ENOTFOUND when it has none.
	DeleteSiteModel(ctx context.Context, schema string) error
	// FindSitePlacement returns the stored placement of a schema, or, when
	// none is stored, DefaultSitePlacement's guess. ENOTFOUND for an
	// unknown schema.
	FindSitePlacement(ctx context.Context, schema string) (*SitePlacement, error)
	// SetSitePlacement stores a schema's placement after Validate.
	// ENOTFOUND for an unknown schema, EINVALID for a bad placement.
	SetSitePlacement(ctx context.Context, schema string, p SitePlacement) error
}

// DefaultSitePlacement guesses a placement from the schema's numeric
// identifiers named x, y and z (or starting "x_", "x ", …), in metres. Its
// X is "" when the schema has no such x and y.
func DefaultSitePlacement(s *LocationSchema) SitePlacement {
	p := SitePlacement{Unit: "m", Scale: 1}
	axes := []*string{&p.X, &p.Y, &p.Z}
	for _, id := range s.Identifiers {
		if id.Datatype != Float && id.Datatype != Integer {
			continue
		}
		name := strings.ToLower(id.Name)
		for a, axis := range []string{"x", "y", "z"} {
			if *axes[a] == "" && (name == axis || strings.HasPrefix(name, axis+"_") || strings.HasPrefix(name, axis+" ")) {
				*axes[a] = id.Name
			}
		}
	}
	if p.X == "" || p.Y == "" {
		p.X, p.Y = "", ""
	}
	return p
}

// Validate checks that the placement names numeric identifiers of s (x and
// y required, z optional), a known unit and finite numbers; a zero Scale
// becomes 1. EINVALID naming the field.
func (p *SitePlacement) Validate(s *LocationSchema) error {
	types := map[string]Datatype{}
	for _, id := range s.Identifiers {
		types[id.Name] = id.Datatype
	}
	for _, f := range []struct {
		field, name string
		required    bool
	}{{"x", p.X, true}, {"y", p.Y, true}, {"z", p.Z, false}} {
		if f.name == "" {
			if f.required {
				return Errorf(EINVALID, "Placement needs the identifier that holds %s.", f.field)
			}
			continue
		}
		dt, ok := types[f.name]
		if !ok {
			return Errorf(EINVALID, "Placement %s: schema '%s' has no identifier '%s'.", f.field, s.Name, f.name)
		}
		if dt != Float && dt != Integer {
			return Errorf(EINVALID, "Placement %s: identifier '%s' holds %s values, not numbers.", f.field, f.name, dt)
		}
	}
	if _, ok := SiteUnits[p.Unit]; !ok {
		return Errorf(EINVALID, "Placement unit must be one of m, cm, mm, ft, in; got '%s'.", p.Unit)
	}
	if p.Scale == 0 {
		p.Scale = 1
	}
	for _, v := range []float64{p.Offset[0], p.Offset[1], p.Offset[2], p.Rotation, p.Scale} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Errorf(EINVALID, "Placement offset, rotation and scale must be finite numbers.")
		}
	}
	if p.Scale < 0 {
		return Errorf(EINVALID, "Placement scale must be positive.")
	}
	return nil
}

// GLB framing constants (glTF 2.0 specification, section 4.4).
const (
	glbMagic     = 0x46546C67 // "glTF"
	glbChunkJSON = 0x4E4F534A
	glbChunkBIN  = 0x004E4942
)

// ValidateSiteModel checks that data is a self-contained glTF 2.0 file of
// at most maxBytes (no limit when maxBytes <= 0) and returns its format:
// a GLB whose header, length and chunks agree, or glTF JSON, whose buffers
// and images are embedded (in the GLB's binary chunk or as data: URIs) and
// whose buffer views stay inside their buffers. ETOOLARGE over the limit,
// EINVALID for anything else, with a message saying what is wrong.
func ValidateSiteModel(data []byte, maxBytes int64) (string, error) {
	if maxBytes > 0 && int64(len(data)) > maxBytes {
		return "", Errorf(ETOOLARGE, "The site model is %d bytes; the limit is %d (DT_SITE_MODEL_MAX_BYTES).", len(data), maxBytes)
	}
	if len(data) == 0 {
		return "", Errorf(EINVALID, "The site model is empty.")
	}
	if len(data) >= 4 && binary.LittleEndian.Uint32(data) == glbMagic {
		return SiteFormatGLB, validateGLB(data)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return SiteFormatGLTF, validateGLTFJSON(trimmed, -1)
	}
	return "", Errorf(EINVALID, "The site model is neither a binary glTF (.glb) nor glTF JSON (.gltf).")
}

func validateGLB(data []byte) error {
	if len(data) < 12 {
		return Errorf(EINVALID, "The GLB file is truncated: its 12-byte header is incomplete.")
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != 2 {
		return Errorf(EINVALID, "The GLB file is glTF version %d; only glTF 2.0 is supported.", v)
	}
	declared := int64(binary.LittleEndian.Uint32(data[8:]))
	if declared > int64(len(data)) {
		return Errorf(EINVALID, "The GLB file is truncated: its header declares %d bytes, %d arrived.", declared, len(data))
	}
	if declared < int64(len(data)) {
		return Errorf(EINVALID, "The GLB file has %d bytes after the %d its header declares.", int64(len(data))-declared, declared)
	}
	var jsonChunk []byte
	binLen := int64(-1)
	for off, i := 12, 0; off < len(data); i++ {
		if len(data)-off < 8 {
			return Errorf(EINVALID, "The GLB file is truncated inside the header of chunk %d.", i)
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		typ := binary.LittleEndian.Uint32(data[off+4:])
		off += 8
		if n > len(data)-off {
			return Errorf(EINVALID, "The GLB file is truncated: chunk %d declares %d bytes, %d remain.", i, n, len(data)-off)
		}
		switch {
		case i == 0 && typ != glbChunkJSON:
			return Errorf(EINVALID, "The GLB file's first chunk is not JSON.")
		case i == 0:
			jsonChunk = data[off : off+n]
		case i == 1 && typ == glbChunkBIN:
			binLen = int64(n)
		}
		off += n
	}
	if jsonChunk == nil {
		return Errorf(EINVALID, "The GLB file has no JSON chunk.")
	}
	return validateGLTFJSON(jsonChunk, binLen)
}

// gltfDoc is the part of a glTF document that validation reads.
type gltfDoc struct {
	Asset *struct {
		Version string `json:"version"`
	} `json:"asset"`
	Buffers []struct {
		URI        *string `json:"uri"`
		ByteLength int64   `json:"byteLength"`
	} `json:"buffers"`
	BufferViews []struct {
		Buffer     int   `json:"buffer"`
		ByteOffset int64 `json:"byteOffset"`
		ByteLength int64 `json:"byteLength"`
	} `json:"bufferViews"`
	Images []struct {
		URI *string `json:"uri"`
	} `json:"images"`
}

// validateGLTFJSON checks a glTF document; binLen is the length of the
// GLB's binary chunk, or -1 for .gltf files and GLBs without one.
func validateGLTFJSON(raw []byte, binLen int64) error {
	var doc gltfDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Errorf(EINVALID, "The site model's glTF JSON is malformed: %v.", err)
	}
	if doc.Asset == nil || !strings.HasPrefix(doc.Asset.Version, "2.") {
		return Errorf(EINVALID, "The site model is not glTF 2.0 (asset.version must be \"2.0\").")
	}
	sizes := make([]int64, len(doc.Buffers))
	for i, b := range doc.Buffers {
		switch {
		case b.URI == nil && i == 0 && binLen >= 0:
			if b.ByteLength > binLen {
				return Errorf(EINVALID, "The GLB file is truncated: buffers[0] needs %d bytes, its binary chunk holds %d.", b.ByteLength, binLen)
			}
		case b.URI == nil:
			return Errorf(EINVALID, "buffers[%d] has no data: embed it as a data: URI or export a .glb.", i)
		default:
			n, err := dataURILen(*b.URI)
			if err != nil {
				return Errorf(EINVALID, "buffers[%d]: %s", i, err.Error())
			}
			if n < b.ByteLength {
				return Errorf(EINVALID, "buffers[%d] is truncated: byteLength is %d, its data holds %d bytes.", i, b.ByteLength, n)
			}
		}
		sizes[i] = b.ByteLength
	}
	for i, v := range doc.BufferViews {
		if v.Buffer < 0 || v.Buffer >= len(sizes) {
			return Errorf(EINVALID, "bufferViews[%d] refers to buffer %d, which does not exist.", i, v.Buffer)
		}
		if v.ByteOffset < 0 || v.ByteLength < 0 || v.ByteOffset+v.ByteLength > sizes[v.Buffer] {
			return Errorf(EINVALID, "bufferViews[%d] reaches past the end of buffers[%d].", i, v.Buffer)
		}
	}
	for i, img := range doc.Images {
		if img.URI == nil {
			continue // read from a buffer view
		}
		if _, err := dataURILen(*img.URI); err != nil {
			return Errorf(EINVALID, "images[%d]: %s", i, err.Error())
		}
	}
	return nil
}

// dataURILen decodes a base64 data: URI's length; any other URI is refused,
// since the browser would fetch it from elsewhere.
func dataURILen(uri string) (int64, error) {
	if !strings.HasPrefix(uri, "data:") {
		return 0, fmt.Errorf("refers to an external file %q; only embedded data (a .glb, or data: URIs) is accepted", truncateText(uri, 80))
	}
	meta, payload, ok := strings.Cut(uri, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return 0, fmt.Errorf("has a data: URI that is not base64")
	}
	n, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return 0, fmt.Errorf("has a data: URI whose base64 is malformed")
	}
	return int64(len(n)), nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// EncodeGLB frames a glTF JSON document and its binary buffer (nil for
// none) as a GLB file, padding both chunks to four bytes as the format
// requires.
func EncodeGLB(doc, bin []byte) []byte {
	pad := func(b []byte, with byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, with)
		}
		return b
	}
	doc = pad(append([]byte(nil), doc...), ' ')
	n := 12 + 8 + len(doc)
	if bin != nil {
		bin = pad(append([]byte(nil), bin...), 0)
		n += 8 + len(bin)
	}
	out := make([]byte, 0, n)
	out = binary.LittleEndian.AppendUint32(out, glbMagic)
	out = binary.LittleEndian.AppendUint32(out, 2)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(doc)))
	out = binary.LittleEndian.AppendUint32(out, glbChunkJSON)
	out = append(out, doc...)
	if bin != nil {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(bin)))
		out = binary.LittleEndian.AppendUint32(out, glbChunkBIN)
		out = append(out, bin...)
	}
	return out
}
