package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/dtbase/dtbase/client"
	"github.com/dtbase/dtbase/internal/testtool"
	"github.com/dtbase/dtbase/internal/testwait"
)

// TestServeMQTT runs dtbase serve subscribed to a mosquitto broker: readings
// published while it runs are stored, those published while it is stopped
// are stored after it starts again, and the counters are on /metrics.
func TestServeMQTT(t *testing.T) {
	const mosquitto = "/usr/sbin/mosquitto"
	if _, err := os.Stat(mosquitto); err != nil {
		testtool.Missing(t, "%s (apt-get install -y mosquitto)", mosquitto)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nuser root\nlog_dest none\n", port, dir)
	os.WriteFile(filepath.Join(dir, "m.conf"), []byte(conf), 0o644)
	broker := exec.Command(mosquitto, "-c", filepath.Join(dir, "m.conf"))
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Process.Signal(syscall.SIGTERM); broker.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testwait.For(t, "the broker", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	env := testEnvFor(t, t.TempDir(), map[string]string{
		"DT_DEFAULT_USER_PASS":   "pw",
		"DT_MQTT_BROKER":         "mqtt://" + addr,
		"DT_MQTT_TOPICS":         "plant/+sensor/+measure",
		"DT_MQTT_CLIENT_ID":      "dtbase-app-test",
		"DT_MQTT_BATCH_DELAY_MS": "10",
		"DT_METRICS_PUBLIC":      "true",
	})
	inst := start(t, env)
	ctx := context.Background()
	c := client.New(inst.url, client.WithCredentials("default_user@localhost", "pw"))
	if err := c.InsertSensorType(ctx, client.SensorType{Name: "meter", Measures: []client.SensorMeasure{{Name: "power", Units: client.Str("W"), Datatype: client.Float}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.InsertSensor(ctx, client.NewSensor{TypeName: "meter", UniqueIdentifier: "m1"}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the subscription", func() bool {
		return strings.Contains(mqttMetrics(t, inst.url), `dtbase_mqtt_connected{broker="mqtt://`+addr+`"} 1`)
	})

	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	mqttPublish(t, addr, 0, 10, base)
	count := func(url string) int {
		got, err := client.New(url, client.WithCredentials("default_user@localhost", "pw")).SensorReadings(ctx,
			client.ReadingsQuery{UniqueIdentifier: "m1", MeasureName: "power", From: base, To: base.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	testwait.For(t, "ten readings", func() bool { return count(inst.url) == 10 })
	// The counters move when the write returns, which may be a moment after
	// its readings are visible (a new month's partition is made after the
	// commit).
	testwait.For(t, "the metrics of ten readings", func() bool {
		m := mqttMetrics(t, inst.url)
		return strings.Contains(m, "dtbase_mqtt_readings_stored_total 10") && strings.Contains(m, "dtbase_mqtt_messages_received_total 10")
	})
	if code := inst.stop(); code != 0 {
		t.Fatalf("serve exited with %d: %s", code, inst.stderr)
	}

	mqttPublish(t, addr, 10, 15, base) // while dtbase is down: the broker keeps them for its session
	inst = start(t, env)
	defer inst.stop()
	testwait.For(t, "fifteen readings", func() bool { return count(inst.url) == 15 })
}

func mqttPublish(t *testing.T, addr string, from, to int, base time.Time) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cli := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.Connect(ctx, &paho.Connect{ClientID: "app-test-publisher", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer cli.Disconnect(&paho.Disconnect{})
	for i := from; i < to; i++ {
		payload := fmt.Sprintf(`{"value": %d.5, "timestamp": "%s"}`, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
		if _, err := cli.Publish(ctx, &paho.Publish{Topic: "plant/m1/power", QoS: 1, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
}

func mqttMetrics(t *testing.T, url string) string {
	t.Helper()
	_, b := apiCall(t, http.MethodGet, url+"/metrics", "", nil)
	return string(b)
}
