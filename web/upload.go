package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// maxUploadBytes bounds a CSV file sent from the browser, as the API's
// body limit does.
const maxUploadBytes = 64 << 20

type uploadData struct {
	Help string
}

// uploadPage is the bulk upload of a CSV file of readings of any sensors.
func (h *Handler) uploadPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h.render(w, r, http.StatusOK, "upload.html", &view{Title: "Upload readings", Nav: "readings", Session: s,
		Data: &uploadData{Help: dtbase.ReadingCSVHelp}, Scripts: []string{"js/upload.js"}})
	return nil
}

// csvCheck is what a file would store: how its columns are read, its
// series and its first lines as they are.
type csvCheck struct {
	Layout   string      `json:"layout"` // "long" or "wide"
	Columns  []csvColumn `json:"columns"`
	Series   []csvSeries `json:"series"`
	Readings int64       `json:"readings"`
	Lines    []string    `json:"lines"`
}

type csvColumn struct {
	Header   string `json:"header"`
	Role     string `json:"role"`
	Sensor   string `json:"sensor,omitempty"`
	Measure  string `json:"measure,omitempty"`
	Units    string `json:"units,omitempty"`
	Datatype string `json:"datatype,omitempty"`
}

type csvSeries struct {
	Sensor  string `json:"sensor"`
	Measure string `json:"measure"`
	Units   string `json:"units"`
	Count   int64  `json:"count"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// previewLines is how many lines of a file the check shows as they are.
const previewLines = 6

// readUpload reads the CSV file of an upload (the request body) and the
// sensor it is for, when the page is a sensor's.
func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUploadBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, "", invalid("The file is larger than %d MB; import it with `dtbase import readings` instead.", maxUploadBytes>>20)
	}
	if err != nil {
		return nil, "", invalid("The upload was interrupted: %v", err)
	}
	return data, r.URL.Query().Get("sensor"), nil
}

// checkReadingsCSV reads a whole file as an upload would, without writing
// anything: the first malformed row is a 400 naming its line.
func (h *Handler) checkReadingsCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	data, sensor, err := readUpload(w, r)
	if err != nil {
		return err
	}
	cr, err := dtbase.NewReadingCSVReaderFor(bytes.NewReader(data), sensor, dtbase.StoreResolver(ctx, h.store))
	if err != nil {
		return dtbase.CSVImportError(err)
	}
	ans := &csvCheck{Layout: "long", Series: []csvSeries{}}
	if cr.Wide() {
		ans.Layout = "wide"
	}
	for _, c := range cr.Columns() {
		col := csvColumn{Header: c.Header, Role: c.Role}
		if m := c.Measure; m != nil {
			col.Sensor, col.Measure, col.Units, col.Datatype = m.UniqueIdentifier, m.MeasureName, derefString(m.MeasureUnits), string(m.Datatype)
		}
		ans.Columns = append(ans.Columns, col)
	}
	type span struct{ from, to time.Time }
	index := map[string]int{}
	var spans []span
	for {
		sr, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return dtbase.CSVImportError(err)
		}
		key := sr.UniqueIdentifier + "\x00" + sr.MeasureName + "\x00" + derefString(sr.MeasureUnits)
		i, ok := index[key]
		if !ok {
			i = len(ans.Series)
			index[key] = i
			ans.Series = append(ans.Series, csvSeries{Sensor: sr.UniqueIdentifier, Measure: sr.MeasureName, Units: derefString(sr.MeasureUnits)})
			spans = append(spans, span{sr.Timestamps[0], sr.Timestamps[0]})
		}
		ans.Series[i].Count += int64(len(sr.Timestamps))
		for _, t := range sr.Timestamps {
			if t.Before(spans[i].from) {
				spans[i].from = t
			}
			if t.After(spans[i].to) {
				spans[i].to = t
			}
		}
	}
	for i := range ans.Series {
		ans.Series[i].From, ans.Series[i].To = dtbase.FormatTime(spans[i].from), dtbase.FormatTime(spans[i].to)
	}
	ans.Readings = cr.Rows()
	for _, line := range strings.SplitN(string(data), "\n", previewLines+1)[:min(previewLines, strings.Count(string(data), "\n")+1)] {
		if line = strings.TrimRight(line, "\r"); line != "" {
			ans.Lines = append(ans.Lines, line)
		}
	}
	return writeJSON(w, r, ans)
}

// uploadResult is what an upload stored.
type uploadResult struct {
	Rows       int64 `json:"rows"`
	Inserted   int64 `json:"inserted"`
	Duplicates int64 `json:"duplicates"`
}

// uploadReadingsCSV stores a file in one transaction, as the API's
// upload-readings-csv does: all or nothing, the first malformed row a 400
// naming its line.
func (h *Handler) uploadReadingsCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	data, sensor, err := readUpload(w, r)
	if err != nil {
		return err
	}
	res, err := dtbase.ImportReadingsCSVFor(r.Context(), h.store, bytes.NewReader(data), sensor, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, r, &uploadResult{Rows: res.Rows, Inserted: res.Inserted, Duplicates: res.Duplicates()})
}

// writeJSON answers v as JSON that is not to be cached.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return writeJSONCache(w, r, v, "no-store")
}

// writeJSONCache answers v as JSON, gzipped for clients that accept it,
// with the given Cache-Control.
func writeJSONCache(w http.ResponseWriter, r *http.Request, v any, cacheControl string) error {
	body, err := toJSON(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheControl)
	writeMaybeGzip(w, r, http.StatusOK, []byte(body))
	return nil
}
