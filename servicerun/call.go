package servicerun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/outbound"
)

// maxRedirects is how many redirects a call follows, as browsers and
// Python's requests do (requests allows 30; 10 is Go's default).
const maxRedirects = 10

// Headers the runner adds to every call, so a service can tell which run
// (and which scheduled time) a request belongs to and ignore a repeat.
const (
	HeaderRunID        = "X-DTBase-Run-Id"
	HeaderSchedule     = "X-DTBase-Schedule"
	HeaderScheduledFor = "X-DTBase-Scheduled-For"
)

type callInfoKey struct{}

// callInfo travels with a request through redirects.
type callInfo struct {
	credentialHeader string
	originalHost     string
}

// newClient returns the guarded outbound client services are called with.
func newClient(guard *outbound.Guard, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	return guard.Client(outbound.ClientOptions{Proxy: proxy, MaxRedirects: maxRedirects,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// A credential is for the service's host only: never pass it
			// on to another host a redirect points at.
			info, _ := req.Context().Value(callInfoKey{}).(*callInfo)
			if info != nil && !strings.EqualFold(req.URL.Host, info.originalHost) {
				req.Header.Del("Authorization")
				if info.credentialHeader != "" {
					req.Header.Del(info.credentialHeader)
				}
			}
			return nil
		}})
}

// newSelfClient returns the client of the internal path: built-in services
// called on this server's own address. It uses no proxy and follows no
// redirect, so it reaches nothing but this server.
func newSelfClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// msgPathURL refuses a path URL at registration; errPathURL when run.
const msgPathURL = "The service URL is a path on this server, which only the built-in services may use: give an absolute http:// or https:// URL"

var errPathURL = errors.New("the service URL is a path on this server, which only the built-in services may use")

