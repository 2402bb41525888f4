package dtbase

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ReadingCSVHelp documents the CSV formats of readings, for --help and the
// API docs.
const ReadingCSVHelp = `A CSV file of readings has a header row and one of two layouts:

  long: one reading per row, columns in any order (measure_units optional):
    unique_identifier,measure_name,timestamp,value[,measure_units]
    TRH1,temperature,2024-01-05T15:00:00Z,21.5,Degrees C

  wide: a timestamp column, then one column per sensor and measure, named
  SENSOR:MEASURE or SENSOR:MEASURE:UNITS; an empty cell is no reading:
    timestamp,TRH1:temperature,TRH1:humidity:Percent
    2024-01-05T15:00:00Z,21.5,40

Timestamps take any form the API accepts (ISO 8601, or Unix seconds);
without an offset they are UTC. Values are read as the measure's datatype:
floats and integers as numbers (integers in 32 bits), booleans as
true/false/1/0, strings as they are. A download from readings.csv is in the
long layout and can be imported again. Readings already stored are skipped.`

// ReadingCSVChunk is the number of readings a ReadingCSVReader gathers
// before it hands them out as series.
const ReadingCSVChunk = 10000

// ReadingCSVError is a malformed row: its line number and what is wrong.
type ReadingCSVError struct {
	Line int
	Msg  string
}

func (e *ReadingCSVError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ReadingCSVReader reads a CSV file of readings (ReadingCSVHelp) as a
// sequence of series, ReadingCSVChunk readings at a time, so a file of any
// size is read in constant memory. Resolve maps a column or row to its
// measure, to learn the datatype; a reader caches its answers.
type ReadingCSVReader struct {
	r       *csv.Reader
	resolve func(uid, name string, units *string) (ReadingMeasure, error)
	cache   map[readingCSVKey]*readingCSVColumn

	wide   bool
	header []string
	sensor string // the sensor of a one-sensor file, or ""
	// long layout: column indexes (-1 when absent)
	uid, name, units, ts, value int
	// wide layout: the measure of each column after the first
	columns []*readingCSVColumn

	pending []*ReadingSeries // series of the current chunk not yet handed out
	rows    int64            // readings read so far
	done    bool
}

type readingCSVKey struct {
	uid, name, units string
	hasUnits         bool
}

// readingCSVColumn is a measure and the series being gathered for it.
type readingCSVColumn struct {
	m      ReadingMeasure
	series *ReadingSeries
}

// NewReadingCSVReader reads the header of r and returns a reader of its
// rows. A header that fits neither layout is a *ReadingCSVError.
func NewReadingCSVReader(r io.Reader, resolve func(uid, name string, units *string) (ReadingMeasure, error)) (*ReadingCSVReader, error) {
	return NewReadingCSVReaderFor(r, "", resolve)
}

// NewReadingCSVReaderFor is NewReadingCSVReader for a file of one sensor's
// readings when sensor is not empty: the long layout may then leave out
// unique_identifier, and wide-layout columns may be named MEASURE alone.
func NewReadingCSVReaderFor(r io.Reader, sensor string, resolve func(uid, name string, units *string) (ReadingMeasure, error)) (*ReadingCSVReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0 // every row as long as the header
	c := &ReadingCSVReader{r: cr, resolve: resolve, cache: map[readingCSVKey]*readingCSVColumn{},
		uid: -1, name: -1, units: -1, ts: -1, value: -1}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ReadingCSVError{Line: 1, Msg: "the file is empty; it needs a header row"}
	}
	if err != nil {
		return nil, c.csvError(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark from spreadsheets
	}
	c.header = slices.Clone(header)
	c.sensor = sensor
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "unique_identifier", "sensor":
			c.uid = i
		case "measure_name", "measure":
			c.name = i
		case "measure_units", "units":
			c.units = i
		case "timestamp", "time":
			c.ts = i
		case "value":
			c.value = i
		}
	}
	switch {
	case c.uid >= 0 || c.name >= 0 || c.value >= 0:
		var missing []string
		for _, col := range []struct {
			name string
			i    int
		}{{"unique_identifier", c.uid}, {"measure_name", c.name}, {"timestamp", c.ts}, {"value", c.value}} {
			if col.i < 0 && !(col.name == "unique_identifier" && sensor != "") {
				missing = append(missing, col.name)
			}
		}
		if len(missing) > 0 {
			return nil, &ReadingCSVError{Line: 1, Msg: "the header lacks the column(s) " + strings.Join(missing, ", ") +
				" (long layout: unique_identifier,measure_name,timestamp,value[,measure_units])"}
		}
	case c.ts == 0 && len(header) > 1:
		c.wide = true
		for i, h := range header[1:] {
			parts := strings.Split(strings.TrimSpace(h), ":")
			if sensor != "" && len(parts) == 1 && parts[0] != "" {
				parts = []string{sensor, parts[0]}
			}
			if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
				return nil, &ReadingCSVError{Line: 1, Msg: fmt.Sprintf("column %d is named %q; wide-layout columns are named SENSOR:MEASURE or SENSOR:MEASURE:UNITS", i+2, h)}
			}
			var units *string
			if len(parts) == 3 {
				units = &parts[2]
			}
			col, err := c.column(1, parts[0], parts[1], units)
			if err != nil {
				return nil, err
			}
			c.columns = append(c.columns, col)
		}
	default:
		return nil, &ReadingCSVError{Line: 1, Msg: "the header fits neither layout: long is unique_identifier,measure_name,timestamp,value[,measure_units]; wide is timestamp,SENSOR:MEASURE,..."}
	}
	return c, nil
}

