package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
	"github.com/google/go-cmp/cmp"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	t.Run("anonymous visitors go to the login page and come back", func(t *testing.T) {
		b := e.browser()
		p := b.get("/sensors?type=x")
		if p.Status != http.StatusSeeOther || p.Location != "/login?next=%2Fsensors%3Ftype%3Dx" {
			t.Fatalf("got %d to %q", p.Status, p.Location)
		}
		lp := b.get(p.Location)
		if !strings.Contains(lp.Body, `name="next" value="/sensors?type=x"`) {
			t.Fatalf("next not kept in the form:\n%s", lp.Body)
		}
		res := b.post("/login", url.Values{"email": {"viewer@example.com"}, "password": {testPassword}, "csrf_token": {csrf(t, lp)}, "next": {"/sensors?type=x"}}, "/login")
		if res.Status != http.StatusSeeOther || res.Location != "/sensors?type=x" {
			t.Fatalf("got %d to %q", res.Status, res.Location)
		}
		var session *http.Cookie
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			if c.Name == sessionCookie {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", session)
		}
		if p := b.get("/sensors"); p.Status != http.StatusOK {
			t.Fatalf("after login: %d", p.Status)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		b := e.browser()
		res := b.sendLogin("viewer@example.com", "nope", nil)
		if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Incorrect email or password.") {
			t.Fatalf("got %d:\n%s", res.Status, res.Body)
		}
		b.wantSignedOut(t, "after a wrong password, the browser")
	})
	t.Run("next must stay on this site", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
			res := e.browser().sendLogin("viewer@example.com", testPassword, url.Values{"next": {next}})
			if res.Status != http.StatusSeeOther || res.Location != "/" {
				t.Errorf("next %q: got %d to %q", next, res.Status, res.Location)
			}
		}
	})
	t.Run("secure cookie behind TLS", func(t *testing.T) {
		b := e.browser()
		lp := b.get("/login")
		form := url.Values{"email": {"viewer@example.com"}, "password": {testPassword}, "csrf_token": {csrf(t, lp)}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		res := b.do(req)
		if !strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), "\n"), "Secure") {
			t.Fatalf("no Secure cookie: %v", res.Header.Values("Set-Cookie"))
		}
	})
	t.Run("sign out", func(t *testing.T) {
		b := e.signIn("viewer@example.com")
		b.mustEndSession(t, "/logout", url.Values{}, "/")
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("admin@example.com")
	form := func(tok string) url.Values {
		v := url.Values{"email": {"new@example.com"}, "password": {"long enough"}, "role": {"viewer"}}
		if tok != "" {
			v.Set("csrf_token", tok)
		}
		return v
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusForbidden},
		{"wrong token", "forged", http.StatusForbidden},
		{"another session's token", e.signIn("editor@example.com").token, http.StatusForbidden},
		{"the session's token", b.token, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.post("/users/create", form(tc.token), "/users")
			if res.Status != tc.want {
				t.Fatalf("got %d, want %d:\n%s", res.Status, tc.want, res.Body)
			}
			_, err := e.db.FindUserByEmail(context.Background(), "new@example.com")
			if created := err == nil; created != (tc.want == http.StatusSeeOther) {
				t.Fatalf("user created: %v", created)
			}
		})
	}
	t.Run("login form needs its token", func(t *testing.T) {
		nb := e.browser()
		res := nb.post("/login", url.Values{"email": {"admin@example.com"}, "password": {testPassword}}, "/login")
		if res.Status != http.StatusForbidden {
			t.Fatalf("got %d", res.Status)
		}
	})
	t.Run("island endpoints refuse anonymous calls", func(t *testing.T) {
		nb := e.browser()
		if p := nb.get("/ui/api/series?sensor=a&measure=1&from=2024-01-01&to=2024-01-02"); p.Status != http.StatusUnauthorized {
			t.Fatalf("got %d", p.Status)
		}
	})
}

// writeControls finds forms that change data on a page; the sign-out form
// does not count.
func writeControls(body string) []string {
	var found []string
	for _, part := range strings.Split(body, `<form method="post" action="`)[1:] {
		action, _, _ := strings.Cut(part, `"`)
		if action != "/logout" && action != "/account/password" && action != "/account/logout-everywhere" {
			found = append(found, action)
		}
	}
	return found
}

