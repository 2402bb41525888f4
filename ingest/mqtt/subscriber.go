package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dtbase/dtbase"
)

// Store is what the subscriber needs from storage; *sqldb.DB implements it.
type Store interface {
	// InsertReadings stores all series in one transaction (see
	// dtbase.ReadingStore).
	InsertReadings(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error)
	// FindReadingMeasure resolves a measure of a sensor (see
	// dtbase.ReadingStore).
	FindReadingMeasure(ctx context.Context, uniqueIdentifier, measureName string, units *string) (dtbase.ReadingMeasure, error)
	// CreateSensor adds a sensor (see dtbase.SensorStore).
	CreateSensor(ctx context.Context, s *dtbase.Sensor) error
}

// Config configures a Subscriber. Zero values take the defaults noted.
type Config struct {
	// Brokers are broker URLs: mqtt:// or tcp:// (port 1883 by default),
	// mqtts://, ssl:// or tls:// (port 8883). A user name and password in
	// the URL are sent in CONNECT. The subscriber keeps one connection to
	// each broker.
	Brokers []string
	// Patterns map topics to sensors and measures; see Pattern.
	Patterns []Pattern
	// ClientID identifies the persistent session on each broker (default
	// "dtbase"). It must stay the same across restarts, so that messages
	// published while dtbase is down are kept for it, and differ between
	// replicas that share a broker.
	ClientID string
	// SharedGroup, when set, subscribes as $share/<group>/<filter>, so
	// replicas with different client ids share the messages.
	SharedGroup string
	// CreateSensorsOfType, when set, creates an unknown sensor with this
	// type on its first reading; otherwise such readings are rejected.
	CreateSensorsOfType string
	// BatchSize bounds the messages committed in one transaction (500).
	BatchSize int
	// BatchDelay bounds how long a received message waits for its batch to
	// be committed (50 ms).
	BatchDelay time.Duration
	// ReceiveMaximum bounds the unacknowledged messages the broker sends
	// (2000).
	ReceiveMaximum uint16
	// SessionExpiry is how long the broker keeps the session, and queues
	// messages, while dtbase is disconnected (24 h).
	SessionExpiry time.Duration
	// KeepAlive in seconds (30).
	KeepAlive uint16
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles after each failure (0.2 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// TLS is used for mqtts:// brokers (default: system roots).
	TLS *tls.Config

	Logger     *slog.Logger
	Registerer prometheus.Registerer // metrics are registered here when set
}

func (c *Config) defaults() {
	if c.ClientID == "" {
		c.ClientID = "dtbase"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.BatchDelay <= 0 {
		c.BatchDelay = 50 * time.Millisecond
	}
	if c.ReceiveMaximum == 0 {
		c.ReceiveMaximum = 2000
	}
	if c.SessionExpiry <= 0 {
		c.SessionExpiry = 24 * time.Hour
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 30
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 200 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Stats are the subscriber's counters since it was created.
type Stats struct {
	Received   int64         // messages received
	Stored     int64         // readings written
	Duplicates int64         // readings skipped because they were stored already
	Rejected   int64         // messages dropped as bad
	Batches    int64         // transactions committed
	CommitTime time.Duration // spent writing batches, in total
}

// Subscriber receives readings from MQTT brokers and stores them.
type Subscriber struct {
	cfg     Config
	store   Store
	brokers []*url.URL
	log     *slog.Logger
	m       *metrics

	msgs     chan *message
	draining chan struct{} // closed by Stop: take no new messages, commit the rest
	batchCtx context.Context
	connCtx  context.Context
	cancelB  context.CancelFunc
	cancelC  context.CancelFunc
	batchWG  sync.WaitGroup
	connWG   sync.WaitGroup
	stopOnce sync.Once

	cache    resolver
	logLimit logLimiter

	received, stored, duplicates, rejected, batches, commitNanos atomic.Int64
	connected                                                    atomic.Int32
}

// message is one received PUBLISH and how to acknowledge it.
type message struct {
	topic    string
	payload  []byte
	ack      func() error
	received time.Time
}

// New checks cfg and returns a subscriber; Start connects it.
func New(store Store, cfg Config) (*Subscriber, error) {
	cfg.defaults()
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("mqtt: no broker configured")
	}
	if len(cfg.Patterns) == 0 {
		return nil, errors.New("mqtt: no topic patterns configured")
	}
	s := &Subscriber{cfg: cfg, store: store, log: cfg.Logger.With("component", "mqtt")}
	for _, b := range cfg.Brokers {
		u, err := parseBroker(b)
		if err != nil {
			return nil, err
		}
		s.brokers = append(s.brokers, u)
	}
	for _, u := range s.brokers {
		if _, err := protocolOf(u); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.m = m
	s.cache = resolver{entries: map[resolveKey]resolveEntry{}}
	s.logLimit = logLimiter{last: map[string]time.Time{}}
	return s, nil
}

// Protocol versions a broker URL may ask for with ?protocol=.
const (
	protoAuto = ""      // MQTT 5, falling back to 3.1.1 when the broker refuses 5
	proto5    = "5"     // MQTT 5 only
	proto311  = "3.1.1" // MQTT 3.1.1 only
)

// protocolOf returns the protocol a broker URL asks for.
func protocolOf(u *url.URL) (string, error) {
	switch p := u.Query().Get("protocol"); p {
	case "", "auto":
		return protoAuto, nil
	case "5", "5.0", "v5":
		return proto5, nil
	case "3.1.1", "4", "v3.1.1", "311":
		return proto311, nil
	default:
		return "", fmt.Errorf("mqtt: broker %s: unknown protocol %q (want 5, 3.1.1 or auto)", redact(u), p)
	}
}

// parseBroker reads a broker URL, defaulting scheme and port.
func parseBroker(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "mqtt://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker %q: %w", raw, err)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		if u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), "1883")
		}
	case "mqtts", "ssl", "tls":
		if u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), "8883")
		}
	default:
		return nil, fmt.Errorf("mqtt: broker %q: unsupported scheme %q (want mqtt, tcp, mqtts, ssl or tls)", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("mqtt: broker %q: no host", raw)
	}
	return u, nil
}

