package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/outbound"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256 of
// the body keyed by the channel's secret; docs/alerts.md shows how to
// check it.
const (
	HeaderSignature = "X-DTBase-Signature"
	HeaderEventID   = "X-DTBase-Event-Id"
)

// Payload is the JSON body of a webhook, one per event. EventID is the
// idempotency key: a receiver may see an event twice (a crash between the
// send and its record) and should ignore a repeat.
type Payload struct {
	EventID  string      `json:"event_id"`
	Kind     string      `json:"kind"`
	AlertID  int64       `json:"alert_id"`
	Rule     string      `json:"rule"`
	Severity string      `json:"severity"`
	Sensor   string      `json:"sensor"`
	Measure  string      `json:"measure"`
	Message  string      `json:"message"`
	Value    *float64    `json:"value"`
	DataTime dtbase.Time `json:"data_time"`
	Time     dtbase.Time `json:"time"`
	By       *string     `json:"by,omitempty"`
	Note     *string     `json:"note,omitempty"`
	URL      string      `json:"url,omitempty"`
	Channel  string      `json:"channel"`
	Attempt  int         `json:"attempt"`
}

// Sender sends one notification.
type Sender struct {
	Guard *outbound.Guard
	HTTP  *http.Client
	// Open decrypts a channel's sealed secret.
	Open func(sealed []byte) ([]byte, error)
	// BaseURL is the server's public address, for links back; may be "".
	BaseURL string
}

// NewSender returns a sender whose calls pass guard.
func NewSender(guard *outbound.Guard, open func([]byte) ([]byte, error), baseURL string) *Sender {
	c := guard.Client(outbound.ClientOptions{})
	c.Timeout = 30 * time.Second
	return &Sender{Guard: guard, HTTP: c, Open: open, BaseURL: strings.TrimRight(baseURL, "/")}
}

// Link is the page of an alert.
func (s *Sender) Link(alertID int64) string {
	if s.BaseURL == "" {
		return ""
	}
	return s.BaseURL + "/alerts?alert=" + strconv.FormatInt(alertID, 10)
}

func (s *Sender) secret(c dtbase.AlertChannel) ([]byte, error) {
	if len(c.Secret) == 0 || s.Open == nil {
		return nil, nil
	}
	return s.Open(c.Secret)
}

// Send delivers n and returns a line for the delivery log.
func (s *Sender) Send(ctx context.Context, n dtbase.Notification) (string, error) {
	switch n.Channel.Kind {
	case dtbase.ChannelWebhook:
		return s.webhook(ctx, n)
	case dtbase.ChannelEmail:
		return s.email(ctx, n)
	}
	return "", fmt.Errorf("unknown channel kind %q", n.Channel.Kind)
}

// PayloadOf is the webhook body of a notification.
func (s *Sender) PayloadOf(n dtbase.Notification) Payload {
	e := n.Event
	return Payload{EventID: e.ID, Kind: e.Kind, AlertID: e.AlertID, Rule: e.RuleName, Severity: e.Severity, Sensor: e.Sensor,
		Measure: e.Measure, Message: e.Message, Value: e.Value, DataTime: dtbase.Time(e.DataAt), Time: dtbase.Time(e.At),
		By: e.By, Note: e.Note, URL: s.Link(e.AlertID), Channel: n.Channel.Name, Attempt: n.Attempts}
}

// Sign returns the signature header value of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (s *Sender) webhook(ctx context.Context, n dtbase.Notification) (string, error) {
	body, err := json.Marshal(s.PayloadOf(n))
	if err != nil {
		return "", err
	}
	secret, err := s.secret(n.Channel)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Channel.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dtbase-alerts")
	req.Header.Set(HeaderEventID, n.Event.ID)
	if secret != nil {
		req.Header.Set(HeaderSignature, Sign(secret, body))
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("webhook answered %s", resp.Status)
	}
	return "webhook answered " + resp.Status, nil
}

// SendTest sends a test notification through c, at now, and returns the
// line a delivery log would keep. It goes out at once, not through the
// outbox, so that whoever set the channel up sees at once whether it works.
func (s *Sender) SendTest(ctx context.Context, c dtbase.AlertChannel, now time.Time) (string, error) {
	id := make([]byte, 8)
	rand.Read(id)
	e := dtbase.AlertEvent{ID: "test-" + hex.EncodeToString(id), Kind: dtbase.EventTest, RuleName: "test", Severity: "info",
		Message: "A test notification from dtbase: channel " + c.Name + " works.", At: now, DataAt: now}
	return s.Send(ctx, dtbase.Notification{Event: e, Channel: c, Attempts: 1})
}

// Subject is the readable subject of an event's e-mail.
func Subject(e dtbase.AlertEvent) string {
	if e.Kind == dtbase.EventTest {
		return "[dtbase] " + e.Message
	}
	return fmt.Sprintf("[dtbase %s] %s %s on %s: %s", e.Severity, e.RuleName, e.Kind, e.Sensor, e.Message)
}

func (s *Sender) email(ctx context.Context, n dtbase.Notification) (string, error) {
	c, e := n.Channel, n.Event
	addr := net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := s.Guard.Dial(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tlsConf := &tls.Config{ServerName: c.SMTPHost, MinVersion: tls.VersionTLS12}
	if c.SMTPSecurity == "tls" {
		conn = tls.Client(conn, tlsConf)
	}
	cl, err := smtp.NewClient(conn, c.SMTPHost)
	if err != nil {
		conn.Close()
		return "", fmt.Errorf("smtp: %w", err)
	}
	defer cl.Close()
	if c.SMTPSecurity == "starttls" {
		if err := cl.StartTLS(tlsConf); err != nil {
			return "", fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if c.SMTPUser != "" {
		password, err := s.secret(c)
		if err != nil {
			return "", err
		}
		if err := cl.Auth(smtp.PlainAuth("", c.SMTPUser, string(password), c.SMTPHost)); err != nil {
			return "", fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	for _, r := range c.Recipients {
		if err := cl.Rcpt(r); err != nil {
			return "", fmt.Errorf("smtp: %w", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	var b strings.Builder
	hdr := func(k, v string) {
		b.WriteString(k + ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(v) + "\r\n")
	}
	hdr("From", c.From)
	hdr("To", strings.Join(c.Recipients, ", "))
	hdr("Subject", Subject(e))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+e.ID+"@dtbase>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "Rule:     %s (%s)\r\nSensor:   %s\r\nMeasure:  %s\r\nEvent:    %s\r\nWhat:     %s\r\nData time: %s\r\n",
		e.RuleName, e.Severity, e.Sensor, e.Measure, e.Kind, e.Message, dtbase.FormatTime(e.DataAt))
	if e.By != nil {
		fmt.Fprintf(&b, "By:       %s\r\n", *e.By)
	}
	if link := s.Link(e.AlertID); link != "" {
		fmt.Fprintf(&b, "\r\nSee %s\r\n", link)
	}
	fmt.Fprintf(&b, "\r\nEvent id: %s\r\n", e.ID)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	if err := cl.Quit(); err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	return "mail accepted by " + addr, nil
}
