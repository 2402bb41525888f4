package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Readings: the original's insert-sensor-readings and sensor-readings, and
// our extensions for plotting, dashboards and bulk ingest. Reads stream:
// rows go from the database cursor straight into the response buffer, so a
// read of any length needs constant memory.

type readingInsertRequest struct {
	MeasureName      string         `json:"measure_name" dt:"max=name"`
	UniqueIdentifier string         `json:"unique_identifier" dt:"max=name"`
	Readings         []dtbase.Value `json:"readings"`
	Timestamps       []time.Time    `json:"timestamps"`
	MeasureUnits     *string        `json:"measure_units" dt:"optional,max=units"`
}

func (r *readingInsertRequest) series() dtbase.ReadingSeries {
	return dtbase.ReadingSeries{UniqueIdentifier: r.UniqueIdentifier, MeasureName: r.MeasureName,
		MeasureUnits: r.MeasureUnits, Values: r.Readings, Timestamps: r.Timestamps}
}

type readingBatchRequest struct {
	Series []readingInsertRequest `json:"series"`
}

// readingInsertSummary answers our ingest extensions with what was done.
type readingInsertSummary struct {
	Detail     string `json:"detail"`
	Rows       int64  `json:"rows"`
	Inserted   int64  `json:"inserted"`
	Duplicates int64  `json:"duplicates"`
}

func newReadingInsertSummary(res dtbase.ReadingInsertResult) readingInsertSummary {
	return readingInsertSummary{"Sensor readings inserted", res.Rows, res.Inserted, res.Duplicates()}
}

type readingRangeRequest struct {
	MeasureName      string    `json:"measure_name" dt:"max=name"`
	UniqueIdentifier string    `json:"unique_identifier" dt:"max=name"`
	DtFrom           time.Time `json:"dt_from"`
	DtTo             time.Time `json:"dt_to"`
	MeasureUnits     *string   `json:"measure_units" dt:"optional,max=units"`
}

// readingPoint is one element of a series answer.
type readingPoint struct {
	Value     dtbase.Value `json:"value"`
	Timestamp dtbase.Time  `json:"timestamp"`
}

type readingAggregateRequest struct {
	readingRangeRequest
	// Bucket is the bucket width: a number of seconds, or a duration such
	// as "15m", "1h", "1d" or "1w".
	Bucket     JSONValue `json:"bucket"`
	Aggregates []string  `json:"aggregates" dt:"optional"`
}

// readingBucketOut documents an element of the aggregate answer; only the
// requested aggregates are present.
type readingBucketOut struct {
	Timestamp dtbase.Time   `json:"timestamp"`
	Mean      *float64      `json:"mean" dt:"optional"`
	Min       *dtbase.Value `json:"min" dt:"optional"`
	Max       *dtbase.Value `json:"max" dt:"optional"`
	Sum       *dtbase.Value `json:"sum" dt:"optional"`
	Count     *int64        `json:"count" dt:"optional"`
	First     *dtbase.Value `json:"first" dt:"optional"`
	Last      *dtbase.Value `json:"last" dt:"optional"`
}

type readingDownsampleRequest struct {
	readingRangeRequest
	MaxPoints int `json:"max_points" dt:"optional,range=max_points"`
}

// Downsampling bounds: the default suits a chart a few thousand pixels wide.
const (
	defaultDownsamplePoints = 1000
	maxDownsamplePoints     = 1_000_000
)

type readingLatestRequest struct {
	TypeName          *string  `json:"type_name" dt:"optional,max=name"`
	UniqueIdentifiers []string `json:"unique_identifiers" dt:"optional,max=name"`
}

type readingLatestOut struct {
	UniqueIdentifier string          `json:"unique_identifier"`
	MeasureName      string          `json:"measure_name"`
	MeasureUnits     *string         `json:"measure_units"`
	Datatype         dtbase.Datatype `json:"datatype"`
	Value            dtbase.Value    `json:"value"`
	Timestamp        dtbase.Time     `json:"timestamp"`
}

// handleStreamed registers a JSON-bodied endpoint that writes its own
// answer, documented with the request type Req and answer type Resp.
func handleStreamed[Req, Resp any](s *Server, path string, role dtbase.Role, summary, description string,
	fn func(w http.ResponseWriter, r *http.Request, req *Req)) *route {
	rt := s.handleRaw(http.MethodPost, path, role, summary, func(w http.ResponseWriter, r *http.Request, body []byte) {
		req := new(Req)
		if errs := bindBody(body, req); len(errs) > 0 {
			writeError(w, r, &validationError{errs})
			return
		}
		fn(w, r, req)
	})
	rt.req = reflect.TypeFor[Req]()
	rt.resp = reflect.TypeFor[Resp]()
	rt.description = description
	return rt
}