func TestRoles(t *testing.T) {
	e := newSeededEnv(t)
	pages := []string{"/", "/sensors", "/sensors/view?id=sensor-a", "/explorer", "/readings", "/locations",
		"/locations/schema?name=farm-xyz", "/models", "/models/run?id=" + firstRunID(t, e), "/services", "/services/view?name=echo"}
	t.Run("viewers see no write controls", func(t *testing.T) {
		b := e.signIn("viewer@example.com")
		for _, p := range pages {
			res := b.get(p)
			if res.Status != http.StatusOK {
				t.Errorf("%s: %d", p, res.Status)
				continue
			}
			if c := writeControls(res.Body); len(c) > 0 {
				t.Errorf("%s shows write controls to a viewer: %v", p, c)
			}
			for _, link := range []string{`href="/sensors/new`, `href="/sensors/types/new"`, `href="/users"`} {
				if strings.Contains(res.Body, link) {
					t.Errorf("%s shows %s to a viewer", p, link)
				}
			}
		}
		for _, p := range []string{"/users", "/sensors/new", "/sensors/types/new"} {
			if res := b.get(p); res.Status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", p, res.Status)
			}
		}
		token := csrf(t, b.get("/"))
		res := b.post("/sensors/delete", url.Values{"id": {"sensor-a"}, "csrf_token": {token}}, "/sensors/view?id=sensor-a")
		if res.Status != http.StatusForbidden {
			t.Fatalf("viewer deleting a sensor: %d", res.Status)
		}
	})
	t.Run("editors see write controls but no user admin", func(t *testing.T) {
		b := e.signIn("editor@example.com")
		for _, p := range []string{"/sensors/view?id=sensor-a", "/locations/schema?name=farm-xyz", "/services/view?name=echo", "/models"} {
			if c := writeControls(b.get(p).Body); len(c) == 0 {
				t.Errorf("%s shows no write controls to an editor", p)
			}
		}
		home := b.get("/")
		if strings.Contains(home.Body, `href="/users"`) {
			t.Error("editor sees the users link")
		}
		if res := b.get("/users"); res.Status != http.StatusForbidden {
			t.Errorf("/users: %d", res.Status)
		}
	})
	t.Run("admins manage users", func(t *testing.T) {
		b := e.signIn("admin@example.com")
		if res := b.get("/users"); res.Status != http.StatusOK || !strings.Contains(res.Body, "viewer@example.com") {
			t.Fatalf("/users: %d", res.Status)
		}
	})
}

func firstRunID(t *testing.T, e *testEnv) string {
	runs, err := e.db.ListModelRuns(context.Background(), dtbase.ModelRunFilter{ModelName: "arima", From: time.Unix(0, 0), To: e.clock().Add(time.Hour)})
	if err != nil || len(runs) == 0 {
		t.Fatalf("model runs: %v %v", runs, err)
	}
	return strconv.FormatInt(runs[0].ID, 10)
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("editor@example.com")
	if p := b.get("/sensors"); p.Status != http.StatusOK {
		t.Fatal(p.Status)
	}
	e.advance(2 * time.Hour)
	p := b.get("/sensors?q=abc")
	if p.Status != http.StatusSeeOther || p.Location != "/login?expired=1&next=%2Fsensors%3Fq%3Dabc" {
		t.Fatalf("expired session: %d to %q", p.Status, p.Location)
	}
	lp := b.get(p.Location)
	if !strings.Contains(lp.Body, "Your session has expired") {
		t.Fatalf("no expiry message:\n%s", lp.Body)
	}
	res := b.post("/login", url.Values{"email": {"editor@example.com"}, "password": {testPassword}, "csrf_token": {csrf(t, lp)}, "next": {"/sensors?q=abc"}}, "/login")
	if res.Status != http.StatusSeeOther || res.Location != "/sensors?q=abc" {
		t.Fatalf("back after login: %d to %q", res.Status, res.Location)
	}
	t.Run("a form sent after expiry returns to its page", func(t *testing.T) {
		token := csrf(t, b.get("/sensors"))
		e.advance(2 * time.Hour)
		res := b.post("/sensors/types/delete", url.Values{"name": {"x"}, "csrf_token": {token}}, "/sensors?type=T")
		if res.Status != http.StatusSeeOther || res.Location != "/login?expired=1&next=%2Fsensors%3Ftype%3DT" {
			t.Fatalf("got %d to %q", res.Status, res.Location)
		}
	})
	t.Run("use renews the session", func(t *testing.T) {
		b := e.signIn("viewer@example.com")
		for i := 0; i < 4; i++ {
			e.advance(40 * time.Minute)
			if p := b.get("/"); p.Status != http.StatusOK {
				t.Fatalf("after %d × 40 min of use: %d", i+1, p.Status)
			}
		}
	})
	t.Run("a new password ends other sessions", func(t *testing.T) {
		b, other := e.signIn("viewer@example.com"), e.signIn("viewer@example.com")
		b.mustEndSession(t, "/account/password", url.Values{"current": {testPassword}, "password": {"a new password"}, "confirm": {"a new password"}}, "/account")
		other.wantSignedOut(t, "the other session")
	})
}