// Start connects to every broker and begins storing readings. It returns at
// once; connections are retried in the background until Stop or Abort.
func (s *Subscriber) Start(ctx context.Context) {
	queue := int(s.cfg.ReceiveMaximum)*len(s.brokers) + s.cfg.BatchSize
	s.msgs = make(chan *message, queue)
	s.draining = make(chan struct{})
	s.batchCtx, s.cancelB = context.WithCancel(context.WithoutCancel(ctx))
	s.connCtx, s.cancelC = context.WithCancel(context.WithoutCancel(ctx))
	s.batchWG.Add(1)
	go func() {
		defer s.batchWG.Done()
		s.batchLoop()
	}()
	for _, u := range s.brokers {
		s.connWG.Add(1)
		go func() {
			defer s.connWG.Done()
			s.connLoop(u)
		}()
	}
	// The parent context ending is a graceful stop.
	context.AfterFunc(ctx, func() { s.Stop(context.Background()) })
}

// Stop takes no new messages, commits and acknowledges those received, and
// disconnects. Messages the broker sends meanwhile are not acknowledged, so
// it sends them again on the next connection. ctx bounds the wait for the
// last commit; when it ends first, the rest is left unacknowledged.
func (s *Subscriber) Stop(ctx context.Context) error {
	var err error
	if s.draining == nil {
		return nil // never started
	}
	s.stopOnce.Do(func() {
		close(s.draining)
		done := make(chan struct{})
		go func() { s.batchWG.Wait(); close(done) }()
		select {
		case <-done:
			// Manual acknowledgements leave on paho's ticker; give them time.
			time.Sleep(3 * ackInterval)
		case <-ctx.Done():
			err = ctx.Err()
			s.cancelB()
			<-done
		}
		s.cancelC()
		s.connWG.Wait()
		s.cancelB()
	})
	return err
}

// Abort stops at once, as a crash would: nothing pending is committed or
// acknowledged. Tests use it; the broker redelivers what was not
// acknowledged.
func (s *Subscriber) Abort() {
	if s.draining == nil {
		return
	}
	s.stopOnce.Do(func() {
		s.cancelB()
		s.cancelC()
		s.batchWG.Wait()
		s.connWG.Wait()
	})
}

// Connected returns the number of brokers currently connected.
func (s *Subscriber) Connected() int { return int(s.connected.Load()) }

// Stats returns the counters.
func (s *Subscriber) Stats() Stats {
	return Stats{Received: s.received.Load(), Stored: s.stored.Load(), Duplicates: s.duplicates.Load(),
		Rejected: s.rejected.Load(), Batches: s.batches.Load(), CommitTime: time.Duration(s.commitNanos.Load())}
}

const ackInterval = 10 * time.Millisecond