// ReadingCSVColumn says what a column of a CSV file of readings holds.
type ReadingCSVColumn struct {
	Header string
	// Role is unique_identifier, measure_name, measure_units, timestamp or
	// value in the long layout; timestamp or reading in the wide layout;
	// empty for a column that is ignored.
	Role string
	// Measure is the measure of a wide-layout reading column.
	Measure *ReadingMeasure
}

// Wide reports whether the file is in the wide layout.
func (c *ReadingCSVReader) Wide() bool { return c.wide }

// Columns says how the header's columns are read.
func (c *ReadingCSVReader) Columns() []ReadingCSVColumn {
	out := make([]ReadingCSVColumn, len(c.header))
	for i, h := range c.header {
		out[i].Header = h
		switch {
		case c.wide && i == 0:
			out[i].Role = "timestamp"
		case c.wide:
			out[i].Role = "reading"
			out[i].Measure = &c.columns[i-1].m
		case i == c.uid:
			out[i].Role = "unique_identifier"
		case i == c.name:
			out[i].Role = "measure_name"
		case i == c.units:
			out[i].Role = "measure_units"
		case i == c.ts:
			out[i].Role = "timestamp"
		case i == c.value:
			out[i].Role = "value"
		}
	}
	return out
}

// Rows returns the number of readings read so far.
func (c *ReadingCSVReader) Rows() int64 { return c.rows }

func (c *ReadingCSVReader) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ReadingCSVError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return err
}

func (c *ReadingCSVReader) column(line int, uid, name string, units *string) (*readingCSVColumn, error) {
	k := readingCSVKey{uid: uid, name: name}
	if units != nil {
		k.units, k.hasUnits = *units, true
	}
	if col, ok := c.cache[k]; ok {
		return col, nil
	}
	if err := (&ReadingSeries{UniqueIdentifier: uid, MeasureName: name, MeasureUnits: units}).Validate(); err != nil {
		return nil, &ReadingCSVError{Line: line, Msg: ErrorMessage(err)}
	}
	m, err := c.resolve(uid, name, units)
	if err != nil {
		if ErrorCode(err) == EINTERNAL || ErrorCode(err) == EUNAVAILABLE {
			return nil, err
		}
		return nil, &ReadingCSVError{Line: line, Msg: ErrorMessage(err)}
	}
	col := &readingCSVColumn{m: m}
	c.cache[k] = col
	return col, nil
}

// add appends one reading to its column's series in the current chunk.
func (c *ReadingCSVReader) add(line int, col *readingCSVColumn, tsText, valueText string) error {
	ts, ok := ParseTime(tsText)
	if !ok {
		return &ReadingCSVError{Line: line, Msg: fmt.Sprintf("invalid timestamp %q", tsText)}
	}
	v, msg := ParseValueText(valueText, col.m.Datatype)
	if msg != "" {
		return &ReadingCSVError{Line: line, Msg: fmt.Sprintf("%s:%s (%s): %s", col.m.UniqueIdentifier, col.m.MeasureName, col.m.Datatype, msg)}
	}
	if col.series == nil {
		// The resolved units pin the measure for the store.
		col.series = &ReadingSeries{UniqueIdentifier: col.m.UniqueIdentifier, MeasureName: col.m.MeasureName, MeasureUnits: col.m.MeasureUnits}
		c.pending = append(c.pending, col.series)
	}
	col.series.Values = append(col.series.Values, v)
	col.series.Timestamps = append(col.series.Timestamps, ts)
	c.rows++
	return nil
}