// TestDeleteMessages: a delete form says what it deleted, and deleting
// something that others still refer to is refused with a message that says
// what holds it, on the page the form came from.
func TestDeleteMessages(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	if err := e.db.CreateSensorType(ctx, &dtbase.SensorType{Name: "Unused", Measures: []dtbase.Measure{{Name: "level", Datatype: dtbase.Float}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "empty", Identifiers: []dtbase.Identifier{{Name: "room", Datatype: dtbase.String}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateModel(ctx, "untried"); err != nil {
		t.Fatal(err)
	}
	b := e.signIn("editor@example.com")
	for _, tc := range []struct {
		path, referer string
		form          url.Values
		want          string
	}{
		{"/sensors/types/delete", "/sensors", url.Values{"name": {"Aranet CO2"}}, "Sensor type Aranet CO2 still has sensors"},
		{"/sensors/types/delete", "/sensors", url.Values{"name": {"Unused"}}, "Sensor type Unused deleted."},
		{"/sensors/delete", "/sensors/view?id=sensor-a", url.Values{"id": {"sensor-a"}}, "Sensor sensor-a is referred to by model runs"},
		{"/locations/schemas/delete", "/locations", url.Values{"name": {"farm-xyz"}}, "Schema farm-xyz still has locations"},
		{"/locations/schemas/delete", "/locations", url.Values{"name": {"empty"}}, "Location schema empty deleted."},
		{"/models/delete", "/models", url.Values{"name": {"arima"}}, "Model arima has runs"},
		{"/models/delete", "/models", url.Values{"name": {"untried"}}, "Model untried deleted."},
		{"/models/scenarios/delete", "/models?model=arima", url.Values{"model": {"arima"}, "description": {"default"}}, "The scenario has runs"},
		{"/services/delete", "/services", url.Values{"name": {"echo"}}, "Service echo deleted with its parameter sets, schedules and run log."},
	} {
		res := b.submit(tc.path, tc.form, tc.referer)
		if res.Status != http.StatusSeeOther || res.Location != tc.referer {
			t.Errorf("%s %v: %d to %q, want 303 to %q", tc.path, tc.form, res.Status, res.Location, tc.referer)
			continue
		}
		if f := flashOf(b.get(tc.referer).Body); !strings.Contains(f, tc.want) {
			t.Errorf("%s %v: flash %q, want %q", tc.path, tc.form, f, tc.want)
		}
	}
}

func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("admin@example.com")
	post := func(path string, v url.Values) page { return b.submit(path, v, "/users") }
	if p := post("/users/create", url.Values{"email": {"bob@example.com"}, "password": {"long enough"}, "role": {"editor"}}); p.Status != http.StatusSeeOther {
		t.Fatal(p.Status)
	}
	if u, err := e.db.FindUserByEmail(context.Background(), "bob@example.com"); err != nil || u.Role != dtbase.RoleEditor {
		t.Fatalf("bob: %+v %v", u, err)
	}
	for _, refused := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"duplicate user", "/users/create", url.Values{"email": {"bob@example.com"}, "password": {"long enough"}, "role": {"editor"}}, "exists already"},
		{"bad email", "/users/create", url.Values{"email": {"not an email"}, "password": {"long enough"}, "role": {"editor"}}, "not a valid email"},
		{"demoting the last admin", "/users/role", url.Values{"email": {"admin@example.com"}, "role": {"viewer"}}, "only admin"},
		{"deleting oneself", "/users/delete", url.Values{"email": {"admin@example.com"}}, "your own account"},
	} {
		post(refused.path, refused.form)
		if f := flashOf(b.get("/users").Body); !strings.Contains(f, refused.want) {
			t.Errorf("%s: %q", refused.name, f)
		}
	}
	post("/users/role", url.Values{"email": {"bob@example.com"}, "role": {"viewer"}})
	if u, _ := e.db.FindUserByEmail(context.Background(), "bob@example.com"); u.Role != dtbase.RoleViewer {
		t.Errorf("role: %s", u.Role)
	}
	post("/users/password", url.Values{"email": {"bob@example.com"}, "password": {"another one"}})
	if res := e.browser().sendLogin("bob@example.com", "another one", nil); res.Status != http.StatusSeeOther {
		t.Errorf("bob's new password: %d", res.Status)
	}
	post("/users/delete", url.Values{"email": {"bob@example.com"}})
	if _, err := e.db.FindUserByEmail(context.Background(), "bob@example.com"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("bob not deleted: %v", err)
	}

	t.Run("API keys are shown once and work", func(t *testing.T) {
		p := post("/users/keys/create", url.Values{"name": {"ingest"}, "role": {"editor"}})
		if p.Status != http.StatusOK {
			t.Fatalf("create key: %d", p.Status)
		}
		i := strings.Index(p.Body, `id="new-key">`)
		if i < 0 {
			t.Fatal("key not shown")
		}
		key := p.Body[i+len(`id="new-key">`):]
		key = key[:strings.Index(key, "<")]
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/sensor/list-sensor-types", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if res := e.browser().do(req); res.Status != http.StatusOK {
			t.Fatalf("key refused: %d %s", res.Status, res.Body)
		}
		if strings.Contains(b.get("/users").Body, key) {
			t.Fatal("key shown again")
		}
		post("/users/keys/revoke", url.Values{"name": {"ingest"}})
		if res := e.browser().do(req); res.Status != http.StatusUnauthorized {
			t.Fatalf("revoked key: %d", res.Status)
		}
	})
}

