package mqtt

import (
	"context"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/dtbase/dtbase/internal/testwait"
)

// TestTemplateSensorNameLimit publishes for a sensor whose topic segment is
// over the domain's name limit: creating it from the template is refused
// as the API refuses it, the message is rejected (not retried, not stored
// on one database and an internal error on the other), and ingest goes on.
func TestTemplateSensorNameLimit(t *testing.T) {
	db := fixture(t, 0)
	b := startBroker(t)
	sub := connectedSubscriber(t, db, b.addr(), "dtbase-limit", nil, func(c *Config) { c.CreateSensorsOfType = "thermo" })
	p := newPublisher(b.addr(), "device-limit")
	defer p.close()
	ctx := context.Background()
	long := strings.Repeat("s", 3<<10)
	if err := p.publish(ctx, "test/"+long+"/temperature", []byte(`{"value": 1.0, "timestamp": 1700000000}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.publish(ctx, "test/ok/temperature", []byte(`{"value": 2.0, "timestamp": 1700000001}`)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "both messages handled", func() bool {
		st := sub.Stats()
		return st.Stored+st.Rejected >= 2
	})
	var m dto.Metric
	if err := sub.m.rejected.WithLabelValues(rejectUnknownSensor).Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("rejected[%s] = %v, want 1", rejectUnknownSensor, got)
	}
	if got := len(readings(t, db, "ok", "temperature")); got != 1 {
		t.Errorf("sensor ok has %d readings, want 1", got)
	}
}
