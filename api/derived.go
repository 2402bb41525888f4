package api

import (
	"context"
	"mime"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
)

type derivedMeasureBody struct {
	Name             string     `json:"name" dt:"max=name"`
	Units            *string    `json:"units" dt:"max=units"`
	Expression       string     `json:"expression" dt:"max=expression"`
	SensorType       *string    `json:"sensor_type" dt:"optional,max=name"`
	LocationID       *int64     `json:"location_id" dt:"optional"`
	UniqueIdentifier *string    `json:"unique_identifier" dt:"optional,max=name"`
	Aggregate        *string    `json:"aggregate" dt:"optional,max=name"`
	ValidFrom        *time.Time `json:"valid_from" dt:"optional"`
	ValidTo          *time.Time `json:"valid_to" dt:"optional"`
}

type derivedNameRequest struct {
	Name string `json:"name" dt:"max=name"`
}

type derivedReadingsRequest struct {
	UniqueIdentifier string    `json:"unique_identifier" dt:"max=name"`
	DerivedName      string    `json:"derived_name" dt:"max=name"`
	DtFrom           time.Time `json:"dt_from"`
	DtTo             time.Time `json:"dt_to"`
	// Bucket, when set, averages the series per bucket (seconds or a
	// duration such as "1h").
	Bucket JSONValue `json:"bucket" dt:"optional"`
}

type derivedAggregateRequest struct {
	DerivedName string    `json:"derived_name" dt:"max=name"`
	DtFrom      time.Time `json:"dt_from"`
	DtTo        time.Time `json:"dt_to"`
	Bucket      JSONValue `json:"bucket"`
}

type derivedBucketOut struct {
	Timestamp dtbase.Time `json:"timestamp"`
	Value     float64     `json:"value"`
	Sensors   int         `json:"sensors"`
}

func (s *Server) derivedRoutes() {
	handle(s, http.MethodPost, "/sensor/insert-derived-measure", dtbase.RoleEditor, http.StatusCreated,
		"Define a measure computed on read from an expression over other measures (or one more definition of it)", s.insertDerivedMeasure).description = derivedHelp
	handle(s, http.MethodGet, "/sensor/list-derived-measures", dtbase.RoleViewer, http.StatusOK,
		"List the derived measures", s.listDerivedMeasures)
	handle(s, http.MethodPost, "/sensor/delete-derived-measure", dtbase.RoleEditor, http.StatusOK,
		"Delete a derived measure", s.deleteDerivedMeasure)
	handle(s, http.MethodPost, "/sensor/derived-readings", dtbase.RoleViewer, http.StatusOK,
		"Readings of a derived measure of one sensor, computed on read", s.derivedReadings).description =
		"One reading at every timestamp where each input has one; with bucket, the mean per bucket (aligned as sensor-readings-aggregate)."
	handle(s, http.MethodPost, "/location/derived-aggregate", dtbase.RoleViewer, http.StatusOK,
		"A derived measure combined over the sensors under its location, per time bucket", s.derivedAggregate).description =
		"Each sensor placed now under the measure's location contributes its mean per bucket; the buckets are combined by the " +
			"measure's aggregate (mean, min, max or sum). sensors counts the contributors of a bucket."
	s.csvDownload("/sensor/derived-readings.csv", "Download a derived measure of a sensor as CSV",
		"Columns unique_identifier,measure_name,measure_units,timestamp,value, as readings.csv.", s.derivedReadingsCSV,
		sensorParam, queryParam{"derived_name", "string", "the derived measure", true}, fromParam, toParam)
}

const derivedHelp = "expression is arithmetic (+ - * / ^, parentheses) over numbers, inputs and the functions min, max, exp, log, pow, " +
	"sqrt, abs, vpd(t, rh) (kPa), dewpoint(t, rh) and heat_index(t, rh) (°C; t in °C, rh in %), and interp(x, x1, y1, x2, y2, ...) " +
	"(a piecewise-linear table, e.g. a calibration). Inputs are measure names; write names with spaces in brackets: " +
	"[relative humidity]. Give sensor_type (the formula applies to each sensor of the type) or location_id (each sensor placed " +
	"under it) or unique_identifier (one sensor), and with location_id optionally aggregate (mean, min, max, sum) to combine " +
	"them. valid_from and valid_to (excluded) limit a definition in time; a name may have several definitions whose periods " +
	"do not overlap in one scope, such as a sensor's successive calibration tables, and for a sensor its own definitions win " +
	"over those of a location it is under, which win over those of its type. A syntax error, an unknown " +
	"input or a unit error (vpd of a temperature in F, adding °C to %) is a 422 whose loc is [\"body\", \"expression\", position]."

