package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/client"
)

const importUsage = `Usage: dtbase import readings [flags] FILE.csv

Import sensor readings from a CSV file straight into the configured database
(the database flags below, or their DT_* variables, choose it). The sensors and
their measures must exist. The whole file is one transaction: a malformed row
is reported with its line number and nothing of the file is written. Readings
whose (sensor, measure, timestamp) is already stored are skipped and counted
as duplicates. A progress bar is drawn when stderr is a terminal; otherwise a
progress line is printed every few seconds. "-" reads standard input.
On SQLite the import holds the database's write lock until it commits, so
a server using the same file waits for it (or times out, after 10 s, on a
very large file): import while the server is idle, or upload smaller files
through POST /sensor/upload-readings-csv.

With --url, the file goes to a running dtbase server instead, through the Go
client and that same endpoint: authenticated with --api-key (or DT_API_KEY),
else by logging in as --email (default default_user@localhost) with
--password (or DT_DEFAULT_USER_PASS); the account needs the editor or admin
role. The database flags cannot be combined with --url. The server stores
the whole file in one
transaction, so the same guarantee holds: a malformed row is reported with
its line number and nothing is written. For that the server reads the whole
request into memory first, up to its DT_MAX_BODY_BYTES (64 MiB by default):
a larger file is refused whole, with nothing written. Then raise that limit
on the server, import on the server's machine with the database flags, or
split the file, in which case each part is its own transaction (sending a
part again is safe: readings already stored are skipped). The progress bar
follows the upload; the server answers once it has stored the file.

` + dtbase.ReadingCSVHelp

// importCmd runs 'dtbase import readings FILE.csv'.
func (m *Main) importCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "readings" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
			fmt.Fprintf(m.Stdout, "%s\n", importUsage)
			return nil
		}
		return usageError{"import: say what to import: dtbase import readings FILE.csv (see dtbase import --help)"}
	}
	fs, load := m.commandFlags("import readings", importUsage, databaseSettings)
	interval := fs.Duration("progress-interval", 5*time.Second, "how often to print a progress line when stderr is not a terminal")
	serverURL := fs.String("url", "", "send the file to the dtbase server at this URL (e.g. http://host:5000) instead of writing to the database")
	apiKey := fs.String("api-key", "", "with --url: API key to authenticate with (default: DT_API_KEY)")
	email := fs.String("email", client.DefaultUserEmail, "with --url: user to log in as when no API key is given")
	password := fs.String("password", "", "with --url: password of --email (default: DT_DEFAULT_USER_PASS)")
	path, err := parseOneArg(fs, args[1:], "import readings: give exactly one CSV file (or - for standard input)")
	if err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	var remote *remoteTarget
	if *serverURL != "" {
		if remote, err = m.remoteTarget(fs, *serverURL, *apiKey, *email, *password); err != nil {
			return err
		}
	}
	var in io.Reader = stdinReader
	var size int64 = -1
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("import readings: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	if remote != nil {
		return m.importRemote(ctx, remote, path, in, size, *interval)
	}
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()

	counter := &countingReader{r: in}
	p := newImportProgress(m.Stderr, path, size, *interval)
	start := time.Now()
	res, err := dtbase.ImportReadingsCSV(ctx, db, counter, func(rows int64) { p.update(rows, counter.n.Load()) })
	elapsed := time.Since(start)
	if err == nil {
		p.final(res.Rows, counter.n.Load())
	}
	p.done()
	if err != nil {
		return fmt.Errorf("import readings from %s: %s; nothing was written", path, dtbase.ErrorMessage(err)+internalCause(err))
	}
	rate := float64(res.Rows) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(m.Stdout, "imported %s: %d readings read, %d inserted, %d duplicates skipped in %s (%.0f readings/s)\n",
		path, res.Rows, res.Inserted, res.Duplicates(), elapsed.Round(time.Millisecond), rate)
	return nil
}

// remoteTarget is the server and credentials of an import with --url.
type remoteTarget struct {
	url    string
	client *client.Client
	// authHint names where the credentials came from, for a 401.
	authHint string
}

