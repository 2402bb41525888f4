package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestSensorTypeRetentionForm(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	b := e.signIn("admin@example.com")
	set := func(days string) {
		t.Helper()
		b.mustSubmit("/sensors/types/retention", url.Values{"name": {"Aranet CO2"}, "retention_days": {days}}, "/sensors")
	}
	set("90")
	if got, err := e.db.ListSensorTypeRetentions(ctx); err != nil || len(got) != 1 || got[0].Days != 90 {
		t.Fatalf("after setting 90: %+v %v", got, err)
	}
	if body := b.get("/sensors").Body; !regexp.MustCompile(`<input id="keep-Aranet CO2" name="retention_days"[^>]* value="90"`).MatchString(body) {
		t.Errorf("the page does not show 90 days for Aranet CO2")
	}
	set("-3")
	if body := b.get("/sensors").Body; !strings.Contains(body, "flash-error") || !strings.Contains(body, "whole number") {
		t.Errorf("a negative number was not refused")
	}
	set("")
	if got, _ := e.db.ListSensorTypeRetentions(ctx); len(got) != 0 {
		t.Errorf("an empty field kept %+v", got)
	}

	// Editors see the setting, not the form, and cannot post it.
	v := e.signIn("editor@example.com")
	if body := v.get("/sensors").Body; strings.Contains(body, "/sensors/types/retention") || !strings.Contains(body, "server default") {
		t.Errorf("an editor's page shows the form or no setting")
	}
	if res := v.submit("/sensors/types/retention", url.Values{"name": {"Aranet CO2"}, "retention_days": {"1"}}, "/sensors"); res.Status != http.StatusForbidden {
		t.Errorf("an editor's post: %d", res.Status)
	}
}
