package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/ingest/mqtt"
	"github.com/dtbase/dtbase/sqldb"
)

// mqttSettings are the MQTT settings besides DT_MQTT_BROKER.
type mqttSettings struct {
	Topics        []mqtt.Pattern
	ClientID      string
	SharedGroup   string
	CreateSensors string
	BatchSize     int
	BatchDelay    time.Duration
}

// mqttSettingList are the DT_MQTT_* settings besides DT_MQTT_BROKER, kept
// next to their use; config.go lists them after its own.
var mqttSettingList = []setting{
	{"DT_MQTT_TOPICS", "dtbase/+sensor/+measure", "topic patterns mapped to readings, comma-separated: +sensor, +measure, +units name levels; fixed values as pattern?sensor=ID&measure=NAME&units=U", func(c *Config, v string) (err error) {
		c.MQTT.Topics, err = mqtt.ParsePatterns(v)
		if err == nil && len(c.MQTT.Topics) == 0 {
			err = fmt.Errorf("no topic pattern")
		}
		return
	}},
	{"DT_MQTT_CLIENT_ID", "dtbase", "MQTT client id of the persistent session; keep it across restarts, make it differ between replicas", func(c *Config, v string) error {
		c.MQTT.ClientID = strings.TrimSpace(v)
		return nil
	}},
	{"DT_MQTT_SHARED_GROUP", "", "subscribe as $share/GROUP/… so replicas share the messages", func(c *Config, v string) error {
		c.MQTT.SharedGroup = strings.TrimSpace(v)
		return nil
	}},
	{"DT_MQTT_CREATE_SENSORS", "", "sensor type to create unknown sensors with on their first MQTT reading; unset: such readings are rejected and counted", func(c *Config, v string) error {
		c.MQTT.CreateSensors = strings.TrimSpace(v)
		return nil
	}},
	{"DT_MQTT_BATCH_SIZE", "500", "most MQTT messages committed in one transaction", func(c *Config, v string) (err error) {
		c.MQTT.BatchSize, err = strconv.Atoi(strings.TrimSpace(v))
		if err == nil && c.MQTT.BatchSize <= 0 {
			err = fmt.Errorf("must be positive")
		}
		return
	}},
	{"DT_MQTT_BATCH_DELAY_MS", "50", "longest wait, in milliseconds, of an MQTT message for its batch to be committed", func(c *Config, v string) error {
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || ms <= 0 {
			return fmt.Errorf("want a positive whole number of milliseconds, got %q", v)
		}
		c.MQTT.BatchDelay = time.Duration(ms) * time.Millisecond
		return nil
	}},
}

// startIngest starts the MQTT subscriber when DT_MQTT_BROKER is set: one
// connection per comma-separated broker URL, each subscribed to
// DT_MQTT_TOPICS with QoS 1 on a persistent session (MQTT 5, or 3.1.1 for
// brokers that refuse 5; see ingest/mqtt/README.md). The returned function
// commits and acknowledges what was received, then disconnects.
func (m *Main) startIngest(ctx context.Context, c Config, db *sqldb.DB, srv *api.Server, log *slog.Logger) (func(), error) {
	brokers := commaList(c.MQTTBroker)
	if len(brokers) == 0 {
		return func() {}, nil
	}
	sub, err := mqtt.New(db, mqtt.Config{
		Brokers:             brokers,
		Patterns:            c.MQTT.Topics,
		ClientID:            c.MQTT.ClientID,
		SharedGroup:         c.MQTT.SharedGroup,
		CreateSensorsOfType: c.MQTT.CreateSensors,
		BatchSize:           c.MQTT.BatchSize,
		BatchDelay:          c.MQTT.BatchDelay,
		Logger:              log,
		Registerer:          srv.Registry(),
	})
	if err != nil {
		return nil, fmt.Errorf("DT_MQTT_BROKER: %w", err)
	}
	topics := make([]string, len(c.MQTT.Topics))
	for i, p := range c.MQTT.Topics {
		topics[i] = p.Text
	}
	log.Info("mqtt ingest starting", "brokers", len(brokers), "topics", strings.Join(topics, ","), "client_id", c.MQTT.ClientID)
	sub.Start(ctx)
	return func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := sub.Stop(stopCtx); err != nil {
			log.Warn("mqtt ingest: stopped before every received message was committed; the broker will redeliver them", "err", err)
		}
	}, nil
}
