package demo

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"

	"github.com/dtbase/dtbase"
)

// The farm's layout in the demo schema's frame (metres; x along the
// tunnels, y across them, z up), matching spot.coordinates: column c of the
// growing zones sits at x = 1.2·c, aisle A at y = 0, aisle B at y = 2.4,
// the walkway between them at y = 1.2, shelf n at z = 0.5·n.
const (
	bay        = 1.2 // column pitch
	rackDepth  = 0.9 // across the aisle
	shelfPitch = 0.5
	shelves    = 4
	vaultR     = 3.1 // tunnel radius, centred on the walkway
	walkwayY   = 1.2
)

// tunnels are the two growing tunnels as column ranges: Farm1 and Farm2.
var tunnels = []struct {
	name          string
	first, last   int
	bulkheadAfter bool
}{{"Farm1", 1, 21, true}, {"Farm2", 23, 34, false}}

// rooms are the other zones, drawn as simple boxes: x from, x to.
var rooms = []struct {
	name   string
	x0, x1 float64
}{{"Lobby", -12.6, -9.6}, {"Stairs", -9.6, -6.6}, {"Entrance", -6.6, -1.2},
	{"Propagation", 44, 48.6}, {"R&D", 49.4, 55.6}, {"Retired", 56.4, 59.6}, {"Tunnel7", 63.4, 67}}

// FarmModel returns a GLB model of the CROP farm: two vaulted tunnels with
// a shelving rack along each aisle (posts at every column, four shelves
// with crop trays), a concrete floor and walkway, bulkheads between the
// tunnels, and the other rooms as boxes, all at the demo's coordinates, so
// the demo's sensors sit on their shelves. glTF is y-up: a point (x, y, z)
// of the schema is (x, z, −y) in the model.
func FarmModel() []byte {
	var b glbBuilder
	floor := b.mesh("floor", [4]float32{0.45, 0.46, 0.47, 1}, false)
	walk := b.mesh("walkway", [4]float32{0.62, 0.6, 0.55, 1}, false)
	steel := b.mesh("racks", [4]float32{0.55, 0.62, 0.7, 1}, false)
	tray := b.mesh("shelves", [4]float32{0.86, 0.88, 0.9, 1}, false)
	crop := b.mesh("crops", [4]float32{0.3, 0.62, 0.25, 1}, false)
	rib := b.mesh("vault ribs", [4]float32{0.78, 0.76, 0.72, 1}, false)
	vault := b.mesh("vault", [4]float32{0.85, 0.83, 0.78, 0.16}, true)
	room := b.mesh("rooms", [4]float32{0.7, 0.72, 0.8, 0.22}, true)
	roomFloor := b.mesh("room floors", [4]float32{0.5, 0.52, 0.56, 1}, false)

	for _, t := range tunnels {
		x0, x1 := bay*float64(t.first)-bay/2, bay*float64(t.last)+bay/2
		floor.box(x0, x1, walkwayY-vaultR, walkwayY+vaultR, -0.12, 0)
		walk.box(x0, x1, walkwayY-0.55, walkwayY+0.55, 0, 0.01)
		for _, aisleY := range []float64{0, 2.4} {
			y0, y1 := aisleY-rackDepth/2, aisleY+rackDepth/2
			for c := t.first; c <= t.last+1; c++ {
				x := bay*float64(c) - bay/2
				for _, y := range []float64{y0, y1} {
					steel.box(x-0.03, x+0.03, y-0.03, y+0.03, 0, shelfPitch*shelves+0.35)
				}
			}
			for n := 1; n <= shelves; n++ {
				z := shelfPitch*float64(n) - 0.12
				tray.box(x0, x1, y0, y1, z-0.03, z)
				for c := t.first; c <= t.last; c++ {
					cx := bay * float64(c)
					crop.box(cx-0.5, cx+0.5, y0+0.08, y1-0.08, z, z+0.07)
				}
			}
		}
		// The vault: a translucent half cylinder over the tunnel, with ribs.
		const segs = 18
		for i := 0; i < segs; i++ {
			a0, a1 := math.Pi*float64(i)/segs, math.Pi*float64(i+1)/segs
			vault.arcPanel(x0, x1, a0, a1)
		}
		for x := x0; x <= x1+1e-9; x += 2 * bay {
			for i := 0; i < segs; i++ {
				a0, a1 := math.Pi*float64(i)/segs, math.Pi*float64(i+1)/segs
				rib.arcBeam(x, a0, a1)
			}
		}
		if t.bulkheadAfter {
			rib.box(x1, x1+0.25, walkwayY-vaultR, walkwayY-0.7, 0, 2.6)
			rib.box(x1, x1+0.25, walkwayY+0.7, walkwayY+vaultR, 0, 2.6)
		}
	}
	for _, r := range rooms {
		roomFloor.box(r.x0, r.x1, -0.6, 3.0, -0.12, 0)
		room.box(r.x0+0.05, r.x1-0.05, -0.55, 2.95, 0, 2.6)
	}
	return b.encode()
}