// connLoop keeps one broker connected until the subscriber stops.
func (s *Subscriber) connLoop(u *url.URL) {
	broker := redact(u)
	log := s.log.With("broker", broker)
	proto, _ := protocolOf(u)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := backoff(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)
			select {
			case <-time.After(wait):
			case <-s.connCtx.Done():
				return
			}
		}
		if s.connCtx.Err() != nil {
			return
		}
		var sess session
		var err error
		switch proto {
		case proto311:
			sess, err = s.connect311(u)
		default:
			sess, err = s.connect(u)
			var refused *versionRefused
			if proto == protoAuto && errors.As(err, &refused) {
				log.Info("mqtt broker refused MQTT 5; trying MQTT 3.1.1", "err", err)
				if sess, err = s.connect311(u); err == nil {
					proto = proto311 // from now on, for this broker
				}
			}
		}
		if err != nil {
			if s.connCtx.Err() != nil {
				return
			}
			// Log the first failure and then every tenth, so an absent broker
			// does not flood the log.
			if attempt%10 == 0 {
				log.Warn("mqtt connect failed; retrying with backoff", "err", err, "attempt", attempt+1)
			}
			continue
		}
		attempt = 0
		s.connected.Add(1)
		s.m.connected.WithLabelValues(broker).Set(1)
		log.Info("mqtt connected", "client_id", s.cfg.ClientID, "protocol", sess.protocol())
		select {
		case err = <-sess.down():
			log.Warn("mqtt connection lost; reconnecting", "err", err)
		case <-s.connCtx.Done():
			sess.disconnect()
		}
		sess.wait()
		s.connected.Add(-1)
		s.m.connected.WithLabelValues(broker).Set(0)
		if s.connCtx.Err() != nil {
			return
		}
	}
}

// session is one connection to a broker, of either protocol.
type session interface {
	protocol() string
	down() <-chan error // receives why the connection dropped
	disconnect()        // ends the connection gracefully
	wait()              // returns once the connection is fully closed
}

// versionRefused is a broker's refusal of MQTT 5.
type versionRefused struct{ err error }

func (e *versionRefused) Error() string { return "MQTT 5 refused: " + e.err.Error() }

type session5 struct {
	cli  *paho.Client
	dead chan error
}

func (s *session5) protocol() string   { return "5" }
func (s *session5) down() <-chan error { return s.dead }
func (s *session5) disconnect()        { _ = s.cli.Disconnect(&paho.Disconnect{ReasonCode: 0}) }
func (s *session5) wait()              { <-s.cli.Done() }

// subscriptions returns the filters to subscribe to.
func (s *Subscriber) subscriptions() []string {
	out := make([]string, len(s.cfg.Patterns))
	for i, p := range s.cfg.Patterns {
		out[i] = p.Filter
		if s.cfg.SharedGroup != "" {
			out[i] = "$share/" + s.cfg.SharedGroup + "/" + p.Filter
		}
	}
	return out
}

func credentials(u *url.URL) (user, pass string, hasUser, hasPass bool) {
	if u.User == nil {
		return "", "", false, false
	}
	pass, hasPass = u.User.Password()
	return u.User.Username(), pass, true, hasPass
}

// connect dials, sends an MQTT 5 CONNECT on a persistent session and
// subscribes. A broker that does not speak MQTT 5 gives a *versionRefused.
func (s *Subscriber) connect(u *url.URL) (session, error) {
	ctx, cancel := context.WithTimeout(s.connCtx, 10*time.Second)
	defer cancel()
	conn, err := dial(ctx, u, s.cfg.TLS)
	if err != nil {
		return nil, err
	}
	down := make(chan error, 1)
	var once sync.Once
	signal := func(err error) { once.Do(func() { down <- err }) }
	cli := paho.NewClient(paho.ClientConfig{
		Conn:                       conn,
		EnableManualAcknowledgment: true,
		SendAcksInterval:           ackInterval,
		OnPublishReceived:          []func(paho.PublishReceived) (bool, error){s.onPublish},
		OnClientError:              func(err error) { signal(err) },
		OnServerDisconnect: func(d *paho.Disconnect) {
			reason := ""
			if d.Properties != nil {
				reason = d.Properties.ReasonString
			}
			signal(fmt.Errorf("server disconnected: reason code %d %s", d.ReasonCode, reason))
		},
	})
	expiry := uint32(s.cfg.SessionExpiry / time.Second)
	recvMax := s.cfg.ReceiveMaximum
	cp := &paho.Connect{
		ClientID:   s.cfg.ClientID,
		KeepAlive:  s.cfg.KeepAlive,
		CleanStart: false,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry, ReceiveMaximum: &recvMax},
	}
	user, pass, hasUser, hasPass := credentials(u)
	cp.Username, cp.UsernameFlag = user, hasUser
	cp.Password, cp.PasswordFlag = []byte(pass), hasPass
	ca, err := cli.Connect(ctx, cp)
	if err != nil {
		// A broker of MQTT 3.1.1 answers a version-5 CONNECT with a short
		// CONNACK (return code 1) or closes the connection; one of MQTT 5
		// that will not speak it says 0x84.
		if ctx.Err() == nil && (ca == nil || ca.ReasonCode == 0x84 || ca.ReasonCode == 0x01) {
			return nil, &versionRefused{err}
		}
		return nil, err
	}
	sub := &paho.Subscribe{}
	for _, filter := range s.subscriptions() {
		// RetainHandling 1: retained messages only for a new subscription,
		// so a reconnect does not replay them.
		sub.Subscriptions = append(sub.Subscriptions, paho.SubscribeOptions{Topic: filter, QoS: 1, RetainHandling: 1})
	}
	sa, err := cli.Subscribe(ctx, sub)
	if err != nil {
		_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 && i < len(sub.Subscriptions) {
			s.log.Error("mqtt broker refused a subscription", "filter", sub.Subscriptions[i].Topic, "reason_code", rc)
		}
	}
	return &session5{cli: cli, dead: down}, nil
}