// TestPages renders every page on demo-like data and reports each one's
// server time.
func TestPages(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("admin@example.com")
	run := firstRunID(t, e)
	for _, p := range []struct{ path, want string }{
		{"/", "sensor-a"},
		{"/sensors", "Aranet T&amp;RH"},
		{"/sensors?q=sensor-b", "sensor-b"},
		{"/sensors/types/new", "Reuse existing measures"},
		{"/sensors/new", "Unique identifier"},
		{"/sensors/view?id=sensor-a", "Location history"},
		{"/explorer", "data-charts="},
		{"/explorer?type=Aranet+CO2", "Text measures cannot be plotted"},
		{"/readings", "Timestamp (UTC)"},
		{"/readings?type=Aranet+CO2&sensor=sensor-g", "ok"},
		{"/locations", "farm-xyz"},
		{"/locations/schema?name=farm-xyz", "data-scene="},
		{"/models", "Run " + run},
		{"/models/run?id=" + run, "Coverage"},
		{"/services", "echo"},
		{"/services/view?name=echo", "every-hour"},
		{"/users", "API keys"},
		{"/account", "Change password"},
	} {
		res := b.get(p.path)
		if res.Status != http.StatusOK {
			t.Errorf("%s: %d\n%s", p.path, res.Status, res.Body)
			continue
		}
		if !strings.Contains(res.Body, p.want) && !strings.Contains(strings.ToLower(res.Body), strings.ToLower(p.want)) {
			t.Errorf("%s lacks %q", p.path, p.want)
		}
		// The time is a figure, not a check (a busy machine must pass); the
		// browser suite prints page server times as a benchmark.
		t.Logf("%-45s %6.1f ms %6d bytes", p.path, float64(res.Elapsed.Microseconds())/1000, len(res.Body))
	}
	for _, p := range []string{"/nowhere", "/sensors/view?id=nobody", "/models/run?id=999999", "/services/view?name=nobody", "/locations/schema?name=nobody"} {
		if res := b.get(p); res.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.Status)
		}
	}
}

