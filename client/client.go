// Package client is the Go SDK of the dtbase HTTP API. It has a typed
// method for every endpoint: the original DTBase's 49 and dtbase's
// extensions (roles, API keys, batch and CSV ingest, aggregated,
// downsampled and latest reads, schedules).
//
// A Client authenticates in one of three ways: with an API key (sent as the
// bearer token on every call), with an email and password (it logs in when
// first needed, refreshes the access token shortly before it expires, and
// logs in again when the refresh token has expired too), or with tokens the
// caller obtained elsewhere (SetTokens). It is safe for concurrent use.
//
// Every call takes a context. A call the server answers with a status other
// than the endpoint's success status returns a *Error that carries the
// status, the "detail" text and the raw body.
//
// The Steps helper is the equivalent of the original's BaseService: it posts
// a list of (endpoint, payload) pairs in order and treats "exists already"
// conflicts as success.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultBackendURL is the original's default for DT_BACKEND_URL.
const DefaultBackendURL = "http://localhost:5000"

// DefaultUserEmail is the built-in account services log in as by default.
const DefaultUserEmail = "default_user@localhost"

// Client calls a dtbase server. Create it with New or FromEnv.
type Client struct {
	base string
	http *http.Client

	mu         sync.Mutex // guards the credentials and tokens below
	email      string
	password   string
	haveCreds  bool
	apiKey     string
	access     string
	refresh    string
	accessExp  time.Time // zero: unknown, treat as valid
	refreshExp time.Time
	accessTTL  time.Duration // lifetime of the current access token, for the refresh margin

	now func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for every call (default: a client
// with a 60 s timeout that honours the standard proxy variables).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithAPIKey authenticates every call with an API key created by an admin
// (/user/create-api-key). Keys do not expire; they are revoked.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithCredentials makes the client log in as email when it first needs a
// token, and again whenever its tokens can no longer be refreshed.
func WithCredentials(email, password string) Option {
	return func(c *Client) { c.email, c.password, c.haveCreds = email, password, true }
}

// WithTokens starts the client with an access and a refresh token obtained
// elsewhere, e.g. from a web session.
func WithTokens(access, refresh string) Option {
	return func(c *Client) { c.setTokensLocked(access, refresh) }
}

// New returns a client of the server at baseURL (e.g. "http://localhost:5000").
// An empty baseURL means DefaultBackendURL.
func New(baseURL string, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultBackendURL
	}
	c := &Client{
		base: strings.TrimRight(baseURL, "/"),
		http: &http.Client{Timeout: 60 * time.Second},
		now:  time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// FromEnv returns a client configured the way the original's services are:
// DT_BACKEND_URL (default http://localhost:5000); DT_API_KEY when set;
// otherwise the default user default_user@localhost with the password in
// DT_DEFAULT_USER_PASS. Further options override these.
func FromEnv(opts ...Option) *Client {
	var base []Option
	if key := os.Getenv("DT_API_KEY"); key != "" {
		base = append(base, WithAPIKey(key))
	} else if pass, ok := os.LookupEnv("DT_DEFAULT_USER_PASS"); ok {
		base = append(base, WithCredentials(DefaultUserEmail, pass))
	}
	return New(os.Getenv("DT_BACKEND_URL"), append(base, opts...)...)
}

// BaseURL returns the server's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// Login exchanges an email and a password for a token pair, which the client
// then uses for every call, and remembers the credentials so it can log in
// again once the refresh token has expired. A wrong password is a *Error
// with status 401.
func (c *Client) Login(ctx context.Context, email, password string) (TokenPair, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.email, c.password, c.haveCreds = email, password, true
	return c.loginLocked(ctx)
}

func (c *Client) loginLocked(ctx context.Context) (TokenPair, error) {
	var pair TokenPair
	body, _ := json.Marshal(map[string]string{"email": c.email, "password": c.password})
	if err := c.send(ctx, http.MethodPost, "/auth/login", body, "", http.StatusOK, &pair); err != nil {
		return pair, err
	}
	c.setTokensLocked(pair.AccessToken, pair.RefreshToken)
	return pair, nil
}

// Refresh exchanges the refresh token for a new pair. The client does this
// by itself shortly before the access token expires; call it only to force
// a refresh.
func (c *Client) Refresh(ctx context.Context) (TokenPair, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshLocked(ctx)
}

func (c *Client) refreshLocked(ctx context.Context) (TokenPair, error) {
	var pair TokenPair
	if c.refresh == "" {
		return pair, fmt.Errorf("dtbase client: no refresh token (log in first)")
	}
	if err := c.send(ctx, http.MethodPost, "/auth/refresh", nil, c.refresh, http.StatusOK, &pair); err != nil {
		return pair, err
	}
	c.setTokensLocked(pair.AccessToken, pair.RefreshToken)
	return pair, nil
}

// SetTokens replaces the client's tokens.
func (c *Client) SetTokens(access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setTokensLocked(access, refresh)
}

// Tokens returns the current access and refresh tokens ("" when none).
func (c *Client) Tokens() (access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access, c.refresh
}

func (c *Client) setTokensLocked(access, refresh string) {
	if c.now == nil {
		c.now = time.Now
	}
	c.access, c.refresh = access, refresh
	c.accessExp, c.refreshExp = tokenExpiry(access), tokenExpiry(refresh)
	c.accessTTL = 0
	if !c.accessExp.IsZero() {
		c.accessTTL = c.accessExp.Sub(c.now())
	}
}

// tokenExpiry reads the exp claim of a JWT without verifying it: the client
// only uses it to decide when to refresh. It returns the zero time when the
// token has none.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}

// refreshMargin is how long before expiry a token is renewed: 30 s, or a
// fifth of its lifetime for short-lived tokens.
func refreshMargin(ttl time.Duration) time.Duration {
	if m := ttl / 5; ttl > 0 && m < 30*time.Second {
		return m
	}
	return 30 * time.Second
}

// bearer returns the credential for the next call, renewing the access
// token first when it is about to expire. It returns "" when the client has
// no way to authenticate; the server then answers 401.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiKey != "" {
		return c.apiKey, nil
	}
	now := c.now()
	if c.access != "" && (c.accessExp.IsZero() || now.Add(refreshMargin(c.accessTTL)).Before(c.accessExp)) {
		return c.access, nil
	}
	if c.refresh != "" && (c.refreshExp.IsZero() || now.Add(time.Second).Before(c.refreshExp)) {
		_, err := c.refreshLocked(ctx)
		if err == nil {
			return c.access, nil
		}
		if !c.haveCreds || ctx.Err() != nil {
			return "", fmt.Errorf("refresh token: %w", err)
		}
	}
	if c.haveCreds {
		if _, err := c.loginLocked(ctx); err != nil {
			return "", err
		}
		return c.access, nil
	}
	return c.access, nil // possibly expired; the server says so
}

// invalidate forgets an access token the server rejected, so the next call
// renews it.
func (c *Client) invalidate(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiKey != "" || token != c.access || token == "" {
		return false
	}
	c.access, c.accessExp = "", time.Time{}
	return c.refresh != "" || c.haveCreds
}

// Call sends a request to an endpoint and decodes its JSON answer into out
// (unless out is nil). payload is encoded as JSON; nil sends no body; a
// []byte or json.RawMessage is sent as is. Any 2xx status is success.
func (c *Client) Call(ctx context.Context, method, path string, payload, out any) error {
	return c.call(ctx, method, path, payload, 0, out)
}

// Post is Call with POST.
func (c *Client) Post(ctx context.Context, path string, payload, out any) error {
	return c.call(ctx, http.MethodPost, path, payload, 0, out)
}

// Get is Call with GET and no body.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.call(ctx, http.MethodGet, path, nil, 0, out)
}