// Next returns the next series; io.EOF after the last. A malformed row is a
// *ReadingCSVError naming its line.
func (c *ReadingCSVReader) Next() (*ReadingSeries, error) {
	for len(c.pending) == 0 {
		if c.done {
			return nil, io.EOF
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
	s := c.pending[0]
	c.pending = c.pending[1:]
	return s, nil
}

// fill reads rows until a chunk is full or the file ends.
func (c *ReadingCSVReader) fill() error {
	for _, col := range c.cache {
		col.series = nil
	}
	start := c.rows
	for c.rows-start < ReadingCSVChunk {
		rec, err := c.r.Read()
		if err == io.EOF {
			c.done = true
			return nil
		}
		if err != nil {
			return c.csvError(err)
		}
		line, _ := c.r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if c.wide {
			for i, col := range c.columns {
				if cell := rec[i+1]; strings.TrimSpace(cell) != "" || col.m.Datatype == String && cell != "" {
					if err := c.add(line, col, rec[0], cell); err != nil {
						return err
					}
				}
			}
			continue
		}
		var units *string
		if c.units >= 0 && rec[c.units] != "" {
			u := rec[c.units]
			units = &u
		}
		uid, name := c.sensor, strings.TrimSpace(rec[c.name])
		if c.uid >= 0 {
			uid = strings.TrimSpace(rec[c.uid])
		}
		if uid == "" || name == "" {
			return &ReadingCSVError{Line: line, Msg: "unique_identifier and measure_name must not be empty"}
		}
		col, err := c.column(line, uid, name, units)
		if err != nil {
			return err
		}
		if err := c.add(line, col, rec[c.ts], rec[c.value]); err != nil {
			return err
		}
	}
	return nil
}

// ImportReadingsCSV reads a CSV file of readings (ReadingCSVHelp)
// and stores it in one transaction. progress, when not nil, is called after
// every chunk with the number of readings read so far. A malformed row is an
// EINVALID naming its line; nothing is written then.
func ImportReadingsCSV(ctx context.Context, store ReadingStore, r io.Reader, progress func(rows int64)) (ReadingInsertResult, error) {
	return ImportReadingsCSVFor(ctx, store, r, "", progress)
}

// ImportReadingsCSVFor is ImportReadingsCSV for a file of one sensor's
// readings when sensor is not empty (see NewReadingCSVReaderFor).
func ImportReadingsCSVFor(ctx context.Context, store ReadingStore, r io.Reader, sensor string, progress func(rows int64)) (ReadingInsertResult, error) {
	cr, err := NewReadingCSVReaderFor(r, sensor, StoreResolver(ctx, store))
	if err != nil {
		return ReadingInsertResult{}, CSVImportError(err)
	}
	res, err := store.InsertReadingsFrom(ctx, func() (*ReadingSeries, error) {
		s, err := cr.Next()
		if progress != nil && err == nil {
			progress(cr.Rows())
		}
		return s, err
	})
	if err != nil {
		return res, CSVImportError(err)
	}
	return res, nil
}

// StoreResolver resolves the measures of a CSV file of readings in store.
func StoreResolver(ctx context.Context, store ReadingStore) func(uid, name string, units *string) (ReadingMeasure, error) {
	return func(uid, name string, units *string) (ReadingMeasure, error) {
		return store.FindReadingMeasure(ctx, uid, name, units)
	}
}

// CSVImportError turns a *ReadingCSVError into an EINVALID naming its
// line; other errors are returned as they are.
func CSVImportError(err error) error {
	var ce *ReadingCSVError
	if errors.As(err, &ce) {
		return &Error{Code: EINVALID, Message: ce.Error(), Err: err}
	}
	return err
}

// ReadingCSVHeader is the header row of a CSV download of readings: the
// long layout, which ReadingCSVReader reads back.
const ReadingCSVHeader = "unique_identifier,measure_name,measure_units,timestamp,value\r\n"

// AppendReadingCSVPrefix appends the fields that every row of m begins
// with (sensor, measure, units), each followed by a comma, to b.
func AppendReadingCSVPrefix(b []byte, m ReadingMeasure) []byte {
	b = appendCSVField(b, m.UniqueIdentifier)
	b = append(b, ',')
	b = appendCSVField(b, m.MeasureName)
	b = append(b, ',')
	if m.MeasureUnits != nil {
		b = appendCSVField(b, *m.MeasureUnits)
	}
	return append(b, ',')
}

// AppendReadingCSVRow appends the row of r, after the prefix of its
// measure (AppendReadingCSVPrefix), to b.
func AppendReadingCSVRow(b, prefix []byte, r Reading) []byte {
	b = append(b, prefix...)
	b = AppendTime(b, r.Time)
	b = append(b, ',')
	if r.Value.Kind == KindString {
		b = appendCSVField(b, r.Value.S)
	} else {
		b = r.Value.AppendJSON(b)
	}
	return append(b, '\r', '\n')
}

// appendCSVField appends s, quoted when CSV needs it.
func appendCSVField(b []byte, s string) []byte {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// ReadingCSVFileName names a CSV download after its sensor and, when there
// is one, its measure, in characters that are safe in any file system.
func ReadingCSVFileName(uid string, names []string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
				return r
			}
			return '_'
		}, s)
	}
	name := clean(uid)
	if len(names) == 1 {
		name += "_" + clean(names[0])
	}
	if len(name) > 120 {
		name = name[:120]
	}
	return name + ".csv"
}