// remoteTarget checks the flags of an import with --url and builds the
// client. An API key wins over a password; without either it is a usage
// error. The secrets are read from the environment after parsing, so that
// --help never prints them as defaults.
func (m *Main) remoteTarget(fs *flag.FlagSet, serverURL, apiKey, email, password string) (*remoteTarget, error) {
	var conflict []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "database-url", "data-dir", "sql-host", "sql-port", "sql-user", "sql-pass", "sql-dbname":
			conflict = append(conflict, "--"+f.Name)
		}
	})
	if len(conflict) > 0 {
		return nil, usageError{"import readings: --url sends the file to a server; " + strings.Join(conflict, ", ") + " would choose a database: give one or the other"}
	}
	if !strings.HasPrefix(serverURL, "http://") && !strings.HasPrefix(serverURL, "https://") {
		return nil, usageError{fmt.Sprintf("import readings: --url %q: want http://host:port or https://host", serverURL)}
	}
	// No overall timeout: a large upload takes as long as it takes; the
	// context (Ctrl-C) cancels it.
	opts := []client.Option{client.WithHTTPClient(&http.Client{})}
	t := &remoteTarget{url: strings.TrimRight(serverURL, "/")}
	if apiKey == "" {
		apiKey, _ = m.Getenv("DT_API_KEY")
		t.authHint = "the API key in DT_API_KEY"
	} else {
		t.authHint = "--api-key"
	}
	switch {
	case apiKey != "":
		opts = append(opts, client.WithAPIKey(apiKey))
	default:
		if def, ok := m.Getenv("DT_DEFAULT_USER_PASS"); password == "" && ok {
			password = def
			t.authHint = "the password of " + email + " (DT_DEFAULT_USER_PASS)"
		} else {
			t.authHint = "--email " + email + " and --password"
		}
		if password == "" {
			return nil, usageError{"import readings: --url needs credentials: --api-key (or DT_API_KEY), or --password (or DT_DEFAULT_USER_PASS) of --email " + email}
		}
		opts = append(opts, client.WithCredentials(email, password))
	}
	t.client = client.New(t.url, opts...)
	return t, nil
}

// importRemote sends the file to a server, which stores it in one
// transaction (POST /sensor/upload-readings-csv). A cheap authenticated
// call first makes a wrong URL or credential fail before any of a large
// file is sent.
func (m *Main) importRemote(ctx context.Context, t *remoteTarget, path string, in io.Reader, size int64, interval time.Duration) error {
	if _, err := t.client.ListSensorTypes(ctx); err != nil {
		return t.explain(err, path, false)
	}
	p := newImportProgress(m.Stderr, path, size, interval)
	p.noun = "rows sent"
	body := &uploadReader{r: in, p: p}
	start := time.Now()
	res, err := t.client.UploadReadingsCSV(ctx, body)
	elapsed := time.Since(start)
	body.finish(err == nil)
	if err != nil {
		return t.explain(err, path, true)
	}
	rate := float64(res.Rows) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(m.Stdout, "imported %s into %s: %d readings read, %d inserted, %d duplicates skipped in %s (%.0f readings/s)\n",
		path, t.url, res.Rows, res.Inserted, res.Duplicates, elapsed.Round(time.Millisecond), rate)
	return nil
}

// explain turns a failed call into a message for the operator. sent says
// whether the file was being uploaded.
func (t *remoteTarget) explain(err error, path string, sent bool) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		if sent && !errors.Is(err, context.Canceled) {
			// The connection broke: the server may have committed just before.
			return fmt.Errorf("import readings from %s: %w; the server may or may not have stored the file (sending it again is safe: readings already stored are skipped)", path, err)
		}
		return fmt.Errorf("import readings: cannot reach the dtbase server at %s: %w", t.url, err)
	}
	switch ce.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("import readings: the server at %s rejected the credentials (%s): check %s; nothing was written", t.url, ce.Detail, t.authHint)
	case http.StatusForbidden:
		return fmt.Errorf("import readings: the server at %s refused the upload (%s): uploading readings needs the editor or admin role; nothing was written", t.url, ce.Detail)
	case http.StatusRequestEntityTooLarge:
		return fmt.Errorf("import readings from %s: the file is larger than the server at %s accepts in one request (its DT_MAX_BODY_BYTES); nothing was written: raise that limit, import on the server with the database flags, or split the file (see --help)", path, t.url)
	case http.StatusNotFound:
		return fmt.Errorf("import readings: %s does not look like a dtbase server (%s %s: 404)", t.url, ce.Method, ce.Path)
	}
	if sent {
		return fmt.Errorf("import readings from %s: %s; nothing was written", path, ce.Detail)
	}
	return fmt.Errorf("import readings: %w", err)
}

