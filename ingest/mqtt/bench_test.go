package mqtt

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/client"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestIngestThroughput measures readings per second sustained through MQTT
// (one publisher connection, QoS 1, one timestamped reading per message,
// committed in batches of batch), the rate at which the subscriber drains a
// backlog queued at the broker, and the HTTP API with the same batch size
// (insert-sensor-readings, one series of batch readings per request; and
// insert-readings-batch, batch readings over all sensors per request, the
// shape of an MQTT commit), one client, on the same engine in the same run. It runs when DT_BENCH=1 and prints
// both rates; DT_BENCH_N sets the number of readings (default 50000).
//
//	DT_BENCH=1 go test ./ingest/mqtt -run Throughput -v
func TestIngestThroughput(t *testing.T) {
	if os.Getenv("DT_BENCH") != "1" {
		t.Skip("set DT_BENCH=1 to run the ingest benchmark")
	}
	n := 50000
	if v, err := strconv.Atoi(os.Getenv("DT_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	const batch = 500
	const sensors = 10
	engine := "sqlite"
	if sqldbtest.PostgresURL() != "" {
		engine = "postgres"
	}

	// MQTT.
	db := fixture(t, sensors)
	b := startBroker(t)
	configure := func(c *Config) {
		c.BatchSize = batch
		c.BatchDelay = 50 * time.Millisecond
		c.ReceiveMaximum = 4 * batch
	}
	sub := connectedSubscriber(t, db, b.addr(), "dtbase-bench", nil, configure)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := newPublisher(b.addr(), "bench-publisher")
	defer p.close()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	// publishAll publishes the n readings, at offset + i seconds, over one
	// connection with many QoS 1 publishes in flight, as a gateway
	// forwarding many devices does.
	publishAll := func(offset time.Duration) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 256; w++ {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					payload := fmt.Sprintf(`{"value": %d.25, "timestamp": %q}`, i, dtbase.FormatTime(base.Add(offset+time.Duration(i)*time.Second)))
					if err := p.publish(ctx, fmt.Sprintf("test/s%d/temperature", i%sensors), []byte(payload)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	publishAll(0)
	published := time.Since(start)
	testwait.Within(t, "every reading stored", 5*time.Minute, func() bool { return sub.Stats().Stored >= int64(n) })
	mqttElapsed := time.Since(start)
	st := sub.Stats()
	if st.Stored != int64(n) || st.Rejected != 0 {
		t.Fatalf("stats %+v, want %d stored", st, n)
	}

	// The subscriber's own capacity: a backlog queued at the broker while
	// dtbase was down, drained as fast as the subscriber can commit.
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	publishAll(time.Duration(n) * time.Second)
	start = time.Now()
	sub2 := newSubscriber(t, db, b.addr(), "dtbase-bench", nil, configure)
	testwait.Within(t, "the backlog stored", 5*time.Minute, func() bool { return sub2.Stats().Stored >= int64(n) })
	drainElapsed := time.Since(start)
	st2 := sub2.Stats()

	// apiClient serves the HTTP API on a fresh database of the same engine
	// and logs a client in, outside the timing.
	apiClient := func() *client.Client {
		db := fixture(t, sensors)
		apitest.AddUser(t, db, "bench@example.com", "pw", dtbase.RoleEditor)
		c := client.New(apitest.Serve(t, apitest.Config(db)), client.WithCredentials("bench@example.com", "pw"))
		if _, err := c.ListSensors(ctx, ""); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := apiClient()
	perSensor := make([]client.Readings, sensors)
	for s := range perSensor {
		perSensor[s] = client.Readings{UniqueIdentifier: fmt.Sprintf("s%d", s), MeasureName: "temperature"}
	}
	start = time.Now()
	for i := 0; i < n; i++ {
		r := &perSensor[i%sensors]
		r.Values = append(r.Values, dtbase.FloatValue(float64(i)+0.25))
		r.Timestamps = append(r.Timestamps, base.Add(time.Duration(i)*time.Second))
		if len(r.Values) == batch || i >= n-sensors {
			if err := c.InsertSensorReadings(ctx, *r); err != nil {
				t.Fatal(err)
			}
			r.Values, r.Timestamps = r.Values[:0], r.Timestamps[:0]
		}
	}
	apiElapsed := time.Since(start)

	// The same through insert-readings-batch, each request shaped like an
	// MQTT commit: 500 readings spread over the sensors.
	c3 := apiClient()
	start = time.Now()
	for lo := 0; lo < n; lo += batch {
		series := make([]client.Readings, sensors)
		for s := range series {
			series[s] = client.Readings{UniqueIdentifier: fmt.Sprintf("s%d", s), MeasureName: "temperature"}
		}
		for i := lo; i < lo+batch && i < n; i++ {
			r := &series[i%sensors]
			r.Values = append(r.Values, dtbase.FloatValue(float64(i)+0.25))
			r.Timestamps = append(r.Timestamps, base.Add(time.Duration(i)*time.Second))
		}
		if _, err := c3.InsertReadingsBatch(ctx, series); err != nil {
			t.Fatal(err)
		}
	}
	batchElapsed := time.Since(start)
	batchRate := float64(n) / batchElapsed.Seconds()

	mqttRate := float64(n) / mqttElapsed.Seconds()
	apiRate := float64(n) / apiElapsed.Seconds()
	drainRate := float64(n) / drainElapsed.Seconds()
	t.Logf("ingest benchmark on %s, %d readings, batch %d:", engine, n, batch)
	t.Logf("  MQTT (1 publisher, QoS 1, 1 reading/message): %8.0f readings/s (published in %v, stored in %v; %d transactions)",
		mqttRate, published.Round(time.Millisecond), mqttElapsed.Round(time.Millisecond), st.Batches)
	t.Logf("  MQTT backlog drained by the subscriber:        %8.0f readings/s (%v; %d transactions, %v writing)",
		drainRate, drainElapsed.Round(time.Millisecond), st2.Batches, st2.CommitTime.Round(time.Millisecond))
	t.Logf("  HTTP insert-sensor-readings, %d per request:  %8.0f readings/s (%v)", batch, apiRate, apiElapsed.Round(time.Millisecond))
	t.Logf("  HTTP insert-readings-batch, %d per request over %d sensors: %8.0f readings/s (%v)", batch, sensors, batchRate, batchElapsed.Round(time.Millisecond))
	fmt.Printf("BENCH mqtt_ingest engine=%s readings=%d batch=%d mqtt_readings_per_s=%.0f mqtt_backlog_readings_per_s=%.0f api_readings_per_s=%.0f api_batch_readings_per_s=%.0f\n",
		engine, n, batch, mqttRate, drainRate, apiRate, batchRate)
}
