package client

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/servicerun"
)

// seedSensor creates type "thermo" (temperature float K, label string) and
// sensor t1 with n hourly temperature readings from base.
func seedSensor(t *testing.T, c *Client, base time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	must(t, c.InsertSensorType(ctx, SensorType{Name: "thermo", Measures: []SensorMeasure{
		{Name: "temperature", Units: Str("K"), Datatype: Float}, {Name: "label", Datatype: String}}}))
	must(t, c.InsertSensor(ctx, NewSensor{TypeName: "thermo", UniqueIdentifier: "t1"}))
	r := Readings{UniqueIdentifier: "t1", MeasureName: "temperature"}
	for i := 0; i < n; i++ {
		r.Values = append(r.Values, dtbase.FloatValue(280+10*math.Sin(float64(i)/24*2*math.Pi)+float64(i%3)))
		r.Timestamps = append(r.Timestamps, base.Add(time.Duration(i)*time.Hour))
	}
	must(t, c.InsertSensorReadings(ctx, r))
}

func TestReadingExtensions(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	seedSensor(t, c, base, 48)
	q := ReadingsQuery{UniqueIdentifier: "t1", MeasureName: "temperature", From: base, To: base.Add(47 * time.Hour)}

	sum, err := c.InsertReadingsBatch(ctx, []Readings{
		{UniqueIdentifier: "t1", MeasureName: "label", Values: Strings("a", "b"), Timestamps: []time.Time{base, base.Add(time.Hour)}},
		{UniqueIdentifier: "t1", MeasureName: "temperature", Values: Floats(1), Timestamps: []time.Time{base}}, // a duplicate
	})
	if err != nil || sum.Rows != 3 || sum.Inserted != 2 || sum.Duplicates != 1 {
		t.Fatalf("batch %+v %v", sum, err)
	}
	if _, err := c.InsertReadingsBatch(ctx, []Readings{{UniqueIdentifier: "t1", MeasureName: "label", Values: Ints(1), Timestamps: []time.Time{base}}}); StatusOf(err) != 400 {
		t.Fatalf("bad batch: %v", err)
	}

	buckets, err := c.SensorReadingsAggregate(ctx, AggregateQuery{ReadingsQuery: q, Bucket: "1d", Aggregates: []string{"mean", "min", "max", "count"}})
	if err != nil || len(buckets) != 2 || *buckets[0].Count != 24 || buckets[0].Mean == nil || buckets[0].Min == nil || buckets[0].First != nil {
		t.Fatalf("aggregate %+v %v", buckets, err)
	}
	if buckets[0].Min.Kind != dtbase.KindFloat || !buckets[1].Timestamp.Equal(base.Add(24*time.Hour)) {
		t.Fatalf("bucket %+v", buckets[0])
	}
	if b, err := c.SensorReadingsAggregate(ctx, AggregateQuery{ReadingsQuery: q, Bucket: "3600"}); err != nil || len(b) != 48 {
		t.Fatalf("numeric bucket: %d %v", len(b), err)
	}

	down, err := c.SensorReadingsDownsampled(ctx, q, 8)
	if err != nil || len(down) == 0 || len(down) > 8 {
		t.Fatalf("downsampled %d %v", len(down), err)
	}

	latest, err := c.LatestReadings(ctx, LatestQuery{UniqueIdentifiers: []string{"t1"}})
	if err != nil || len(latest) != 2 {
		t.Fatalf("latest %+v %v", latest, err)
	}
	for _, l := range latest {
		switch l.MeasureName {
		case "temperature":
			if !l.Timestamp.Equal(base.Add(47*time.Hour)) || l.Datatype != Float {
				t.Errorf("latest temperature %+v", l)
			}
		case "label":
			if l.Value != dtbase.StringValue("b") {
				t.Errorf("latest label %+v", l)
			}
		}
	}

	body, err := c.ReadingsCSV(ctx, CSVQuery{UniqueIdentifier: "t1", MeasureNames: []string{"temperature"}, From: &q.From, To: &q.To})
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(body)
	body.Close()
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 49 || !strings.HasPrefix(lines[0], "unique_identifier,measure_name") {
		t.Fatalf("csv: %d lines, first %q", len(lines), lines[0])
	}

	// Upload the download into a second sensor.
	must(t, c.InsertSensor(ctx, NewSensor{TypeName: "thermo", UniqueIdentifier: "t2"}))
	up, err := c.UploadReadingsCSV(ctx, strings.NewReader(strings.ReplaceAll(string(csv), "\nt1,", "\nt2,")))
	if err != nil || up.Inserted != 48 {
		t.Fatalf("upload %+v %v", up, err)
	}
	form, err := c.UploadReadingsCSVForm(ctx, "again.csv", strings.NewReader(strings.ReplaceAll(string(csv), "\nt1,", "\nt2,")))
	if err != nil || form.Inserted != 0 || form.Duplicates != 48 {
		t.Fatalf("form upload %+v %v", form, err)
	}
	if _, err := c.UploadReadingsCSV(ctx, strings.NewReader("not,a\ncsv")); StatusOf(err) != 400 {
		t.Fatalf("bad csv: %v", err)
	}
	if _, err := c.ReadingsCSV(ctx, CSVQuery{UniqueIdentifier: "t1", MeasureNames: []string{"nope"}}); StatusOf(err) != 400 {
		t.Fatalf("bad csv query: %v", err)
	}
}