func TestSeriesAndCSV(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("viewer@example.com")
	types, _ := e.db.ListSensorTypes(context.Background())
	var tempID int64
	for _, m := range types[0].Measures {
		if m.Name == "temperature" {
			tempID = m.ID
		}
	}
	end := e.clock().Truncate(10 * time.Minute)
	from, to := end.Add(-24*time.Hour), end
	q := url.Values{"sensor": {"sensor-a"}, "measure": {strconv.FormatInt(tempID, 10)}, "from": {dtbase.FormatTime(from)}, "to": {dtbase.FormatTime(to)}}
	t.Run("series", func(t *testing.T) {
		res := b.get("/ui/api/series?" + q.Encode() + "&points=20")
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var a seriesAnswer
		if err := json.Unmarshal([]byte(res.Body), &a); err != nil {
			t.Fatal(err)
		}
		if a.Stats.Count != 145 || len(a.T) > 20 || len(a.T) < 10 || !a.Downsampled || a.Stats.Min == nil || *a.Stats.Min > *a.Stats.Max {
			t.Fatalf("series: count %d, %d points, downsampled %v, stats %+v", a.Stats.Count, len(a.T), a.Downsampled, a.Stats)
		}
	})
	t.Run("csv has every reading of the range", func(t *testing.T) {
		res := b.get("/ui/api/readings.csv?" + q.Encode())
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s", res.Status, res.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 146 || strings.Join(rows[0], ",") != "unique_identifier,measure_name,measure_units,timestamp,value" ||
			rows[1][3] != dtbase.FormatTime(from) || rows[145][3] != dtbase.FormatTime(to) || rows[1][0] != "sensor-a" {
			t.Fatalf("%d rows, first %v, last %v", len(rows), rows[:2], rows[len(rows)-1])
		}
	})
	t.Run("model run csv", func(t *testing.T) {
		res := b.get("/ui/api/model-run.csv?id=" + firstRunID(t, e))
		rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%d %v", res.Status, err)
		}
		if len(rows[0]) != 5 || rows[0][1] != "Mean temperature (°C)" {
			t.Fatalf("header %v", rows[0])
		}
	})
	t.Run("bad requests are 400 with a reason", func(t *testing.T) {
		for _, p := range []string{"/ui/api/series?sensor=sensor-a&measure=abc&from=2024-01-01&to=2024-01-02",
			"/ui/api/series?sensor=sensor-a&measure=" + strconv.FormatInt(tempID, 10) + "&from=yesterday&to=2024-01-02",
			"/ui/api/readings.csv?sensor=sensor-a&from=2024-01-01&to=2024-01-02"} {
			if res := b.get(p); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "detail") {
				t.Errorf("%s: %d %s", p, res.Status, res.Body)
			}
		}
	})
}

