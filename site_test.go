package dtbase_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

func glb(doc string, bin []byte) []byte { return dtbase.EncodeGLB([]byte(doc), bin) }

const okDoc = `{"asset":{"version":"2.0"},"buffers":[{"byteLength":8}],"bufferViews":[{"buffer":0,"byteLength":8}]}`

func TestValidateSiteModel(t *testing.T) {
	good := glb(okDoc, make([]byte, 8))
	withHeaderLen := func(b []byte, n uint32) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[8:], n)
		return b
	}
	tests := []struct {
		name   string
		data   []byte
		max    int64
		format string
		code   string
		msg    string
	}{
		{"glb", good, 0, dtbase.SiteFormatGLB, "", ""},
		{"gltf with data uri", []byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":3,"uri":"data:application/octet-stream;base64,AAEC"}],"bufferViews":[{"buffer":0,"byteLength":3}]}`), 0, dtbase.SiteFormatGLTF, "", ""},
		{"empty", nil, 0, "", dtbase.EINVALID, "empty"},
		{"not gltf", []byte("solid cube\nfacet normal 0 0 1\n"), 0, "", dtbase.EINVALID, "neither"},
		{"json not gltf", []byte(`{"type":"FeatureCollection"}`), 0, "", dtbase.EINVALID, "not glTF 2.0"},
		{"gltf 1", []byte(`{"asset":{"version":"1.0"}}`), 0, "", dtbase.EINVALID, "not glTF 2.0"},
		{"truncated glb", good[:len(good)-5], 0, "", dtbase.EINVALID, "truncated"},
		{"truncated header", good[:9], 0, "", dtbase.EINVALID, "truncated"},
		{"truncated chunk", withHeaderLen(good[:30], 30), 0, "", dtbase.EINVALID, "truncated"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), 0, "", dtbase.EINVALID, "after the"},
		{"bin shorter than buffer", glb(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":64}]}`, make([]byte, 8)), 0, "", dtbase.EINVALID, "truncated"},
		{"view past buffer", glb(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":8}],"bufferViews":[{"buffer":0,"byteOffset":4,"byteLength":8}]}`, make([]byte, 8)), 0, "", dtbase.EINVALID, "past the end"},
		{"external buffer", []byte(`{"asset":{"version":"2.0"},"buffers":[{"byteLength":8,"uri":"farm.bin"}]}`), 0, "", dtbase.EINVALID, "external file"},
		{"external image in glb", glb(`{"asset":{"version":"2.0"},"images":[{"uri":"https://example.org/t.png"}]}`, nil), 0, "", dtbase.EINVALID, "external file"},
		{"too large", good, int64(len(good)) - 1, "", dtbase.ETOOLARGE, "DT_SITE_MODEL_MAX_BYTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, err := dtbase.ValidateSiteModel(tt.data, tt.max)
			if got := dtbase.ErrorCode(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if err != nil && !strings.Contains(dtbase.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q, want it to mention %q", dtbase.ErrorMessage(err), tt.msg)
			}
			if err == nil && format != tt.format {
				t.Errorf("format %q, want %q", format, tt.format)
			}
		})
	}
}

func TestSitePlacementValidate(t *testing.T) {
	s := &dtbase.LocationSchema{Name: "farm", Identifiers: []dtbase.Identifier{
		{Name: "x", Datatype: dtbase.Float}, {Name: "y", Datatype: dtbase.Integer}, {Name: "zone", Datatype: dtbase.String}}}
	def := dtbase.DefaultSitePlacement(s)
	if def.X != "x" || def.Y != "y" || def.Z != "" || def.Unit != "m" {
		t.Fatalf("default placement %+v", def)
	}
	for _, tt := range []struct {
		name string
		p    dtbase.SitePlacement
		msg  string
	}{
		{"ok", dtbase.SitePlacement{X: "x", Y: "y", Unit: "cm"}, ""},
		{"no x", dtbase.SitePlacement{Y: "y", Unit: "m"}, "holds x"},
		{"unknown", dtbase.SitePlacement{X: "x", Y: "y", Z: "h", Unit: "m"}, "no identifier 'h'"},
		{"string", dtbase.SitePlacement{X: "zone", Y: "y", Unit: "m"}, "not numbers"},
		{"unit", dtbase.SitePlacement{X: "x", Y: "y", Unit: "furlong"}, "unit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(s)
			if (err == nil) != (tt.msg == "") || (err != nil && !strings.Contains(err.Error(), tt.msg)) {
				t.Fatalf("Validate: %v, want %q", err, tt.msg)
			}
		})
	}
}