// glbBuilder collects meshes of boxes and panels, one per material.
type glbBuilder struct{ meshes []*glbMesh }

type glbMesh struct {
	name     string
	color    [4]float32
	blend    bool
	pos, nrm []float32
	idx      []uint32
}

func (b *glbBuilder) mesh(name string, color [4]float32, blend bool) *glbMesh {
	m := &glbMesh{name: name, color: color, blend: blend}
	b.meshes = append(b.meshes, m)
	return m
}

// gl converts a schema point to glTF's y-up frame.
func gl(x, y, z float64) [3]float32 { return [3]float32{float32(x), float32(z), float32(-y)} }

// quad adds the face a, b, c, d (counter-clockwise seen from outside).
func (m *glbMesh) quad(a, b, c, d [3]float32) {
	u := [3]float32{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
	v := [3]float32{d[0] - a[0], d[1] - a[1], d[2] - a[2]}
	n := [3]float32{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
	l := float32(math.Sqrt(float64(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])))
	if l > 0 {
		n = [3]float32{n[0] / l, n[1] / l, n[2] / l}
	}
	base := uint32(len(m.pos) / 3)
	for _, p := range [][3]float32{a, b, c, d} {
		m.pos = append(m.pos, p[0], p[1], p[2])
		m.nrm = append(m.nrm, n[0], n[1], n[2])
	}
	m.idx = append(m.idx, base, base+1, base+2, base, base+2, base+3)
}

// box adds an axis-aligned box given in the schema's frame.
func (m *glbMesh) box(x0, x1, y0, y1, z0, z1 float64) {
	p := func(x, y, z float64) [3]float32 { return gl(x, y, z) }
	m.quad(p(x0, y0, z1), p(x1, y0, z1), p(x1, y1, z1), p(x0, y1, z1)) // top
	m.quad(p(x0, y1, z0), p(x1, y1, z0), p(x1, y0, z0), p(x0, y0, z0)) // bottom
	m.quad(p(x0, y0, z0), p(x1, y0, z0), p(x1, y0, z1), p(x0, y0, z1)) // y0 side
	m.quad(p(x1, y1, z0), p(x0, y1, z0), p(x0, y1, z1), p(x1, y1, z1)) // y1 side
	m.quad(p(x1, y0, z0), p(x1, y1, z0), p(x1, y1, z1), p(x1, y0, z1)) // x1 end
	m.quad(p(x0, y1, z0), p(x0, y0, z0), p(x0, y0, z1), p(x0, y1, z1)) // x0 end
}

// arc returns the point of the vault at angle a (0 at y = walkway − R).
func arc(x, a, r float64) [3]float32 {
	return gl(x, walkwayY-r*math.Cos(a), r*math.Sin(a))
}

// arcPanel adds one strip of the vault between angles a0 and a1.
func (m *glbMesh) arcPanel(x0, x1, a0, a1 float64) {
	m.quad(arc(x0, a0, vaultR), arc(x0, a1, vaultR), arc(x1, a1, vaultR), arc(x1, a0, vaultR))
}

// arcBeam adds one segment of a rib at x between angles a0 and a1.
func (m *glbMesh) arcBeam(x, a0, a1 float64) {
	const w, t = 0.08, 0.12
	in, out := vaultR-t, vaultR
	m.quad(arc(x-w, a0, in), arc(x+w, a0, in), arc(x+w, a1, in), arc(x-w, a1, in))
	m.quad(arc(x+w, a0, out), arc(x-w, a0, out), arc(x-w, a1, out), arc(x+w, a1, out))
	m.quad(arc(x-w, a0, out), arc(x-w, a0, in), arc(x-w, a1, in), arc(x-w, a1, out))
	m.quad(arc(x+w, a0, in), arc(x+w, a0, out), arc(x+w, a1, out), arc(x+w, a1, in))
}

// encode writes the meshes as one GLB: per mesh, a position, a normal and
// an index buffer view in one binary buffer.
func (b *glbBuilder) encode() []byte {
	type obj = map[string]any
	var bin []byte
	var views, accessors, meshes, materials, nodes []obj
	view := func(data []byte, target int) int {
		views = append(views, obj{"buffer": 0, "byteOffset": len(bin), "byteLength": len(data), "target": target})
		bin = append(bin, data...)
		for len(bin)%4 != 0 {
			bin = append(bin, 0)
		}
		return len(views) - 1
	}
	floats := func(fs []float32) []byte {
		out := make([]byte, 0, 4*len(fs))
		for _, f := range fs {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(f))
		}
		return out
	}
	// Opaque parts first, so renderers that keep node order draw the
	// translucent vault over them.
	ms := slices.Clone(b.meshes)
	slices.SortStableFunc(ms, func(x, y *glbMesh) int {
		if x.blend == y.blend {
			return 0
		}
		if y.blend {
			return -1
		}
		return 1
	})
	for _, m := range ms {
		if len(m.idx) == 0 {
			continue
		}
		lo, hi := []float32{math.MaxFloat32, math.MaxFloat32, math.MaxFloat32}, []float32{-math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32}
		for i, v := range m.pos {
			lo[i%3], hi[i%3] = min(lo[i%3], v), max(hi[i%3], v)
		}
		n := len(m.pos) / 3
		accessors = append(accessors,
			obj{"bufferView": view(floats(m.pos), 34962), "componentType": 5126, "count": n, "type": "VEC3", "min": lo, "max": hi},
			obj{"bufferView": view(floats(m.nrm), 34962), "componentType": 5126, "count": n, "type": "VEC3"})
		idx := make([]byte, 0, 4*len(m.idx))
		for _, i := range m.idx {
			idx = binary.LittleEndian.AppendUint32(idx, i)
		}
		accessors = append(accessors, obj{"bufferView": view(idx, 34963), "componentType": 5125, "count": len(m.idx), "type": "SCALAR"})
		a := len(accessors) - 3
		mat := obj{"name": m.name, "pbrMetallicRoughness": obj{"baseColorFactor": m.color, "metallicFactor": 0, "roughnessFactor": 0.85}}
		if m.blend {
			mat["alphaMode"], mat["doubleSided"] = "BLEND", true
		}
		materials = append(materials, mat)
		meshes = append(meshes, obj{"name": m.name, "primitives": []obj{{
			"attributes": obj{"POSITION": a, "NORMAL": a + 1}, "indices": a + 2, "material": len(materials) - 1}}})
		nodes = append(nodes, obj{"name": m.name, "mesh": len(meshes) - 1})
	}
	roots := make([]int, len(nodes))
	for i := range roots {
		roots[i] = i
	}
	doc, _ := json.Marshal(obj{
		"asset":       obj{"version": "2.0", "generator": "dtbase demo (demo.FarmModel)"},
		"scene":       0,
		"scenes":      []obj{{"name": "CROP farm", "nodes": roots}},
		"nodes":       nodes,
		"meshes":      meshes,
		"materials":   materials,
		"accessors":   accessors,
		"bufferViews": views,
		"buffers":     []obj{{"byteLength": len(bin)}},
	})
	return dtbase.EncodeGLB(doc, bin)
}