func (s *Server) readingRoutes() {
	handleFast(s, http.MethodPost, "/sensor/insert-sensor-readings", dtbase.RoleEditor, http.StatusCreated,
		"Insert readings of one measure of a sensor", decodeReadingInsertFast,
		s.insertSensorReadings).description = insertSensorReadingsDoc

	handleFast(s, http.MethodPost, "/sensor/insert-readings-batch", dtbase.RoleEditor, http.StatusCreated,
		"Insert many series of readings in one transaction", decodeReadingBatchFast,
		s.insertReadingsBatch).description = insertReadingsBatchDoc

	handleStreamed[readingRangeRequest, []readingPoint](s, "/sensor/sensor-readings", dtbase.RoleViewer,
		"Readings of one measure of a sensor in a time range",
		sensorReadingsDoc, s.sensorReadings)

	handleStreamed[readingAggregateRequest, []readingBucketOut](s, "/sensor/sensor-readings-aggregate", dtbase.RoleViewer,
		"Readings of a range summarised per time bucket",
		sensorReadingsAggregateDoc, s.sensorReadingsAggregate)

	handleStreamed[readingDownsampleRequest, []readingPoint](s, "/sensor/sensor-readings-downsampled", dtbase.RoleViewer,
		"At most max_points readings of a range that keep its peaks and troughs",
		sensorReadingsDownsampledDoc, s.sensorReadingsDownsampled)

	latest := handle(s, http.MethodPost, "/sensor/latest-readings", dtbase.RoleViewer, http.StatusOK,
		"The newest reading of every measure of every sensor", s.latestReadings)
	latest.bodyOptional = true
	latest.description = latestReadingsDoc

	s.csvDownload("/sensor/readings.csv", "Download readings as CSV", readingsCSVDoc, s.readingsCSV, readingsCSVQuery...)

	upload := s.handleRaw(http.MethodPost, "/sensor/upload-readings-csv", dtbase.RoleEditor,
		"Upload a CSV file of readings", s.uploadReadingsCSV)
	upload.status = http.StatusCreated
	upload.streamBody = true
	upload.maxBody = s.cfg.MaxUploadBytes
	upload.resp = reflect.TypeFor[readingInsertSummary]()
	upload.consumes = []string{"text/csv", "multipart/form-data"}
	upload.description = "Send the file as the body (Content-Type: text/csv) or as the part named file of a " +
		"multipart/form-data form. The whole file is one transaction: a malformed row gives a 400 naming its line " +
		"and nothing is written.\n\n" + dtbase.ReadingCSVHelp
}

// insertSensorReadingsDoc describes /sensor/insert-sensor-readings in the OpenAPI document.
const insertSensorReadingsDoc = "Every value is checked against the measure's datatype (the first bad index is named in a 400). " +
	"Readings whose (sensor, measure, timestamp) is stored already, or repeated in the request, are skipped. " +
	"measure_units picks the measure when the sensor's type has two of that name. All or nothing: one transaction."

func (s *Server) insertSensorReadings(ctx context.Context, req *readingInsertRequest) (detail, error) {
	_, err := s.store.InsertReadings(ctx, []dtbase.ReadingSeries{req.series()})
	return done(err, "Sensor readings inserted")
}

// insertReadingsBatchDoc describes /sensor/insert-readings-batch in the OpenAPI document.
const insertReadingsBatchDoc = "Each element of series is the body of insert-sensor-readings. A bad series gives a 400 " +
	"whose detail starts with series[i], and nothing is written."

func (s *Server) insertReadingsBatch(ctx context.Context, req *readingBatchRequest) (readingInsertSummary, error) {
	series := make([]dtbase.ReadingSeries, len(req.Series))
	for i := range req.Series {
		series[i] = req.Series[i].series()
	}
	res, err := s.store.InsertReadings(ctx, series)
	if err != nil {
		return readingInsertSummary{}, err
	}
	return newReadingInsertSummary(res), nil
}

// sensorReadingsDoc describes /sensor/sensor-readings in the OpenAPI document.
const sensorReadingsDoc = "Both ends of the range are included; the answer is in timestamp order. An unknown sensor gives [] " +
	"(as the original); an unknown measure a 400."