type session311 struct {
	c    *conn311
	dead chan error
	done chan struct{}
}

func (s *session311) protocol() string   { return "3.1.1" }
func (s *session311) down() <-chan error { return s.dead }
func (s *session311) disconnect()        { s.c.disconnect() }
func (s *session311) wait()              { <-s.done }

// connect311 is connect in MQTT 3.1.1: clean session off, QoS 1,
// acknowledged after commit.
func (s *Subscriber) connect311(u *url.URL) (session, error) {
	ctx, cancel := context.WithTimeout(s.connCtx, 10*time.Second)
	defer cancel()
	conn, err := dial(ctx, u, s.cfg.TLS)
	if err != nil {
		return nil, err
	}
	user, pass, hasUser, hasPass := credentials(u)
	c, err := connect311(ctx, conn, s.cfg.ClientID, user, pass, hasUser, hasPass, s.cfg.KeepAlive)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sess := &session311{c: c, dead: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(sess.done)
		sess.dead <- c.run(func(topic string, payload []byte, ack func() error) {
			s.enqueue(&message{topic: topic, payload: payload, ack: ack, received: time.Now()})
		})
	}()
	codes, err := c.subscribe(ctx, s.subscriptions())
	if err != nil {
		c.disconnect()
		<-sess.done
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	for i, rc := range codes {
		if rc >= 0x80 && i < len(s.cfg.Patterns) {
			s.log.Error("mqtt broker refused a subscription", "filter", s.subscriptions()[i])
		}
	}
	return sess, nil
}

func dial(ctx context.Context, u *url.URL, tlsCfg *tls.Config) (net.Conn, error) {
	var d net.Dialer
	switch u.Scheme {
	case "mqtts", "ssl", "tls":
		cfg := tlsCfg.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		c, err := td.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		// paho writes from several goroutines; tls.Conn is not safe for that.
		return &lockedConn{Conn: c}, nil
	}
	return d.DialContext(ctx, "tcp", u.Host)
}

// lockedConn serialises writes.
type lockedConn struct {
	net.Conn
	mu sync.Mutex
}

func (c *lockedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(b)
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// backoff returns the wait before reconnection attempt n (n ≥ 1): doubling
// from min up to max, with up to 25% jitter off.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	jitter := time.Duration(time.Now().UnixNano() % int64(d/4+1))
	return d - jitter
}

// onPublish queues a message for the batcher. It blocks while the queue is
// full, which stops paho reading, so the broker holds further messages
// (bounded by ReceiveMaximum) instead of dtbase buffering them.
func (s *Subscriber) onPublish(pr paho.PublishReceived) (bool, error) {
	pub, cli := pr.Packet, pr.Client
	s.enqueue(&message{topic: pub.Topic, payload: pub.Payload, received: time.Now(),
		ack: func() error { return cli.Ack(pub) }})
	return true, nil
}

// enqueue hands a message to the batcher, unless the subscriber is
// stopping: it is then not acknowledged, and redelivered on the next
// connection.
func (s *Subscriber) enqueue(m *message) {
	select {
	case <-s.draining:
		return
	default:
	}
	s.received.Add(1)
	s.m.received.Inc()
	select {
	case s.msgs <- m:
	case <-s.draining:
	case <-s.batchCtx.Done():
	}
}
