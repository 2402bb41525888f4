package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dtbase/dtbase"
)

const importUsage = `Usage: dtbase import readings [flags] FILE.csv

Import sensor readings from a CSV file straight into the configured database
(the flags and DT_* variables of 'dtbase serve' choose it). The sensors and
their measures must exist. The whole file is one transaction: a malformed row
is reported with its line number and nothing of the file is written. Readings
whose (sensor, measure, timestamp) is already stored are skipped and counted
as duplicates. A progress bar is drawn when stderr is a terminal; otherwise a
progress line is printed every few seconds. "-" reads standard input.
On SQLite the import holds the database's write lock until it commits, so
a server using the same file waits for it (or times out, after 10 s, on a
very large file): import while the server is idle, or upload smaller files
through POST /sensor/upload-readings-csv.

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
	fs, load := m.flags("import readings", importUsage, true)
	interval := fs.Duration("progress-interval", 5*time.Second, "how often to print a progress line when stderr is not a terminal")
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"import readings: give exactly one CSV file (or - for standard input)"}
	}
	c, err := load()
	if err != nil {
		return usageError{err.Error()}
	}
	path := fs.Arg(0)
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
	size     int64
	tty      bool
	interval time.Duration
	start    time.Time
	last     time.Time
	drawn    bool
}

func newImportProgress(w io.Writer, name string, size int64, interval time.Duration) *importProgress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	now := time.Now()
	return &importProgress{w: w, name: name, size: size, tty: tty, interval: interval, start: now, last: now}
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
			fmt.Fprintf(p.w, "import %s: %d readings read (%.0f%% of the file), %.0f readings/s\n", p.name, rows, 100*float64(bytes)/float64(p.size), rate)
		} else {
			fmt.Fprintf(p.w, "import %s: %d readings read, %.0f readings/s\n", p.name, rows, rate)
		}
		return
	}
	p.drawn = true
	if p.size <= 0 {
		fmt.Fprintf(p.w, "\r%d readings  %.0f/s ", rows, rate)
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
	fmt.Fprintf(p.w, "\r%3.0f%% [%s] %d readings  %.0f/s%s ", frac*100, bar, rows, rate, eta)
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