func (s *Server) insertDerivedMeasure(ctx context.Context, req *derivedMeasureBody) (detail, error) {
	d := &dtbase.DerivedMeasure{Name: req.Name, Units: req.Units, Expression: req.Expression, SensorType: req.SensorType,
		LocationID: req.LocationID, UniqueIdentifier: req.UniqueIdentifier, Aggregate: req.Aggregate, ValidFrom: req.ValidFrom, ValidTo: req.ValidTo}
	return done(fieldError422(derive.Define(ctx, s.store, d), req.Expression), "Derived measure inserted")
}

func (s *Server) listDerivedMeasures(ctx context.Context, _ *noBody) ([]derivedMeasureBody, error) {
	all, err := s.store.ListDerivedMeasures(ctx)
	return each(all, func(d dtbase.DerivedMeasure) derivedMeasureBody {
		return derivedMeasureBody{d.Name, d.Units, d.Expression, d.SensorType, d.LocationID, d.UniqueIdentifier, d.Aggregate, d.ValidFrom, d.ValidTo}
	}), err
}

func (s *Server) deleteDerivedMeasure(ctx context.Context, req *derivedNameRequest) (detail, error) {
	return done(s.store.DeleteDerivedMeasure(ctx, req.Name), "Derived measure deleted")
}

func (s *Server) derivedReadings(ctx context.Context, req *derivedReadingsRequest) ([]readingPoint, error) {
	d, err := derive.Find(ctx, s.store, req.DerivedName)
	if err != nil {
		return nil, err
	}
	var rs []dtbase.Reading
	if err := derive.Readings(ctx, s.store, d, req.UniqueIdentifier, req.DtFrom, req.DtTo, func(r dtbase.Reading) error {
		rs = append(rs, r)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(req.Bucket) > 0 && string(req.Bucket) != "null" {
		width, err := parseBucketWidth(req.Bucket)
		if err != nil {
			return nil, err
		}
		return each(derive.BucketMeans(rs, width), func(b derive.Bucket) readingPoint {
			return readingPoint{dtbase.FloatValue(b.Value), dtbase.Time(b.Start)}
		}), nil
	}
	return each(rs, pointOf), nil
}

// pointOf is a reading as the JSON reads answer it.
func pointOf(r dtbase.Reading) readingPoint {
	return readingPoint{r.Value, dtbase.Time(r.Time)}
}

func (s *Server) derivedAggregate(ctx context.Context, req *derivedAggregateRequest) ([]derivedBucketOut, error) {
	width, err := parseBucketWidth(req.Bucket)
	if err != nil {
		return nil, err
	}
	d, err := derive.Find(ctx, s.store, req.DerivedName)
	if err != nil {
		return nil, err
	}
	bs, err := derive.Aggregate(ctx, s.store, d, req.DtFrom, req.DtTo, width)
	if err != nil {
		return nil, err
	}
	return each(bs, func(b derive.Bucket) derivedBucketOut {
		return derivedBucketOut{dtbase.Time(b.Start), b.Value, b.Sensors}
	}), nil
}

// derivedReadingsCSV answers a derived series in readings.csv's layout.
func (s *Server) derivedReadingsCSV(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	c := queryCheck{q: q}
	c.require("unique_identifier", "derived_name")
	from, to := c.timeRange()
	if c.failed(w, r) {
		return
	}
	uid, name := q.Get("unique_identifier"), q.Get("derived_name")
	d, err := derive.Find(r.Context(), s.store, name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	st := newReadingStream(w, r, "text/csv; charset=utf-8")
	st.header = func(h http.Header) {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dtbase.ReadingCSVFileName(uid, []string{name})}))
		h.Set("Cache-Control", "no-store")
	}
	st.buf = append(st.buf, dtbase.ReadingCSVHeader...)
	prefix := dtbase.AppendReadingCSVPrefix(nil, dtbase.ReadingMeasure{UniqueIdentifier: uid, MeasureName: name, MeasureUnits: d.Units})
	err = derive.Readings(r.Context(), s.store, d, uid, from, to, func(rd dtbase.Reading) error {
		st.buf = dtbase.AppendReadingCSVRow(st.buf, prefix, rd)
		return st.maybeFlush()
	})
	st.finish(err)
}
