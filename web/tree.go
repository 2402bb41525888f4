package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
)

// treeStaleAfter (the page says "an hour") is how long a sensor may be silent before the tree marks
// it stale: the tree shows many sensors at once, so it uses one threshold
// rather than the dashboard's per-series interval.
const treeStaleAfter = time.Hour

// TreeBadges adds badges to the tree's nodes: a hook for alerts, which
// roll up the same way as stale sensors. It returns, by location id, the
// badges of the location itself.
type TreeBadges func(r *http.Request) (map[int64][]string, error)

// treeNode is a location of the tree page with its rolled-up figures.
type treeNode struct {
	ID       int64
	Schema   string
	Label    string
	Sensors  []string
	Total    int // sensors at it or under it
	Stale    int // of those, silent for over treeStaleAfter
	Badges   []string
	Children []*treeNode
	Open     bool
}

type treeData struct {
	Roots []*treeNode
	All   []*treeNode // every node, for the move form
}

func (h *Handler) treePage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	nodes, err := h.store.LocationTree(ctx)
	if err != nil {
		return err
	}
	latest, err := h.store.LatestReadings(ctx, dtbase.LatestReadingFilter{})
	if err != nil {
		return err
	}
	newest := map[string]time.Time{}
	for _, l := range latest {
		if l.Time.After(newest[l.UniqueIdentifier]) {
			newest[l.UniqueIdentifier] = l.Time
		}
	}
	var badges map[int64][]string
	if h.cfg.TreeBadges != nil {
		if badges, err = h.cfg.TreeBadges(r); err != nil {
			return err
		}
	}
	byID := map[int64]*treeNode{}
	d := &treeData{}
	for _, n := range nodes {
		tn := &treeNode{ID: n.ID, Schema: n.Schema, Label: nodeLabel(&n.Location), Sensors: n.Sensors, Badges: badges[n.ID]}
		byID[n.ID] = tn
		d.All = append(d.All, tn)
	}
	for _, n := range nodes {
		if n.ParentID != nil && byID[*n.ParentID] != nil {
			byID[*n.ParentID].Children = append(byID[*n.ParentID].Children, byID[n.ID])
		} else {
			d.Roots = append(d.Roots, byID[n.ID])
		}
	}
	now := h.now()
	var roll func(n *treeNode)
	roll = func(n *treeNode) {
		n.Total = len(n.Sensors)
		for _, uid := range n.Sensors {
			if t, ok := newest[uid]; !ok || now.Sub(t) > treeStaleAfter {
				n.Stale++
			}
		}
		for _, c := range n.Children {
			roll(c)
			n.Total += c.Total
			n.Stale += c.Stale
			if len(c.Badges) > 0 {
				n.Badges = append(n.Badges, c.Badges...)
			}
		}
		slices.Sort(n.Badges)
		n.Badges = slices.Compact(n.Badges)
		n.Open = len(n.Children) > 0 && len(n.Children) <= 12
	}
	for _, n := range d.Roots {
		roll(n)
	}
	h.render(w, r, http.StatusOK, "tree.html", &view{Title: "Location tree", Nav: "tree", Session: s, Data: d})
	return nil
}

// nodeLabel names a location by its first string value ("name" when the
// schema has one), or by all of its coordinates.
func nodeLabel(l *dtbase.Location) string {
	for i, id := range l.Identifiers {
		if id.Name == "name" {
			return formatValue(l.Values[i])
		}
	}
	return coordsText(l)
}

// moveLocation puts a location, with its subtree, under another (or at the
// root when parent is empty).
func (h *Handler) moveLocation(r *http.Request, s *session) (string, string, error) {
	id, err := strconv.ParseInt(r.PostFormValue("location"), 10, 64)
	if err != nil {
		return "/tree", "", invalid("Choose the location to move.")
	}
	var parent *int64
	if p := r.PostFormValue("parent"); p != "" {
		pid, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return "/tree", "", invalid("Choose the new parent.")
		}
		parent = &pid
	}
	if err := h.store.SetLocationParent(r.Context(), id, parent); err != nil {
		return "/tree", "", err
	}
	return "/tree", "Location moved.", nil
}