// uploadReader feeds the file to the HTTP request and drives the progress
// display. The transport reads it on its own goroutine, and may still be
// reading when the server has answered early (an error), hence the lock.
type uploadReader struct {
	r io.Reader
	p *importProgress

	mu           sync.Mutex
	bytes, lines int64
	closed       bool
}

func (u *uploadReader) Read(b []byte) (int, error) {
	n, err := u.r.Read(b)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes += int64(n)
	u.lines += int64(bytes.Count(b[:n], []byte{'\n'}))
	if !u.closed {
		u.p.update(u.rows(), u.bytes)
	}
	return n, err
}

// rows is the number of data rows sent so far: lines after the header.
func (u *uploadReader) rows() int64 { return max(u.lines-1, 0) }

// finish draws the final state of the bar and ends its line.
func (u *uploadReader) finish(ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if ok {
		u.p.final(u.rows(), u.bytes)
	}
	u.p.done()
	u.closed = true
}

// internalCause adds the cause of an unexpected error, which the
// client-safe message hides; on the command line the user is the operator.
func internalCause(err error) string {
	if dtbase.ErrorCode(err) == dtbase.EINTERNAL {
		return " (" + err.Error() + ")"
	}
	return ""
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importProgress draws a progress bar on a terminal and prints plain lines
// at an interval otherwise.
type importProgress struct {
	w        io.Writer
	name     string
	noun     string // what the count counts: "readings read" or "rows sent"
	size     int64
	tty      bool
	interval time.Duration
	start    time.Time
	last     time.Time
	drawn    bool
}

func newImportProgress(w io.Writer, name string, size int64, interval time.Duration) *importProgress {
	now := time.Now()
	return &importProgress{w: w, name: name, noun: "readings read", size: size, tty: isTerminal(w), interval: interval, start: now, last: now}
}

func (p *importProgress) update(rows, bytes int64) {
	now := time.Now()
	every := p.interval
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(rows) / max(elapsed, 1e-9)
	if !p.tty {
		if p.size > 0 {
			fmt.Fprintf(p.w, "import %s: %d %s (%.0f%% of the file), %.0f/s\n", p.name, rows, p.noun, 100*float64(bytes)/float64(p.size), rate)
		} else {
			fmt.Fprintf(p.w, "import %s: %d %s, %.0f/s\n", p.name, rows, p.noun, rate)
		}
		return
	}
	p.drawn = true
	if p.size <= 0 {
		fmt.Fprintf(p.w, "\r%d %s  %.0f/s ", rows, p.noun, rate)
		return
	}
	frac := min(float64(bytes)/float64(p.size), 1)
	const width = 30
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	if filled < width {
		bar = strings.Repeat("=", filled) + ">" + strings.Repeat(" ", width-filled-1)
	}
	eta := ""
	if frac > 0.01 {
		eta = fmt.Sprintf("  eta %s", (time.Duration(elapsed/frac*float64(time.Second)) - now.Sub(p.start)).Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r%3.0f%% [%s] %d %s  %.0f/s%s ", frac*100, bar, rows, p.noun, rate, eta)
}

// final draws the finished bar on a terminal.
func (p *importProgress) final(rows, bytes int64) {
	if p.tty {
		p.last = time.Time{}
		p.update(rows, bytes)
	}
}

// done ends the bar's line.
func (p *importProgress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
