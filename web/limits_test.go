package web

import (
	"context"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

// TestFormTextLimits checks that the forms follow the domain's limits,
// counted in characters as the API counts them: a sensor name of 100
// two-byte characters is accepted (the forms once counted bytes), one more
// is refused with a message naming the field and the limit, and the
// inputs' maxlength attributes carry the same number.
func TestFormTextLimits(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	b := e.signIn("editor@example.com")
	types, err := e.db.ListSensorTypes(ctx)
	if err != nil || len(types) == 0 {
		t.Fatalf("types %v %v", types, err)
	}
	typ := types[0].Name

	atLimit := strings.Repeat("é", dtbase.MaxNameLen)
	b.mustSubmit("/sensors/create", url.Values{"type": {typ}, "unique_identifier": {atLimit}, "name": {atLimit}}, "/sensors/new")
	det, err := e.db.FindSensorDetails(ctx, atLimit)
	if err != nil || derefString(det.Name) != atLimit {
		t.Fatalf("sensor at the limit not created: %v", err)
	}

	for _, c := range []struct {
		path, from string
		form       url.Values
		want       string
	}{
		{"/sensors/create", "/sensors/new", url.Values{"type": {typ}, "unique_identifier": {atLimit + "é"}}, "unique_identifier is too long: at most 100 characters, got 101."},
		{"/sensors/create", "/sensors/new", url.Values{"type": {typ}, "unique_identifier": {"s-long-name"}, "name": {atLimit + "é"}}, "name is too long: at most 100 characters, got 101."},
		{"/sensors/edit", "/sensors/new", url.Values{"id": {atLimit}, "name": {"n"}, "notes": {strings.Repeat("n", dtbase.MaxNotesLen+1)}}, "notes is too long: at most 10000 characters"},
		{"/sensors/types/create", "/sensors/types/new", url.Values{"name": {"T2"}, "new_name": {atLimit + "é"}, "new_units": {""}, "new_datatype": {"float"}}, "New measure 1: name is too long: at most 100 characters, got 101."},
		{"/locations/schemas/create", "/locations", url.Values{"name": {"L2"}, "new_name": {"x", "y"}, "new_units": {"", atLimit + "é"}, "new_datatype": {"float", "float"}}, "New identifier 2: units is too long: at most 100 characters, got 101."},
		{"/models/create", "/models", url.Values{"name": {atLimit + "é"}}, "name is too long"},
		{"/models/scenarios/create", "/models", url.Values{"model": {"arima"}, "description": {strings.Repeat("d", dtbase.MaxDescriptionLen+1)}}, "description is too long: at most 500 characters"},
	} {
		b.mustSubmit(c.path, c.form, c.from)
		page := html.UnescapeString(b.get(c.from).Body)
		i := strings.Index(page, `class="flash`)
		if i < 0 || !strings.Contains(page[i:min(len(page), i+400)], c.want) {
			t.Errorf("%s: no flash %q", c.path, c.want)
		}
	}
	if _, err := e.db.FindSensorDetails(ctx, "s-long-name"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("sensor with a long name created: %v", err)
	}

	page := b.get("/sensors/new").Body
	if want := `maxlength="` + strconv.Itoa(dtbase.MaxNameLen) + `"`; !strings.Contains(page, want) {
		t.Errorf("/sensors/new has no %s", want)
	}
}