func (s *Server) sensorReadings(w http.ResponseWriter, r *http.Request, req *readingRangeRequest) {
	m, err := s.store.FindReadingMeasure(r.Context(), req.UniqueIdentifier, req.MeasureName, req.MeasureUnits)
	if dtbase.IsUnknownSensor(err) {
		writeJSON(w, http.StatusOK, []readingPoint{})
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	streamReadingPoints(w, r, func(emit func(dtbase.Reading) error) error {
		return s.store.ScanReadings(r.Context(), m, req.DtFrom, req.DtTo, emit)
	})
}

// sensorReadingsAggregateDoc describes /sensor/sensor-readings-aggregate in the OpenAPI document.
const sensorReadingsAggregateDoc = "bucket is the width: seconds, or a duration such as \"90s\", \"15m\", \"1h\", \"1d\", \"1w\". Buckets are aligned " +
	"to multiples of the width since 1970-01-01T00:00:00Z and timestamp is a bucket's start; empty buckets are left out. " +
	"aggregates picks among mean, min, max, sum, count, first, last (default: all that apply; mean/min/max/sum need a " +
	"float or integer measure). Streamed in constant memory."

func (s *Server) sensorReadingsAggregate(w http.ResponseWriter, r *http.Request, req *readingAggregateRequest) {
	width, err := parseBucketWidth(req.Bucket)
	if err != nil {
		writeError(w, r, err)
		return
	}
	m, err := s.store.FindReadingMeasure(r.Context(), req.UniqueIdentifier, req.MeasureName, req.MeasureUnits)
	if err != nil {
		writeError(w, r, err)
		return
	}
	want, err := chooseAggregates(req.Aggregates, m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	streamBuckets(w, r, want, func(emit func(dtbase.ReadingBucket) error) error {
		return s.store.AggregateReadings(r.Context(), m, req.DtFrom, req.DtTo, width, emit)
	})
}

// sensorReadingsDownsampledDoc describes /sensor/sensor-readings-downsampled in the OpenAPI document.
const sensorReadingsDownsampledDoc = "The time between the first and the last reading in the range is cut into max_points/2 equal buckets; each " +
	"bucket gives its minimum and its maximum reading, in time order (a bucket of one or two readings gives them " +
	"as they are). So a year of one-minute data plots from a few thousand points with every spike visible. " +
	"max_points defaults to 1000 (at most 1000000). Float, integer and boolean measures."

func (s *Server) sensorReadingsDownsampled(w http.ResponseWriter, r *http.Request, req *readingDownsampleRequest) {
	points := req.MaxPoints
	if points == 0 {
		points = defaultDownsamplePoints
	}
	if points < 2 || points > maxDownsamplePoints {
		writeError(w, r, invalidField([]any{"max_points"}, fmt.Sprintf("max_points must be between 2 and %d", maxDownsamplePoints), req.MaxPoints))
		return
	}
	m, err := s.store.FindReadingMeasure(r.Context(), req.UniqueIdentifier, req.MeasureName, req.MeasureUnits)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if m.Datatype == dtbase.String {
		writeError(w, r, dtbase.Errorf(dtbase.EINVALID, "Measure %q holds strings, which cannot be downsampled; read them with sensor-readings", m.MeasureName))
		return
	}
	streamReadingPoints(w, r, func(emit func(dtbase.Reading) error) error {
		return s.store.DownsampleReadings(r.Context(), m, req.DtFrom, req.DtTo, points, emit)
	})
}

// latestReadingsDoc describes /sensor/latest-readings in the OpenAPI document.
const latestReadingsDoc = "Optionally only sensors of type_name, or only the sensors in unique_identifiers (at most 1000). " +
	"Ordered by sensor and measure; measures without readings are left out. One index descent per sensor and measure, " +
	"so it is cheap enough for a dashboard that polls every few seconds."

func (s *Server) latestReadings(ctx context.Context, req *readingLatestRequest) ([]readingLatestOut, error) {
	rows, err := s.store.LatestReadings(ctx, dtbase.LatestReadingFilter{TypeName: req.TypeName, UniqueIdentifiers: req.UniqueIdentifiers})
	if err != nil {
		return nil, err
	}
	out := make([]readingLatestOut, len(rows))
	for i, l := range rows {
		out[i] = readingLatestOut{l.UniqueIdentifier, l.MeasureName, l.MeasureUnits, l.Datatype, l.Value, dtbase.Time(l.Time)}
	}
	return out, nil
}

// readingsCSVQuery documents the query of /sensor/readings.csv.
var readingsCSVQuery = []queryParam{
	sensorParam,
	{"measure_name", "string", "a measure of the sensor's type; may repeat", true},
	{"measure_units", "string", "units of each measure_name, when a name is ambiguous", false},
	{"dt_from", "string", "start of the range (included); default: all", false},
	{"dt_to", "string", "end of the range (included); default: all", false},
}

// readingsCSVDoc describes /sensor/readings.csv in the OpenAPI document.
const readingsCSVDoc = "Streams the readings of one or more measures of a sensor as an attachment, in constant memory. " +
	"Columns: unique_identifier,measure_name,measure_units,timestamp,value, the long layout that upload-readings-csv " +
	"and 'dtbase import readings' read back. Repeat measure_name for several measures (and, if given, measure_units " +
	"once per measure_name). dt_from and dt_to default to all time."

// readingStream buffers a streamed answer and writes it in large chunks.
// Until the first chunk is written an error can still be answered with a
// JSON 4xx; after that, the connection is aborted so the client sees a
// truncated answer rather than a wrong one.
type readingStream struct {
	w           http.ResponseWriter
	r           *http.Request
	contentType string
	header      func(http.Header)
	buf         []byte
	started     bool
	clientGone  bool
}

const readingStreamChunk = 256 << 10

func newReadingStream(w http.ResponseWriter, r *http.Request, contentType string) *readingStream {
	return &readingStream{w: w, r: r, contentType: contentType, buf: make([]byte, 0, readingStreamChunk+1024)}
}

// errClientGone stops a scan when the client has gone away.
var errClientGone = errors.New("client went away")

func (st *readingStream) flush() error {
	if !st.started {
		st.w.Header().Set("Content-Type", st.contentType)
		if st.header != nil {
			st.header(st.w.Header())
		}
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	if _, err := st.w.Write(st.buf); err != nil {
		st.clientGone = true
		return errClientGone
	}
	st.buf = st.buf[:0]
	return nil
}

// maybeFlush writes the buffer out once it holds a chunk.
func (st *readingStream) maybeFlush() error {
	if len(st.buf) >= readingStreamChunk {
		return st.flush()
	}
	return nil
}

// finish writes the rest, or reports err.
func (st *readingStream) finish(err error) {
	if err == nil {
		if st.flush() == nil {
			return
		}
		err = errClientGone
	}
	if st.clientGone || errors.Is(err, errClientGone) || st.r.Context().Err() != nil {
		return
	}
	if !st.started {
		writeError(st.w, st.r, err)
		return
	}
	loggerFrom(st.r.Context()).Error("streamed answer failed after it started", "err", err)
	panic(http.ErrAbortHandler)
}

// streamReadingPoints writes [{"value","timestamp"}, …] from run's readings.
func streamReadingPoints(w http.ResponseWriter, r *http.Request, run func(emit func(dtbase.Reading) error) error) {
	st := newReadingStream(w, r, "application/json")
	st.buf = append(st.buf, '[')
	sep := false
	err := pipeReadings(run, func(batch []dtbase.Reading) error {
		for _, rd := range batch {
			if sep {
				st.buf = append(st.buf, ',')
			}
			sep = true
			st.buf = append(st.buf, `{"value":`...)
			st.buf = rd.Value.AppendJSON(st.buf)
			st.buf = append(st.buf, `,"timestamp":"`...)
			st.buf = dtbase.AppendTime(st.buf, rd.Time)
			st.buf = append(st.buf, `"}`...)
			if err := st.maybeFlush(); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		st.buf = append(st.buf, ']')
	}
	st.finish(err)
}

// pipeBatch is the number of readings handed from the database scan to
// the encoder at a time; three batches are in use at most.
const pipeBatch = 2048

// errStopPipe stops a producer whose consumer has failed.
var errStopPipe = errors.New("consumer stopped")

// pipeReadings runs produce in a goroutine of its own and hands its
// readings to consume in batches, so that reading rows from the database
// and encoding and writing them proceed on two cores at once. Memory stays
// bounded: three batches circulate. It returns consume's error if any,
// else produce's.
func pipeReadings(produce func(emit func(dtbase.Reading) error) error, consume func([]dtbase.Reading) error) error {
	full := make(chan []dtbase.Reading, 2)
	free := make(chan []dtbase.Reading, 3)
	for i := 0; i < 3; i++ {
		free <- make([]dtbase.Reading, 0, pipeBatch)
	}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("reading producer panicked: %v", p)
			}
			close(full)
			errc <- err
		}()
		cur := <-free
		err = produce(func(rd dtbase.Reading) error {
			cur = append(cur, rd)
			if len(cur) < pipeBatch {
				return nil
			}
			select {
			case full <- cur:
			case <-stop:
				return errStopPipe
			}
			cur = <-free // a batch is always free again once the consumer takes one
			return nil
		})
		if err == nil && len(cur) > 0 {
			select {
			case full <- cur:
			case <-stop:
			}
		}
	}()
	var cerr error
	for batch := range full {
		if cerr == nil {
			if cerr = consume(batch); cerr != nil {
				close(stop)
			}
		}
		free <- batch[:0]
	}
	perr := <-errc
	if cerr != nil {
		return cerr
	}
	return perr
}

// streamBuckets writes the aggregate answer with the aggregates in want.
func streamBuckets(w http.ResponseWriter, r *http.Request, want map[string]bool, run func(emit func(dtbase.ReadingBucket) error) error) {
	st := newReadingStream(w, r, "application/json")
	st.buf = append(st.buf, '[')
	sep := false
	err := run(func(b dtbase.ReadingBucket) error {
		if sep {
			st.buf = append(st.buf, ',')
		}
		sep = true
		st.buf = append(st.buf, `{"timestamp":"`...)
		st.buf = dtbase.AppendTime(st.buf, b.Start)
		st.buf = append(st.buf, '"')
		for _, a := range dtbase.Aggregates {
			if !want[a] {
				continue
			}
			st.buf = append(st.buf, `,"`...)
			st.buf = append(st.buf, a...)
			st.buf = append(st.buf, `":`...)
			switch a {
			case "mean":
				st.buf = b.Mean.AppendJSON(st.buf)
			case "min":
				st.buf = b.Min.AppendJSON(st.buf)
			case "max":
				st.buf = b.Max.AppendJSON(st.buf)
			case "sum":
				st.buf = b.Sum.AppendJSON(st.buf)
			case "count":
				st.buf = strconv.AppendInt(st.buf, b.Count, 10)
			case "first":
				st.buf = b.First.AppendJSON(st.buf)
			case "last":
				st.buf = b.Last.AppendJSON(st.buf)
			}
		}
		st.buf = append(st.buf, '}')
		return st.maybeFlush()
	})
	if err == nil {
		st.buf = append(st.buf, ']')
	}
	st.finish(err)
}

// chooseAggregates checks the requested aggregates against the measure.
func chooseAggregates(names []string, m dtbase.ReadingMeasure) (map[string]bool, error) {
	numeric := m.Datatype == dtbase.Float || m.Datatype == dtbase.Integer
	want := map[string]bool{}
	if names == nil {
		for _, a := range dtbase.Aggregates {
			want[a] = numeric || !dtbase.NumericAggregate(a)
		}
		return want, nil
	}
	if len(names) == 0 {
		return nil, invalidField([]any{"aggregates"}, "Give at least one aggregate, or leave aggregates out for all", names)
	}
	for i, a := range names {
		known := false
		for _, k := range dtbase.Aggregates {
			known = known || k == a
		}
		if !known {
			return nil, invalidField([]any{"aggregates", i}, "Aggregate must be one of "+strings.Join(dtbase.Aggregates, ", "), a)
		}
		if !numeric && dtbase.NumericAggregate(a) {
			return nil, dtbase.Errorf(dtbase.EINVALID, "Aggregate %q needs a float or integer measure; %q is a %s measure", a, m.MeasureName, m.Datatype)
		}
		want[a] = true
	}
	return want, nil
}

// parseBucketWidth reads a bucket width: a number of seconds (a JSON number
// or a numeric string), or a Go duration with the extra units d (days) and
// w (weeks), such as "15m", "1h30m" or "7d".
func parseBucketWidth(raw JSONValue) (time.Duration, error) {
	bad := func(msg string) error {
		return &validationError{errs: []fieldError{{Type: "value_error", Loc: []any{"body", "bucket"}, Msg: msg, Input: json.RawMessage(raw)}}}
	}
	const help = `bucket must be a positive number of seconds or a duration such as "15m", "1h" or "1d"`
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, `"`) {
		if json.Unmarshal(raw, &text) != nil {
			return 0, bad(help)
		}
		text = strings.TrimSpace(text)
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(text, 64); err == nil {
		if math.IsNaN(secs) || secs*1e6 < 1 || secs > 1e9*86400 {
			return 0, bad(help)
		}
		d = time.Duration(secs * float64(time.Second))
	} else if n, unit := strings.TrimRight(text, "dw"), strings.TrimLeft(text, "0123456789."); len(text) > 1 && (unit == "d" || unit == "w") {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days <= 0 || days > 1e6 {
			return 0, bad(help)
		}
		if unit == "w" {
			days *= 7
		}
		d = time.Duration(days * 24 * float64(time.Hour))
	} else {
		var err error
		d, err = time.ParseDuration(text)
		if err != nil {
			return 0, bad(help)
		}
	}
	if d < time.Microsecond {
		return 0, bad(help)
	}
	return d, nil
}

// readingsCSV streams readings as a CSV attachment.
func (s *Server) readingsCSV(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	c := queryCheck{q: q}
	c.require("unique_identifier")
	uid := q.Get("unique_identifier")
	names := q["measure_name"]
	if len(names) == 0 {
		c.missing("measure_name")
	}
	units := q["measure_units"]
	if len(units) > 0 && len(units) != len(names) {
		c.errs = append(c.errs, fieldError{Type: "value_error", Loc: []any{"query", "measure_units"},
			Msg: "Give measure_units once per measure_name, or not at all", Input: mustJSON(units)})
	}
	from, to := time.Unix(-62135596800, 0).UTC(), time.Unix(253402300799, 999999000).UTC()
	c.time("dt_from", &from)
	c.time("dt_to", &to)
	if c.failed(w, r) {
		return
	}
	measures := make([]dtbase.ReadingMeasure, len(names))
	for i, name := range names {
		var u *string
		if len(units) > 0 {
			u = &units[i]
		}
		m, err := s.store.FindReadingMeasure(r.Context(), uid, name, u)
		if err != nil {
			writeError(w, r, err)
			return
		}
		measures[i] = m
	}
	st := newReadingStream(w, r, "text/csv; charset=utf-8")
	st.header = func(h http.Header) {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dtbase.ReadingCSVFileName(uid, names)}))
		h.Set("Cache-Control", "no-store")
	}
	st.buf = append(st.buf, dtbase.ReadingCSVHeader...)
	var err error
	for _, m := range measures {
		prefix := dtbase.AppendReadingCSVPrefix(nil, m)
		err = pipeReadings(func(emit func(dtbase.Reading) error) error {
			return s.store.ScanReadings(r.Context(), m, from, to, emit)
		}, func(batch []dtbase.Reading) error {
			for _, rd := range batch {
				st.buf = dtbase.AppendReadingCSVRow(st.buf, prefix, rd)
				if err := st.maybeFlush(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			break
		}
	}
	st.finish(err)
}

// uploadReadingsCSV stores a CSV file of readings in one transaction,
// parsing and writing it as it arrives: memory stays bounded whatever the
// size of the file, up to MaxUploadBytes (413 beyond it, nothing written).
func (s *Server) uploadReadingsCSV(w http.ResponseWriter, r *http.Request, _ []byte) {
	data, err := csvUploadData(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := dtbase.ImportReadingsCSV(r.Context(), s.store, data, nil)
	if err != nil {
		writeError(w, r, uploadError(err))
		return
	}
	writeJSON(w, http.StatusCreated, newReadingInsertSummary(res))
}

// uploadError turns a body over the upload limit into a 413.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return dtbase.Errorf(dtbase.ETOOLARGE, "Request body exceeds the limit of %d bytes; nothing was written", tooBig.Limit)
	}
	return err
}

// csvUploadData returns the file of a text/csv or multipart body, unread.
func csvUploadData(r *http.Request) (io.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, dtbase.Errorf(dtbase.EINVALID, "The form has no part named file holding the CSV file")
			}
			if err != nil {
				if err := uploadError(err); dtbase.ErrorCode(err) == dtbase.ETOOLARGE {
					return nil, err
				}
				return nil, dtbase.Errorf(dtbase.EINVALID, "Malformed multipart body: %v", err)
			}
			if part.FormName() == "file" {
				return part, nil
			}
		}
	case isJSONContent(ct) && ct != "":
		return nil, dtbase.Errorf(dtbase.EINVALID, "Send the CSV file as the body with Content-Type text/csv, or as the part named file of a multipart/form-data form")
	}
	return r.Body, nil
}
