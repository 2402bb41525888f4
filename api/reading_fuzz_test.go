package api

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzReadingBody checks the fast decoder of the ingest bodies against the
// generic binder: it never panics, and whenever it accepts a body the
// binder accepts it too, with the same result. Bodies it gives up on go to
// the binder, so the error answers stay the binder's.
//
//	go test -run='^$' -fuzz=FuzzReadingBody -fuzztime=10s ./api
func FuzzReadingBody(f *testing.F) {
	for _, s := range []string{
		`{"measure_name":"t","unique_identifier":"s","readings":[1,2.5,"x",true],"timestamps":["2024-01-01T00:00:00Z",1704067200,"2024-01-01",1.5e12]}`,
		`{"measure_name":"t","unique_identifier":"s","readings":[],"timestamps":[],"measure_units":null}`,
		`{"measure_name":"t","measure_units":"C","unique_identifier":"s","readings":[1e3],"timestamps":["2024-01-01 10:00"],"extra":{"a":[1,{"b":"]"}]}}`,
		`{"measure_name":"t","unique_identifier":"s","readings":[NaN],"timestamps":[1]}`,
		`{"measure_name":"t","measure_name":"u","unique_identifier":"s","readings":[1],"timestamps":[1]}`,
		`{"measure_name":"t\u00e9","unique_identifier":"s","readings":["a\"b"],"timestamps":["x"]}`,
		`{"series":[{"measure_name":"t","unique_identifier":"s","readings":[1],"timestamps":[1]}]}`,
		`{"series":[]}`,
		` { "measure_name" : "t" , "unique_identifier" : "s" , "readings" : [ 1 , -2 ] , "timestamps" : [ 0 , -1 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast readingInsertRequest
		okFast := decodeReadingInsertFast(body, &fast)
		var fastBatch readingBatchRequest
		okBatch := decodeReadingBatchFast(body, &fastBatch)
		if !json.Valid(body) {
			return // dispatch answers 422 before any decoder runs
		}
		if okFast {
			var slow readingInsertRequest
			if errs := bindBody(body, &slow); len(errs) > 0 {
				t.Fatalf("fast decoder accepted %s, the binder rejects it: %+v", body, errs)
			}
			if !reflect.DeepEqual(normalise(fast), normalise(slow)) {
				t.Fatalf("decoders disagree on %s:\nfast %+v\nslow %+v", body, fast, slow)
			}
		}
		if okBatch {
			var slow readingBatchRequest
			if errs := bindBody(body, &slow); len(errs) > 0 {
				t.Fatalf("fast batch decoder accepted %s, the binder rejects it: %+v", body, errs)
			}
			if len(slow.Series) != len(fastBatch.Series) {
				t.Fatalf("batch decoders disagree on %s", body)
			}
			for i := range slow.Series {
				if !reflect.DeepEqual(normalise(fastBatch.Series[i]), normalise(slow.Series[i])) {
					t.Fatalf("batch decoders disagree on series %d of %s", i, body)
				}
			}
		}
	})
}

// normalise makes empty and nil lists compare equal.
func normalise(r readingInsertRequest) readingInsertRequest {
	if len(r.Readings) == 0 {
		r.Readings = nil
	}
	if len(r.Timestamps) == 0 {
		r.Timestamps = nil
	}
	return r
}