// TestCSVReimport: the explorer's download of several series, strings
// included, imported into an empty database gives the same readings.
func TestCSVReimport(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("viewer@example.com")
	ctx := context.Background()
	types, err := e.db.ListSensorTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	empty := sqldbtest.Open(t)
	q := url.Values{"from": {dtbase.FormatTime(e.clock().Add(-48 * time.Hour))}, "to": {dtbase.FormatTime(e.clock())}}
	var series []dtbase.ReadingMeasure
	for _, typ := range types {
		fresh := dtbase.SensorType{Name: typ.Name}
		for _, m := range typ.Measures {
			fresh.Measures = append(fresh.Measures, dtbase.Measure{Name: m.Name, Units: m.Units, Datatype: m.Datatype})
		}
		if err := empty.CreateSensorType(ctx, &fresh); err != nil {
			t.Fatal(err)
		}
		uid := map[string]string{"Aranet T&RH": "sensor-a", "Aranet CO2": "sensor-g"}[typ.Name]
		if err := empty.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: typ.Name}); err != nil {
			t.Fatal(err)
		}
		for _, m := range typ.Measures {
			q.Add("sensor", uid)
			q.Add("measure", strconv.FormatInt(m.ID, 10))
			rm, err := e.db.FindReadingMeasure(ctx, uid, m.Name, m.Units)
			if err != nil {
				t.Fatal(err)
			}
			series = append(series, rm)
		}
	}
	res := b.get("/ui/api/readings.csv?" + q.Encode())
	if res.Status != http.StatusOK {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	got, err := dtbase.ImportReadingsCSV(ctx, empty, strings.NewReader(res.Body), nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(db *sqldb.DB, rm dtbase.ReadingMeasure) []dtbase.Reading {
		rm, err := db.FindReadingMeasure(ctx, rm.UniqueIdentifier, rm.MeasureName, rm.MeasureUnits)
		if err != nil {
			t.Fatal(err)
		}
		var rs []dtbase.Reading
		if err := db.ScanReadings(ctx, rm, time.Time{}, e.clock(), func(r dtbase.Reading) error {
			rs = append(rs, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	from, _ := dtbase.ParseTime(q.Get("from"))
	var total int64
	for _, rm := range series {
		want := slices.DeleteFunc(read(e.db, rm), func(r dtbase.Reading) bool { return r.Time.Before(from) })
		total += int64(len(want))
		if diff := cmp.Diff(want, read(empty, rm)); diff != "" {
			t.Errorf("%s %s after a round trip (-want +got):\n%s", rm.UniqueIdentifier, rm.MeasureName, diff)
		}
	}
	if got.Inserted != total || total < 4*288 {
		t.Errorf("imported %+v, want %d readings", got, total)
	}
}

// TestWrites drives the forms an editor uses, end to end on the store.
func TestWrites(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	b := e.signIn("editor@example.com")
	flash := func(path string) string { return flashOf(b.get(path).Body) }
	t.Run("sensor type and sensor", func(t *testing.T) {
		b.mustSubmit("/sensors/types/create", url.Values{"name": {"Soil"}, "measure": {"1"}, "new_name": {"moisture", ""}, "new_units": {"%", ""}, "new_datatype": {"float", "float"}}, "/sensors/types/new")
		types, _ := e.db.ListSensorTypes(ctx)
		soil := types[len(types)-1]
		if soil.Name != "Soil" || len(soil.Measures) != 2 {
			t.Fatalf("type %+v", soil)
		}
		res := b.mustSubmit("/sensors/create", url.Values{"type": {"Soil"}, "unique_identifier": {"soil-1"}, "name": {"Bed 1"}}, "/sensors/new")
		if res.Location != "/sensors/view?id=soil-1" {
			t.Fatalf("to %q", res.Location)
		}
		b.mustSubmit("/sensors/edit", url.Values{"id": {"soil-1"}, "name": {"Bed one"}, "notes": {"north"}}, res.Location)
		det, err := e.db.FindSensorDetails(ctx, "soil-1")
		if err != nil || derefString(det.Name) != "Bed one" || derefString(det.Notes) != "north" {
			t.Fatalf("%+v %v", det, err)
		}
		locs, _ := e.db.FindLocations(ctx, "farm-xyz", nil)
		b.mustSubmit("/sensors/place", url.Values{"id": {"soil-1"}, "location": {strconv.FormatInt(locs[2].ID, 10) + "@farm-xyz"}, "installed": {"2024-05-01T10:00"}}, res.Location)
		if pl, _ := e.db.ListSensorPlacements(ctx, "soil-1"); len(pl) != 1 || pl[0].Location.ID != locs[2].ID {
			t.Fatalf("placements %+v", pl)
		}
		b.mustSubmit("/sensors/create", url.Values{"type": {"Soil"}, "unique_identifier": {"soil-1"}}, "/sensors/new")
		if f := flash("/sensors/new"); !strings.Contains(f, "flash-error") {
			t.Errorf("duplicate sensor: %q", f)
		}
		b.mustSubmit("/sensors/delete", url.Values{"id": {"soil-1"}}, res.Location)
		if _, err := e.db.FindSensorDetails(ctx, "soil-1"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			t.Fatalf("not deleted: %v", err)
		}
		b.mustSubmit("/sensors/types/delete", url.Values{"name": {"Soil"}}, "/sensors")
	})
	t.Run("locations", func(t *testing.T) {
		b.mustSubmit("/locations/schemas/create", url.Values{"name": {"rooms"}, "new_name": {"room", "floor"}, "new_units": {"", ""}, "new_datatype": {"string", "integer"}}, "/locations")
		b.mustSubmit("/locations/create", url.Values{"schema": {"rooms"}, "id_room": {"kitchen"}, "id_floor": {"1"}}, "/locations/schema?name=rooms")
		locs, _ := e.db.FindLocations(ctx, "rooms", nil)
		if len(locs) != 1 {
			t.Fatalf("%+v", locs)
		}
		b.mustSubmit("/locations/edit", url.Values{"schema": {"rooms"}, "location": {strconv.FormatInt(locs[0].ID, 10)}, "id_room": {"kitchen"}, "id_floor": {"2"}}, "/locations/schema?name=rooms")
		locs, _ = e.db.FindLocations(ctx, "rooms", nil)
		if locs[0].Coordinates()["floor"].I != 2 {
			t.Fatalf("edit: %+v", locs[0])
		}
		b.mustSubmit("/locations/create", url.Values{"schema": {"rooms"}, "id_room": {"hall"}, "id_floor": {"one"}}, "/locations/schema?name=rooms")
		if f := flash("/locations/schema?name=rooms"); !strings.Contains(f, "floor") {
			t.Errorf("bad integer: %q", f)
		}
		b.mustSubmit("/locations/delete", url.Values{"schema": {"rooms"}, "location": {strconv.FormatInt(locs[0].ID, 10)}}, "/locations/schema?name=rooms")
		b.mustSubmit("/locations/schemas/delete", url.Values{"name": {"rooms"}}, "/locations")
		if _, err := e.db.FindLocationSchema(ctx, "rooms"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			t.Fatalf("schema not deleted: %v", err)
		}
	})
	t.Run("services", func(t *testing.T) {
		back := "/services/view?name=echo"
		b.mustSubmit("/services/params/save", url.Values{"service": {"echo"}, "name": {"daily"}, "parameters": {`{"days": 1}`}}, back)
		b.mustSubmit("/services/params/save", url.Values{"service": {"echo"}, "name": {"daily"}, "parameters": {`{"days": 2}`}}, back)
		sets, _ := e.db.ListParameterSets(ctx, ptr("echo"))
		if len(sets) != 2 || string(sets[1].Parameters) != `{"days": 2}` {
			t.Fatalf("sets %+v", sets)
		}
		b.mustSubmit("/services/params/save", url.Values{"service": {"echo"}, "name": {"bad"}, "parameters": {`[1, 2]`}}, back)
		if f := flash(back); !strings.Contains(f, "JSON object") {
			t.Errorf("array parameters: %q", f)
		}
		before, _ := e.db.ListRuns(ctx, dtbase.RunFilter{ServiceName: ptr("echo")})
		b.mustSubmit("/services/run", url.Values{"service": {"echo"}, "set": {"daily"}}, back)
		var runs []dtbase.ServiceRun
		// Two minutes: only a hang, not a busy machine, reaches it.
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			runs, _ = e.db.ListRuns(ctx, dtbase.RunFilter{ServiceName: ptr("echo")})
			if len(runs) > len(before) && runs[len(runs)-1].Status.Done() {
				break
			}
		}
		last := runs[len(runs)-1]
		if last.Status != dtbase.RunSucceeded || string(last.ResponseJSON) != `{"echo":{"days": 2}}` {
			t.Fatalf("run %+v %s", last, last.ResponseJSON)
		}
		if body := b.get(back).Body; !strings.Contains(body, "200 OK") {
			t.Error("run log lacks the run")
		}
		b.mustSubmit("/services/schedules/create", url.Values{"service": {"echo"}, "name": {"nightly"}, "cron": {"0 2 * * *"}, "time_zone": {"UTC"}, "set": {"daily"}}, back)
		sc, err := e.db.FindSchedule(ctx, "echo", "nightly")
		if err != nil || !sc.Enabled || sc.NextRun.Hour() != 2 {
			t.Fatalf("schedule %+v %v", sc, err)
		}
		b.mustSubmit("/services/schedules/create", url.Values{"service": {"echo"}, "name": {"bad"}, "cron": {"every day"}}, back)
		if f := flash(back); !strings.Contains(f, "flash-error") {
			t.Errorf("bad cron: %q", f)
		}
		b.mustSubmit("/services/schedules/toggle", url.Values{"service": {"echo"}, "name": {"nightly"}}, back)
		if sc, _ := e.db.FindSchedule(ctx, "echo", "nightly"); sc.Enabled {
			t.Error("not disabled")
		}
		b.mustSubmit("/services/schedules/delete", url.Values{"service": {"echo"}, "name": {"nightly"}}, back)
		b.mustSubmit("/services/params/delete", url.Values{"service": {"echo"}, "name": {"daily"}}, back)
		b.mustSubmit("/services/create", url.Values{"name": {"other"}, "url": {"https://example.org/x"}, "http_method": {"GET"}, "timeout": {"5"}, "credential_header": {"x-functions-key"}, "credential_value": {"s3cret"}}, "/services")
		sv, err := e.db.FindService(ctx, "other")
		if err != nil || sv.Timeout != 5*time.Second || sv.Credential == nil || strings.Contains(string(sv.Credential.Sealed), "s3cret") {
			t.Fatalf("service %+v %v", sv, err)
		}
		if strings.Contains(b.get("/services/view?name=other").Body, "s3cret") {
			t.Fatal("credential shown")
		}
		b.mustSubmit("/services/delete", url.Values{"name": {"other"}}, "/services")
	})
	t.Run("models", func(t *testing.T) {
		b.mustSubmit("/models/create", url.Values{"name": {"linear"}}, "/models")
		b.mustSubmit("/models/scenarios/create", url.Values{"model": {"linear"}, "description": {"hot"}}, "/models")
		b.mustSubmit("/models/scenarios/delete", url.Values{"model": {"linear"}, "description": {"hot"}}, "/models")
		b.mustSubmit("/models/delete", url.Values{"name": {"linear"}}, "/models")
		models, _ := e.db.ListModels(ctx)
		if len(models) != 1 {
			t.Fatalf("models %+v", models)
		}
		id := firstRunID(t, e)
		b.mustSubmit("/models/run/delete", url.Values{"id": {id}}, "/models/run?id="+id)
		if _, err := e.db.FindModelRun(ctx, mustInt(id)); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			t.Fatalf("run not deleted: %v", err)
		}
	})
}

func ptr(s string) *string { return &s }

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func TestPlaceFromSchemaPage(t *testing.T) {
	e := newSeededEnv(t)
	b := e.signIn("editor@example.com")
	page := b.get("/locations/schema?name=farm-xyz")
	if !strings.Contains(page.Body, `id="place-sensor"`) {
		t.Fatal("no placement form")
	}
	locs, _ := e.db.FindLocations(context.Background(), "farm-xyz", nil)
	res := b.submit("/sensors/place", url.Values{"return": {"schema"}, "id": {"sensor-b"},
		"location": {strconv.FormatInt(locs[5].ID, 10) + "@farm-xyz"}, "installed": {dtbase.FormatTime(e.clock())}}, "/locations/schema?name=farm-xyz")
	if res.Status != http.StatusSeeOther || res.Location != "/locations/schema?name=farm-xyz" {
		t.Fatalf("%d to %q", res.Status, res.Location)
	}
	det, err := e.db.FindSensorDetails(context.Background(), "sensor-b")
	if err != nil || det.Location == nil || det.Location.Location.ID != locs[5].ID {
		t.Fatalf("placement %+v %v", det.Location, err)
	}
}