func isPath(raw string) bool { return strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") }

// isInternal reports whether a path URL names an endpoint built-in
// services may call.
func (r *Runner) isInternal(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && r.internal[u.Path]
}

// target resolves a service URL: a built-in service's path is an endpoint
// of this server, called through the internal path with an internal
// token; anything else must be an absolute http(s) URL, which the guarded
// client checks again on every request and connection.
func (r *Runner) target(svc *dtbase.Service) (u *url.URL, internal bool, err error) {
	raw := strings.TrimSpace(svc.URL)
	if isPath(raw) {
		if svc.Builtin == "" || !r.isInternal(raw) {
			return nil, false, errPathURL
		}
		self := r.selfURL.Load()
		if self == nil {
			return nil, false, errors.New("the service URL is a path on this server, but the server's own address is not known yet")
		}
		rel, err := url.Parse(raw)
		if err != nil {
			return nil, false, fmt.Errorf("invalid service URL: %v", err)
		}
		return self.ResolveReference(rel), true, nil
	}
	u, err = url.Parse(raw)
	if err != nil {
		return nil, false, fmt.Errorf("invalid service URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, false, fmt.Errorf("invalid service URL %q: want an absolute http:// or https:// URL", raw)
	}
	return u, false, nil
}

// internalToken signs a short-lived access token for dtbase's own
// endpoints. The API accepts it as the editor ServiceRunnerPrincipal.
func (r *Runner) internalToken(ttl time.Duration) (string, error) {
	if len(r.tokenSecret) == 0 {
		return "", errors.New("the runner has no token secret to call this server's own endpoints")
	}
	return auth.ServiceToken(r.tokenSecret, ttl)
}

// call makes one call of svc with the run's parameters and describes how it
// went. It never returns an error: every failure is an outcome.
func (r *Runner) call(ctx context.Context, svc *dtbase.Service, run *dtbase.ServiceRun, extra http.Header, depth int) dtbase.RunOutcome {
	start := time.Now()
	timeout := svc.Timeout
	if timeout <= 0 {
		timeout = r.timeout
	}
	failed := func(format string, args ...any) dtbase.RunOutcome {
		return dtbase.RunOutcome{Status: dtbase.RunFailed, Error: fmt.Sprintf(format, args...), Duration: time.Since(start)}
	}
	u, internal, err := r.target(svc)
	if err != nil {
		return failed("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info := &callInfo{originalHost: u.Host}
	ctx = context.WithValue(ctx, callInfoKey{}, info)

	var body io.Reader
	payload := bytes.TrimSpace(run.Parameters)
	hasBody := len(payload) > 0 && string(payload) != "null"
	if hasBody {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, svc.HTTPMethod, u.String(), body)
	if err != nil {
		return failed("invalid request: %v", err)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if svc.Credential != nil && svc.Credential.Header != "" {
		if r.sealer == nil {
			return failed("the service has a credential, but this server has no secret key to open it")
		}
		value, err := r.sealer.Open(svc.Credential.Sealed)
		if err != nil {
			return failed("the service's credential cannot be opened (was the secret key changed?): set it again with edit-service")
		}
		req.Header.Set(svc.Credential.Header, string(value))
		info.credentialHeader = svc.Credential.Header
	}
	// The runner's own headers come last: a credential header cannot
	// replace them.
	req.Header.Set("User-Agent", r.userAgent)
	req.Header.Set("Accept", "application/json")
	req.Header.Set(HeaderRunID, strconv.FormatInt(run.ID, 10))
	req.Header.Set(dtbase.HeaderRunDepth, strconv.Itoa(depth))
	req.Header.Set(dtbase.HeaderRunOrigin, r.origin)
	for k, vs := range extra {
		req.Header[k] = vs
	}
	client := r.client
	if internal {
		token, err := r.internalToken(timeout + time.Minute)
		if err != nil {
			return failed("%v", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		client = r.selfClient
	}

	resp, err := client.Do(req)
	if err != nil {
		o := failed("%s", describeCallError(ctx, err, timeout))
		o.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		return o
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	o := dtbase.RunOutcome{StatusCode: &code, Status: dtbase.RunSucceeded}
	if code < 200 || code > 299 {
		o.Status = dtbase.RunFailed
		o.Error = fmt.Sprintf("the service answered %d %s", code, http.StatusText(code))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	o.Duration = time.Since(start)
	if err != nil {
		o.Status = dtbase.RunFailed
		o.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		o.Error = "reading the answer failed: " + describeCallError(ctx, err, timeout)
		return o
	}
	if int64(len(data)) > r.maxBody {
		// The rest is never read: closing the body drops the connection, so
		// a huge answer costs at most maxBody bytes of memory.
		o.Note = fmt.Sprintf("the answer is larger than %s and was cut off there; its body is not stored", formatBytes(r.maxBody))
		return o
	}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
	case isJSON(data):
		o.ResponseJSON = data
	default:
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if ct == "" {
			ct = "no content type"
		}
		o.Note = fmt.Sprintf("the answer is not JSON (%s, %d bytes); its body is not stored", ct, len(data))
	}
	return o
}

// isJSON reports whether data is one JSON value. Python's parser, which
// the original used, also accepts NaN and Infinity, but such an answer
// could not be returned as JSON again, so it counts as not JSON here.
func isJSON(data []byte) bool { return json.Valid(data) }

// describeCallError turns a failed call into a message for the run log,
// without the URL (which may carry a key in its query).
func describeCallError(ctx context.Context, err error, timeout time.Duration) string {
	var denied *outbound.DeniedError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return describeCancel(ctx, "during the run")
	case errors.Is(err, outbound.ErrTooManyRedirects):
		return fmt.Sprintf("too many redirects (stopped after %d)", maxRedirects)
	case errors.As(err, &denied):
		return "refused: " + denied.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, outbound.ErrScheme) {
		return "refused: " + err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("cannot resolve host %q: %s", dnsErr.Name, dnsErr.Err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return "cannot connect: " + opErr.Err.Error()
	}
	return err.Error()
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
