package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/importdtbase"
	"github.com/dtbase/dtbase/sqldb"
)

const importDTBaseHelp = `Usage: dtbase import-dtbase --from postgres://user:pass@host:5432/dbname [--force] [flags]

Copy an existing database of the original DTBase (the Python backend) into
this dtbase's database: the one the DT_* settings below select, SQLite by
default or PostgreSQL. Users, locations, sensors with their readings, models
with their runs, services with their parameter sets and run logs are copied,
keeping their ids. Users become admins and keep their passwords. Duplicated
measures with no units (the original's bug) are merged into one.

The import is one transaction: if it fails or is interrupted, nothing of it
is kept. The original database is only read, in one consistent snapshot, so
the original backend may keep running; stop this dtbase's servers first.
It refuses a database that already holds data unless --force is given; then
rows with the same identity (email, name, measure name and units, sensor
identifier, …) are merged into the existing ones and the rest is added.`

// importDTBase runs `dtbase import-dtbase`.
func (m *Main) importDTBase(ctx context.Context, args []string) error {
	fs, load := m.commandFlags("import-dtbase", importDTBaseHelp, append(slices.Clip(databaseSettings), "DT_LOG_FORMAT", "DT_LOG_LEVEL"))
	from := fs.String("from", "", "URL of the original DTBase PostgreSQL database (required)")
	force := fs.Bool("force", false, "import into a database that already holds data, merging rows with the same identity")
	batch := fs.Int("batch-size", importdtbase.DefaultBatchSize, "readings written per statement")
	if err := parseNoArgs(fs, args, "import-dtbase"); err != nil {
		return err
	}
	if *from == "" {
		return usageError{"import-dtbase: --from postgres://… is required (the original DTBase database)"}
	}
	if *batch <= 0 {
		return usageError{"import-dtbase: --batch-size must be positive"}
	}
	c, err := load()
	if err != nil {
		return err
	}
	log := m.logger(c)
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()

	meter := newImportMeter(m.Stderr, log)
	sum, err := importdtbase.Import(ctx, db, *from, importdtbase.Options{Force: *force, BatchSize: *batch, Progress: meter.update})
	meter.finish(err == nil)
	if err != nil {
		var de *dtbase.Error
		if errors.As(err, &de) && de.Code != dtbase.EINTERNAL {
			err = errors.New(de.Message)
		}
		return fmt.Errorf("import-dtbase: %w; nothing was imported", err)
	}
	target := "SQLite " + c.DSN()
	if db.Dialect == sqldb.Postgres {
		target = "PostgreSQL " + redactURL(c.DSN())
	}
	writeImportSummary(m.Stdout, sum, redactURL(*from), target)
	return nil
}

// writeImportSummary prints what an import did, table by table.
func writeImportSummary(w io.Writer, sum *importdtbase.Summary, from, to string) {
	secs := sum.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(sum.Read) / secs
	}
	fmt.Fprintf(w, "Imported %s rows of %s into %s in %s (%s rows/s); %s rows written.\n\n",
		groupDigits(sum.Read), from, to, sum.Elapsed.Round(time.Millisecond), groupDigits(int64(rate)), groupDigits(sum.Written))
	header := [6]string{"original table", "our table", "read", "written", "merged", "skipped"}
	rows := [][6]string{header}
	for _, t := range sum.Tables {
		rows = append(rows, [6]string{t.Source, t.Target, groupDigits(t.Read), groupDigits(t.Written), groupDigits(t.Merged), groupDigits(t.Skipped)})
	}
	var width [6]int
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	for _, r := range rows {
		// Names to the left, numbers to the right.
		fmt.Fprintf(w, "  %-*s  %-*s  %*s  %*s  %*s  %*s\n", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3], width[4], r[4], width[5], r[5])
	}
	if len(sum.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range sum.Notes {
			fmt.Fprintln(w, "  -", n)
		}
	}
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// importMeter shows an import's progress: one line redrawn in place on a
// terminal, a log line every few seconds otherwise.
type importMeter struct {
	w       io.Writer
	log     *slog.Logger
	tty     bool
	start   time.Time
	last    time.Time
	lastP   importdtbase.Progress
	drawn   bool
	every   time.Duration
	lineLen int
}

func newImportMeter(w io.Writer, log *slog.Logger) *importMeter {
	m := &importMeter{w: w, log: log, start: time.Now(), every: 5 * time.Second}
	if isTerminal(w) {
		m.tty = true
		m.every = 100 * time.Millisecond
	}
	return m
}

func (m *importMeter) update(p importdtbase.Progress) {
	m.lastP = p
	now := time.Now()
	if now.Sub(m.last) < m.every {
		return
	}
	m.last = now
	m.show(now)
}

func (m *importMeter) show(now time.Time) {
	p := m.lastP
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	rate := 0.0
	if secs := now.Sub(m.start).Seconds(); secs > 0 {
		rate = float64(p.Done) / secs
	}
	if !m.tty {
		m.log.Info("import progress", "table", p.Table, "rows", p.Done, "total", p.Total,
			"percent", fmt.Sprintf("%.1f", pct), "rows_per_s", int64(rate))
		return
	}
	const width = 24
	filled := int(pct / 100 * width)
	line := fmt.Sprintf("[%s%s] %5.1f%%  %s/%s rows  %s rows/s  %s",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct,
		groupDigits(p.Done), groupDigits(p.Total), groupDigits(int64(rate)), p.Table)
	pad := ""
	if n := m.lineLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n) // erase the rest of a longer previous line
	}
	fmt.Fprintf(m.w, "\r%s%s", line, pad)
	m.lineLen = len(line)
	m.drawn = true
}

// finish draws the final state and ends the line.
func (m *importMeter) finish(ok bool) {
	if ok {
		m.show(time.Now())
	}
	if m.tty && m.drawn {
		fmt.Fprintln(m.w)
	}
}
