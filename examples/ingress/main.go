// Command ingress is an example data ingress written with the Go SDK. It
// declares a sensor type and a sensor, then posts readings of a synthetic
// weather station (a daily temperature cycle and a humidity that follows
// it) for a time range, in the style of DTBase's BaseIngress: a list of
// (endpoint, payload) steps posted in order, where "exists already"
// answers are fine, so it can run again and again.
//
// Run it once:
//
//	DT_BACKEND_URL=http://localhost:5000 DT_DEFAULT_USER_PASS=… \
//	  go run ./examples/ingress -from 2024-01-01 -to 2024-01-08
//
// or serve it over HTTP so that dtbase calls it as a service (register it
// with /service/insert-service, URL http://host:8081/, method POST; the body
// of a run is {"from": "...", "to": "..."}):
//
//	go run ./examples/ingress -listen :8081
//
// Credentials come from DT_API_KEY, or DT_DEFAULT_USER_PASS for
// default_user@localhost (see client.FromEnv).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/dtbase/dtbase/client"
)

// Params selects what one run ingests.
type Params struct {
	Sensor   string        `json:"sensor"`
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Interval time.Duration `json:"-"`
}

// UnmarshalJSON reads {"sensor", "from", "to", "interval_minutes"}, all
// optional; times are ISO 8601.
func (p *Params) UnmarshalJSON(b []byte) error {
	var raw struct {
		Sensor          string `json:"sensor"`
		From, To        string
		IntervalMinutes int `json:"interval_minutes"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Sensor != "" {
		p.Sensor = raw.Sensor
	}
	for _, f := range []struct {
		s   string
		dst *time.Time
	}{{raw.From, &p.From}, {raw.To, &p.To}} {
		if f.s == "" {
			continue
		}
		t, err := parseTime(f.s)
		if err != nil {
			return err
		}
		*f.dst = t
	}
	if raw.IntervalMinutes > 0 {
		p.Interval = time.Duration(raw.IntervalMinutes) * time.Minute
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q", s)
}

// Steps returns the calls of one run: declare the type and the sensor, then
// one insert per measure.
func Steps(p Params) ([]client.Step, error) {
	if !p.To.After(p.From) {
		return nil, errors.New("to must be after from")
	}
	if p.Interval <= 0 {
		p.Interval = 10 * time.Minute
	}
	var ts []time.Time
	var temp, hum []client.Value
	for t := p.From; !t.After(p.To); t = t.Add(p.Interval) {
		hour := float64(t.Hour()) + float64(t.Minute())/60
		c := 12 + 6*math.Sin((hour-9)/24*2*math.Pi)
		ts = append(ts, t)
		temp = append(temp, client.Floats(math.Round(c*100)/100)...)
		hum = append(hum, client.Floats(math.Round((90-2.5*c)*10)/10)...)
	}
	return []client.Step{
		{Endpoint: "/sensor/insert-sensor-type", Payload: client.SensorType{
			Name: "synthetic-weather", Description: client.Str("Example ingress: a synthetic weather station"),
			Measures: []client.SensorMeasure{
				{Name: "temperature", Units: client.Str("degC"), Datatype: client.Float},
				{Name: "relative humidity", Units: client.Str("percent"), Datatype: client.Float},
			}}},
		{Endpoint: "/sensor/insert-sensor", Payload: client.NewSensor{TypeName: "synthetic-weather",
			UniqueIdentifier: p.Sensor, Name: client.Str("Synthetic weather station")}},
		{Endpoint: "/sensor/insert-sensor-readings", Payload: readingsPayload(p.Sensor, "temperature", temp, ts)},
		{Endpoint: "/sensor/insert-sensor-readings", Payload: readingsPayload(p.Sensor, "relative humidity", hum, ts)},
	}, nil
}

// readingsPayload is the body of insert-sensor-readings.
func readingsPayload(sensor, measure string, values []client.Value, ts []time.Time) map[string]any {
	return map[string]any{"unique_identifier": sensor, "measure_name": measure, "readings": values, "timestamps": ts}
}

// Run posts the steps of one run.
func Run(ctx context.Context, c *client.Client, p Params, log *slog.Logger) ([]client.StepResult, error) {
	steps, err := Steps(p)
	if err != nil {
		return nil, err
	}
	return c.PostSteps(ctx, steps, log)
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	now := time.Now().UTC().Truncate(time.Hour)
	p := Params{Sensor: "synthetic-weather-1"}
	from := flag.String("from", now.Add(-24*time.Hour).Format(time.RFC3339), "start of the range (ISO 8601)")
	to := flag.String("to", now.Format(time.RFC3339), "end of the range (ISO 8601)")
	flag.StringVar(&p.Sensor, "sensor", p.Sensor, "unique identifier of the sensor")
	flag.DurationVar(&p.Interval, "interval", 10*time.Minute, "time between readings")
	listen := flag.String("listen", "", "serve as an HTTP service on this address instead of running once")
	flag.Parse()

	c := client.FromEnv()
	if *listen != "" {
		log.Info("serving the example ingress", "addr", *listen, "backend", c.BaseURL())
		if err := http.ListenAndServe(*listen, Handler(c, p, log)); err != nil {
			log.Error("serve", "err", err)
			os.Exit(1)
		}
		return
	}
	var err error
	if p.From, err = parseTime(*from); err == nil {
		p.To, err = parseTime(*to)
	}
	if err != nil {
		log.Error("bad flag", "err", err)
		os.Exit(2)
	}
	if _, err := Run(context.Background(), c, p, log); err != nil {
		log.Error("ingress failed", "err", err)
		os.Exit(1)
	}
}

// Handler runs the ingress for each request, with the JSON body's
// parameters over the defaults (the last day up to now when from and to are
// absent), and answers with a summary, which dtbase keeps in the run log.
func Handler(c *client.Client, defaults Params, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := defaults
		now := time.Now().UTC().Truncate(time.Minute)
		p.From, p.To = now.Add(-24*time.Hour), now
		if r.ContentLength != 0 {
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		}
		results, err := Run(r.Context(), c, p, log)
		summary := map[string]any{"sensor": p.Sensor, "from": p.From, "to": p.To, "calls": len(results)}
		status := http.StatusOK
		if err != nil {
			summary["error"] = err.Error()
			status = http.StatusBadGateway
		}
		writeJSON(w, status, summary)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