func encodePayload(payload any) ([]byte, error) {
	switch p := payload.(type) {
	case nil:
		return nil, nil
	case []byte:
		return p, nil
	case json.RawMessage:
		return p, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return nil, fmt.Errorf("dtbase client: encode request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// list calls an endpoint that answers a JSON list with 200.
func list[T any](ctx context.Context, c *Client, method, path string, payload any) ([]T, error) {
	return fetch[[]T](ctx, c, method, path, payload, http.StatusOK)
}

// fetch calls an endpoint and decodes its answer, expected with status
// want (0: any 2xx), into a T.
func fetch[T any](ctx context.Context, c *Client, method, path string, payload any, want int) (T, error) {
	var out T
	err := c.call(ctx, method, path, payload, want, &out)
	return out, err
}

// call authenticates, sends, and retries once with a renewed token when the
// server rejects an access token the client thought valid (clock skew, a
// restarted server with a new secret). want is the expected success status,
// or 0 for any 2xx.
func (c *Client) call(ctx context.Context, method, path string, payload any, want int, out any) error {
	_, err := c.callStatus(ctx, method, path, payload, want, out)
	return err
}

// callStatus is call that also returns the status of a successful answer.
func (c *Client) callStatus(ctx context.Context, method, path string, payload any, want int, out any) (int, error) {
	body, err := encodePayload(payload)
	if err != nil {
		return 0, err
	}
	token, err := c.bearer(ctx)
	if err != nil {
		return 0, err
	}
	status, err := c.sendStatus(ctx, method, path, body, token, want, out)
	if e, ok := err.(*Error); ok && e.Status == http.StatusUnauthorized && c.invalidate(token) {
		if token, err = c.bearer(ctx); err != nil {
			return 0, err
		}
		status, err = c.sendStatus(ctx, method, path, body, token, want, out)
	}
	return status, err
}

// send does one HTTP exchange.
func (c *Client) send(ctx context.Context, method, path string, body []byte, token string, want int, out any) error {
	_, err := c.sendStatus(ctx, method, path, body, token, want, out)
	return err
}

func (c *Client) sendStatus(ctx context.Context, method, path string, body []byte, token string, want int, out any) (int, error) {
	resp, err := c.do(ctx, method, path, bytesReader(body), token, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return answer(resp, method, path, want, out)
}

// answer reads an answer and, when its status is want, decodes it into out
// (unless out is nil). It returns the status of a successful answer.
func answer(resp *http.Response, method, path string, want int, out any) (int, error) {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("dtbase client: %s %s: read answer: %w", method, path, err)
	}
	if !success(resp.StatusCode, want) {
		return resp.StatusCode, newError(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("dtbase client: %s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

func success(status, want int) bool {
	if want != 0 {
		return status == want
	}
	return status >= 200 && status < 300
}

// bytesReader reads body; a nil body is no body.
func bytesReader(body []byte) io.Reader {
	if body == nil {
		return nil
	}
	return bytes.NewReader(body)
}

// do sends one request; a body without a Content-Type in header is JSON.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, token string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("dtbase client: %w", err)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dtbase client: %s %s: %w", method, path, err)
	}
	return resp, nil
}

// stream sends an authenticated request and returns the response body for
// the caller to read, for downloads. The caller closes it.
func (c *Client) stream(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) (io.ReadCloser, error) {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		token, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.do(ctx, method, path, bytesReader(body), token, header)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp.Body, nil
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && c.invalidate(token) {
			continue
		}
		return nil, newError(method, path, resp.StatusCode, data)
	}
}

// upload sends a body that can be read only once, such as a file, with
// its content type, and decodes the 201 answer into out. It is not retried
// after a rejected token, since the body cannot be sent again, so the
// client renews an expiring token before sending.
func (c *Client) upload(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	token, err := c.bearer(ctx)
	if err != nil {
		return err
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	resp, err := c.do(ctx, method, target, body, token, http.Header{"Content-Type": {contentType}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = answer(resp, method, path, http.StatusCreated, out)
	return err
}

// Detail is the answer of most writes: {"detail": "..."}.
type Detail struct {
	Detail string `json:"detail"`
}