func TestSensorAndLocationExtensions(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	seedSensor(t, c, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	placeInLab(t, c, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC))
	must(t, c.EditLocation(ctx, "rooms", Coordinates{"room": dtbase.StringValue("lab")}, Coordinates{"room": dtbase.StringValue("lab 2")}))
	d, err := c.GetSensor(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Type.Name != "thermo" || d.CurrentLocation == nil || d.CurrentLocation.Location.Coordinates["room"] != dtbase.StringValue("lab 2") ||
		d.CurrentLocation.Location.SchemaName != "rooms" || len(d.LocationHistory) != 1 {
		t.Fatalf("sensor %+v", d)
	}
	list, err := c.ListSensorsDetails(ctx, "thermo")
	if err != nil || len(list) != 1 || list[0].TypeName != "thermo" || list[0].CurrentLocation == nil {
		t.Fatalf("details %+v %v", list, err)
	}
	if _, err := c.GetSensor(ctx, "nope"); StatusOf(err) != 400 {
		t.Fatalf("unknown sensor: %v", err)
	}
}

func TestModelExtensions(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Hour).Add(-72 * time.Hour)
	seedSensor(t, c, base, 72)
	for _, m := range []string{"forecast", "upper"} {
		must(t, c.InsertModelMeasure(ctx, ModelMeasure{Name: m, Units: "K", Datatype: Float}))
	}
	must(t, c.InsertModel(ctx, "naive"))
	ts := []time.Time{base.Add(70 * time.Hour), base.Add(71 * time.Hour)}
	run, err := c.InsertModelRun(ctx, NewModelRun{ModelName: "naive", ScenarioDescription: "s", CreateScenario: true,
		SensorUniqueID: Str("t1"), SensorMeasure: &MeasureRef{Name: Str("temperature"), Units: Str("K")},
		Measures: []ModelSeries{{MeasureName: "forecast", Values: Floats(280, 281), Timestamps: ts},
			{MeasureName: "upper", Values: Floats(300, 301), Timestamps: ts}}})
	if err != nil || run.ID == 0 {
		t.Fatalf("insert run %+v %v", run, err)
	}
	cmp, err := c.GetModelRunComparison(ctx, run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Run.ID != run.ID || len(cmp.Forecast["forecast"]) != 2 || len(cmp.Observed) == 0 || len(cmp.Metrics) == 0 {
		t.Fatalf("comparison %+v", cmp)
	}
	must(t, c.DeleteModelRun(ctx, run.ID))
	if got, err := c.GetModelRun(ctx, run.ID); err != nil || len(got) != 0 {
		t.Fatalf("deleted run: %v %v", got, err)
	}

	hours := 6
	days := 3
	ar, err := c.RunARIMA(ctx, ARIMARequest{Sensors: []string{"t1"}, Measures: []MeasureRef{{Name: Str("temperature")}},
		Order: []int{1, 0, 0}, SeasonalOrder: []int{0, 0, 0, 0}, HoursForecast: &hours, NumDaysTraining: &days})
	if err != nil {
		t.Fatal(err)
	}
	if len(ar.Runs) != 1 || ar.Runs[0].RunID == 0 || ar.Runs[0].SensorUniqueID != "t1" {
		t.Fatalf("arima %+v", ar)
	}
}

func TestServiceExtensions(t *testing.T) {
	var calls int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		var p map[string]any
		json.NewDecoder(r.Body).Decode(&p)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"got": p, "auth": r.Header.Get("X-Key")})
	}))
	defer target.Close()
	sealer, err := servicerun.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, withRunner(t, sealer))
	ctx := context.Background()
	c := adminClient(t, s)
	timeout := 5
	must(t, c.InsertService(ctx, NewService{Name: "echo", URL: target.URL, HTTPMethod: "POST", TimeoutSeconds: &timeout,
		CredentialHeader: Str("X-Key"), CredentialValue: Str("sekrit")}))
	details, err := c.ListServicesDetails(ctx)
	if err != nil || len(details) != 1 || details[0].TimeoutSeconds != 5 || *details[0].CredentialHeader != "X-Key" {
		t.Fatalf("details %+v %v", details, err)
	}
	must(t, c.InsertParameterSet(ctx, "echo", "p", map[string]any{"n": 1}))
	res, err := c.RunService(ctx, RunServiceRequest{ServiceName: "echo", ParameterSetName: Str("p")})
	if err != nil || res.RunID == 0 {
		t.Fatalf("run %+v %v", res, err)
	}
	run, err := c.GetRun(ctx, res.RunID)
	if err != nil || run.Status != "succeeded" || run.ResponseStatusCode != 200 || *run.ParameterSetName != "p" {
		t.Fatalf("run %+v %v", run, err)
	}
	if string(run.ResponseJSON) != `{"auth":"sekrit","got":{"n":1}}` {
		t.Fatalf("response %s", run.ResponseJSON)
	}
	async, err := c.RunService(ctx, RunServiceRequest{ServiceName: "echo", Parameters: []int{1, 2}, Async: true})
	if err != nil || async.RunID == 0 {
		t.Fatalf("async %+v %v", async, err)
	}
	waitRun(t, c, async.RunID, "succeeded")
	runs, err := c.ListRuns(ctx, RunsQuery{ServiceName: "echo", Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].RunID != async.RunID {
		t.Fatalf("runs %+v %v", runs, err)
	}
	must(t, c.EditService(ctx, ServiceEdit{Name: "echo", ClearCredential: true, URL: Str(target.URL + "/x")}))
	if d, _ := c.ListServicesDetails(ctx); d[0].CredentialHeader != nil || !strings.HasSuffix(d[0].URL, "/x") {
		t.Fatalf("edited %+v", d)
	}

	sched, err := c.InsertSchedule(ctx, Schedule{ServiceName: "echo", Name: "hourly", Cron: "0 * * * *", ParameterSetName: Str("p")})
	if err != nil || sched.NextRun == nil {
		t.Fatalf("schedule %+v %v", sched, err)
	}
	if _, err := c.EditSchedule(ctx, Schedule{ServiceName: "echo", Name: "hourly", Cron: "30 2 * * *", TimeZone: Str("Europe/London")}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.DisableSchedule(ctx, "echo", "hourly"); err != nil || r.NextRun != nil {
		t.Fatalf("disable %+v %v", r, err)
	}
	if _, err := c.EnableSchedule(ctx, "echo", "hourly"); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListSchedules(ctx, "echo")
	if err != nil || len(list) != 1 || list[0].Cron != "30 2 * * *" || list[0].TimeZone != "Europe/London" || !list[0].Enabled {
		t.Fatalf("schedules %+v %v", list, err)
	}
	if _, err := c.InsertSchedule(ctx, Schedule{ServiceName: "echo", Name: "bad", Cron: "not cron"}); StatusOf(err) != 400 && StatusOf(err) != 422 {
		t.Fatalf("bad cron: %v", err)
	}
	must(t, c.DeleteSchedule(ctx, "echo", "hourly"))
}

// waitRun polls a run until its status is want, failing after two
// minutes (a hang, not a busy machine).
func waitRun(t *testing.T, c *Client, id int64, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		run, err := c.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is not %s: %+v", id, want, run)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
