package mqtt

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// conn311 is a minimal MQTT 3.1.1 client: enough to subscribe with QoS 1
// on a persistent session and acknowledge each message after it is
// stored. paho.golang speaks only MQTT 5; this is the fallback for brokers
// that do not.
type conn311 struct {
	conn      net.Conn
	r         *bufio.Reader
	keepAlive time.Duration

	wmu    sync.Mutex // one writer at a time
	suback chan []byte
	done   chan struct{}
	once   sync.Once
	err    error
}

// Packet types of MQTT 3.1.1 (the high nibble of the first byte).
const (
	p311Connect    = 1
	p311Connack    = 2
	p311Publish    = 3
	p311Puback     = 4
	p311Pubrec     = 5
	p311Pubrel     = 6
	p311Pubcomp    = 7
	p311Subscribe  = 8
	p311Suback     = 9
	p311Pingreq    = 12
	p311Pingresp   = 13
	p311Disconnect = 14
)

// errProtocol311 marks a CONNACK refusing protocol level 4.
var errProtocol311 = errors.New("mqtt 3.1.1: broker refused the protocol version")

// connect311 sends CONNECT on an open connection and waits for CONNACK.
func connect311(ctx context.Context, nc net.Conn, clientID, user, pass string, hasUser, hasPass bool, keepAlive uint16) (*conn311, error) {
	c := &conn311{conn: nc, r: bufio.NewReaderSize(nc, 64<<10), keepAlive: time.Duration(keepAlive) * time.Second,
		suback: make(chan []byte, 1), done: make(chan struct{})}
	var body []byte
	body = appendString(body, "MQTT")
	flags := byte(0) // clean session off: the broker keeps our subscriptions and queued messages
	if hasUser {
		flags |= 0x80
	}
	if hasPass {
		flags |= 0x40
	}
	body = append(body, 4, flags)
	body = binary.BigEndian.AppendUint16(body, keepAlive)
	body = appendString(body, clientID)
	if hasUser {
		body = appendString(body, user)
	}
	if hasPass {
		body = appendString(body, pass)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	if err := c.write(p311Connect<<4, body); err != nil {
		return nil, err
	}
	typ, _, payload, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("mqtt 3.1.1: reading CONNACK: %w", err)
	}
	if typ != p311Connack || len(payload) != 2 {
		return nil, fmt.Errorf("mqtt 3.1.1: expected CONNACK, got packet type %d", typ)
	}
	switch rc := payload[1]; rc {
	case 0:
	case 1:
		return nil, errProtocol311
	case 4, 5:
		return nil, fmt.Errorf("mqtt 3.1.1: broker refused the connection: not authorised (return code %d)", rc)
	default:
		return nil, fmt.Errorf("mqtt 3.1.1: broker refused the connection: return code %d", rc)
	}
	return c, nil
}

// run reads packets until the connection ends, passing each PUBLISH to
// onPublish with a function that acknowledges it, and sends keep-alive
// pings. It returns why the connection ended.
func (c *conn311) run(onPublish func(topic string, payload []byte, ack func() error)) error {
	go c.pinger()
	for {
		if c.keepAlive > 0 {
			// A broker answers a ping within the keep-alive; silence longer
			// than one and a half keep-alives means the connection is dead.
			c.conn.SetReadDeadline(time.Now().Add(c.keepAlive * 3 / 2))
		}
		typ, flags, payload, err := c.read()
		if err != nil {
			c.fail(err)
			return c.err
		}
		switch typ {
		case p311Publish:
			topic, rest, err := readString(payload)
			if err != nil {
				c.fail(err)
				return c.err
			}
			qos := (flags >> 1) & 3
			ack := func() error { return nil }
			if qos > 0 {
				if len(rest) < 2 {
					c.fail(errors.New("mqtt 3.1.1: PUBLISH without a packet id"))
					return c.err
				}
				id := binary.BigEndian.Uint16(rest)
				rest = rest[2:]
				if qos == 2 { // not requested, but answer correctly: PUBREC now, PUBCOMP on PUBREL
					ack = func() error { return c.write(p311Pubrec<<4, binary.BigEndian.AppendUint16(nil, id)) }
				} else {
					ack = func() error { return c.write(p311Puback<<4, binary.BigEndian.AppendUint16(nil, id)) }
				}
			}
			onPublish(topic, rest, ack)
		case p311Pubrel:
			if len(payload) >= 2 {
				c.write(p311Pubcomp<<4, payload[:2])
			}
		case p311Suback:
			select {
			case c.suback <- payload:
			default:
			}
		case p311Pingresp:
		default:
			// Nothing else is expected by a subscriber; ignore it.
		}
	}
}

func (c *conn311) pinger() {
	if c.keepAlive <= 0 {
		return
	}
	t := time.NewTicker(c.keepAlive / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.write(p311Pingreq<<4, nil); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

// subscribe subscribes to filters with QoS 1 and returns the broker's
// return codes (0x80 is a refusal). run must be running.
func (c *conn311) subscribe(ctx context.Context, filters []string) ([]byte, error) {
	body := binary.BigEndian.AppendUint16(nil, 1)
	for _, f := range filters {
		body = appendString(body, f)
		body = append(body, 1)
	}
	if err := c.write(p311Subscribe<<4|0x02, body); err != nil {
		return nil, err
	}
	select {
	case p := <-c.suback:
		if len(p) < 2 {
			return nil, errors.New("mqtt 3.1.1: short SUBACK")
		}
		return p[2:], nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// disconnect sends DISCONNECT and closes the connection.
func (c *conn311) disconnect() {
	c.write(p311Disconnect<<4, nil)
	c.fail(errors.New("disconnected"))
}

func (c *conn311) fail(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		c.conn.Close()
	})
}

func (c *conn311) write(header byte, body []byte) error {
	select {
	case <-c.done:
		return fmt.Errorf("mqtt 3.1.1: connection closed: %w", c.err)
	default:
	}
	pkt := make([]byte, 0, len(body)+5)
	pkt = append(pkt, header)
	pkt = appendVarint(pkt, len(body))
	pkt = append(pkt, body...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.conn.Write(pkt)
	if err != nil {
		c.fail(err)
	}
	return err
}

// maxPacket311 bounds the packets read, as a broker bounds what it accepts.
const maxPacket311 = 16 << 20

func (c *conn311) read() (typ, flags byte, payload []byte, err error) {
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		d, err := c.r.ReadByte()
		if err != nil {
			return 0, 0, nil, err
		}
		n += int(d&0x7f) * mult
		if d&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, 0, nil, errors.New("mqtt 3.1.1: malformed remaining length")
		}
		mult *= 128
	}
	if n > maxPacket311 {
		return 0, 0, nil, fmt.Errorf("mqtt 3.1.1: packet of %d bytes exceeds the limit", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return 0, 0, nil, err
	}
	return b >> 4, b & 0x0f, payload, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, errors.New("mqtt 3.1.1: short string")
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, errors.New("mqtt 3.1.1: short string")
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

func appendVarint(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
