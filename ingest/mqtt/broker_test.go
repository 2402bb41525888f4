package mqtt

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/dtbase/dtbase/internal/testtool"
	"github.com/dtbase/dtbase/internal/testwait"
)

// mosquittoPath is Debian's broker; .ci/run installs the package.
const mosquittoPath = "/usr/sbin/mosquitto"

// broker is a mosquitto process on a loopback port, with persistence so a
// restart keeps sessions and queued messages, as a production broker would.
type broker struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// startBroker starts mosquitto, skipping the test loudly when it is not
// installed.
func startBroker(t testing.TB) *broker {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err != nil {
		testtool.Missing(t, "%s (apt-get install -y mosquitto); the MQTT tests need a real broker", mosquittoPath)
	}
	b := &broker{t: t, dir: t.TempDir(), port: freePort(t)}
	conf := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 0
user root
log_dest file %s/mosquitto.log
`, b.port, b.dir, b.dir)
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *broker) addr() string { return "mqtt://127.0.0.1:" + strconv.Itoa(b.port) }

func (b *broker) start() {
	b.t.Helper()
	b.cmd = exec.Command(mosquittoPath, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(testwait.HangAfter)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-b.done:
			log, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
			b.t.Fatalf("mosquitto exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %d", b.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends mosquitto with SIGTERM, which saves its persistence file.
func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
}

func (b *broker) restart() {
	b.stop()
	b.start()
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// publisher publishes with QoS 1 and, when the broker is away, reconnects
// and publishes again until the broker acknowledges: at least once, as a
// well-behaved device does.
type publisher struct {
	addr string
	id   string
	mu   sync.Mutex
	cli  *paho.Client
}

func newPublisher(addr, id string) *publisher { return &publisher{addr: addr, id: id} }

func (p *publisher) client(ctx context.Context) (*paho.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cli != nil {
		return p.cli, nil
	}
	u, err := parseBroker(p.addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return nil, err
	}
	cli := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Connect(cctx, &paho.Connect{ClientID: p.id, KeepAlive: 30, CleanStart: true}); err != nil {
		return nil, err
	}
	p.cli = cli
	return cli, nil
}

func (p *publisher) drop(cli *paho.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cli == cli {
		p.cli = nil
		go cli.Disconnect(&paho.Disconnect{})
	}
}

// publish sends one message with QoS 1, retrying until it is acknowledged
// or ctx ends.
func (p *publisher) publish(ctx context.Context, topic string, payload []byte) error {
	for {
		cli, err := p.client(ctx)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = cli.Publish(pctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
			cancel()
			if err == nil {
				return nil
			}
			p.drop(cli)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %s: %w (last error %v)", topic, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cli != nil {
		p.cli.Disconnect(&paho.Disconnect{})
		p.cli = nil
	}
}
