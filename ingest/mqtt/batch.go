package mqtt

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dtbase/dtbase"
)

// batchLoop collects messages into batches and commits each when it is
// full or its oldest message has waited BatchDelay.
func (s *Subscriber) batchLoop() {
	var batch []*message
	var timer *time.Timer
	var timeout <-chan time.Time
	commit := func() bool {
		if timer != nil {
			timer.Stop()
			timer, timeout = nil, nil
		}
		if len(batch) == 0 {
			return true
		}
		ok := s.commit(s.batchCtx, batch)
		batch = nil
		return ok
	}
	for {
		select {
		case m := <-s.msgs:
			batch = append(batch, m)
			if len(batch) == 1 {
				timer = time.NewTimer(s.cfg.BatchDelay)
				timeout = timer.C
			}
			if len(batch) >= s.cfg.BatchSize && !commit() {
				return
			}
		case <-timeout:
			if !commit() {
				return
			}
		case <-s.draining:
			for {
				select {
				case m := <-s.msgs:
					batch = append(batch, m)
					if len(batch) >= s.cfg.BatchSize && !commit() {
						return
					}
					continue
				default:
				}
				break
			}
			commit()
			return
		case <-s.batchCtx.Done():
			return
		}
	}
}

// Rejection reasons, the label of the rejected counter.
const (
	rejectTopic         = "unknown_topic"
	rejectPayload       = "malformed_payload"
	rejectUnknownSensor = "unknown_sensor"
	rejectMeasure       = "unknown_measure"
	rejectDatatype      = "wrong_datatype"
	rejectInvalid       = "invalid"
)

// item is a message resolved to its readings.
type item struct {
	msg     *message
	target  Target
	measure dtbase.ReadingMeasure
	points  []point
	reject  string
}

// seriesKey groups readings of one measure of one sensor.
type seriesKey struct{ sensor, measure int64 }

// commit stores a batch in one transaction and acknowledges every message
// in it, stored or rejected. Database failures are retried with backoff
// until ctx ends; it then returns false and acknowledges nothing.
func (s *Subscriber) commit(ctx context.Context, batch []*message) bool {
	items := make([]item, len(batch))
	for i, m := range batch {
		items[i] = item{msg: m}
		s.prepare(&items[i])
	}
	// Resolving needs the database; retry while it is unavailable.
	for i := range items {
		it := &items[i]
		if it.reject != "" {
			continue
		}
		if !s.retry(ctx, "resolve sensor measure", func() error { return s.resolve(ctx, it) }) {
			return false
		}
	}
	began := time.Now()
	if !s.retry(ctx, "insert readings", func() error { return s.insert(ctx, items) }) {
		return false
	}
	for _, it := range items {
		if it.reject != "" {
			s.rejected.Add(1)
			s.m.rejected.WithLabelValues(it.reject).Inc()
		}
		if it.msg.ack != nil {
			// Ack only errs for a message of a connection that has since
			// dropped; the broker then redelivers it and the store skips it.
			_ = it.msg.ack()
		}
	}
	s.batches.Add(1)
	took := time.Since(began)
	s.commitNanos.Add(int64(took))
	s.m.commit.Observe(took.Seconds())
	return true
}

// retry makes the database call what until it succeeds, sleeping between
// attempts; false when ctx ended first.
func (s *Subscriber) retry(ctx context.Context, what string, call func() error) bool {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == 1 || attempt%10 == 0 {
			s.log.Warn("mqtt ingest: database call failed; retrying", "op", what, "err", err, "attempt", attempt)
		}
		select {
		case <-time.After(backoff(attempt, 100*time.Millisecond, 5*time.Second)):
		case <-ctx.Done():
			return false
		}
	}
}

// prepare matches the topic and decodes the payload.
func (s *Subscriber) prepare(it *item) {
	m := it.msg
	var ok bool
	for _, p := range s.cfg.Patterns {
		if it.target, ok = p.Match(m.topic); ok {
			break
		}
	}
	if !ok {
		s.rejectf(it, rejectTopic, "topic matches no configured pattern")
		return
	}
	pts, err := decodePayload(m.payload, m.received.UTC().Truncate(time.Microsecond))
	if err != nil {
		s.rejectf(it, rejectPayload, err.Error())
		return
	}
	it.points = pts
}

// resolve finds the item's measure and checks its values. It returns only
// errors worth retrying; a bad item is marked rejected.
func (s *Subscriber) resolve(ctx context.Context, it *item) error {
	m, err := s.cache.find(ctx, s.store, it.target)
	if dtbase.IsUnknownSensor(err) && s.cfg.CreateSensorsOfType != "" {
		if cerr := s.createSensor(ctx, it.target.Sensor); cerr != nil {
			if !isClientError(cerr) {
				return cerr
			}
			s.rejectf(it, rejectUnknownSensor, "cannot create the sensor from the template: "+dtbase.ErrorMessage(cerr))
			return nil
		}
		s.cache.forget(it.target)
		m, err = s.cache.find(ctx, s.store, it.target)
	}
	switch {
	case err == nil:
	case dtbase.IsUnknownSensor(err):
		s.rejectf(it, rejectUnknownSensor, dtbase.ErrorMessage(err))
		return nil
	case dtbase.ErrorCode(err) == dtbase.ENOTFOUND:
		s.rejectf(it, rejectMeasure, dtbase.ErrorMessage(err))
		return nil
	case isClientError(err):
		s.rejectf(it, rejectInvalid, dtbase.ErrorMessage(err))
		return nil
	default:
		return err
	}
	it.measure = m
	for i, p := range it.points {
		v, msg := p.value.Coerce(m.Datatype)
		if msg != "" {
			s.rejectf(it, rejectDatatype, msg)
			return nil
		}
		it.points[i].value = v
	}
	return nil
}

func (s *Subscriber) createSensor(ctx context.Context, uid string) error {
	err := s.store.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: s.cfg.CreateSensorsOfType})
	if dtbase.ErrorCode(err) == dtbase.ECONFLICT { // created meanwhile
		return nil
	}
	if err == nil {
		s.log.Info("mqtt ingest: created sensor from template", "sensor", uid, "type", s.cfg.CreateSensorsOfType)
	}
	return err
}

// isClientError reports whether err is about the data rather than the
// database, so retrying cannot help.
func isClientError(err error) bool {
	switch dtbase.ErrorCode(err) {
	case dtbase.EINVALID, dtbase.ENOTFOUND, dtbase.ECONFLICT, dtbase.EUNPROCESSABLE:
		return true
	}
	return false
}

// insert writes the accepted readings of items in one transaction. When the
// store rejects the data (a sensor deleted since it was resolved, say), it
// writes each series on its own and rejects the failing ones.
func (s *Subscriber) insert(ctx context.Context, items []item) error {
	var keys []seriesKey
	series := map[seriesKey]*dtbase.ReadingSeries{}
	owners := map[seriesKey][]int{}
	for i := range items {
		it := &items[i]
		if it.reject != "" {
			continue
		}
		k := seriesKey{it.measure.SensorID, it.measure.MeasureID}
		sr := series[k]
		if sr == nil {
			sr = &dtbase.ReadingSeries{UniqueIdentifier: it.measure.UniqueIdentifier,
				MeasureName: it.measure.MeasureName, MeasureUnits: it.measure.MeasureUnits}
			series[k] = sr
			keys = append(keys, k)
		}
		for _, p := range it.points {
			sr.Values = append(sr.Values, p.value)
			sr.Timestamps = append(sr.Timestamps, p.ts)
		}
		owners[k] = append(owners[k], i)
	}
	if len(keys) == 0 {
		return nil
	}
	all := make([]dtbase.ReadingSeries, len(keys))
	for i, k := range keys {
		all[i] = *series[k]
	}
	res, err := s.store.InsertReadings(ctx, all)
	if err == nil {
		s.count(res)
		return nil
	}
	if !isClientError(err) {
		return err
	}
	for i, k := range keys {
		res, err := s.store.InsertReadings(ctx, all[i:i+1])
		switch {
		case err == nil:
			s.count(res)
		case isClientError(err):
			s.cache.forgetMeasure(all[i])
			for _, j := range owners[k] {
				reason := rejectInvalid
				if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
					reason = rejectMeasure
				}
				s.rejectf(&items[j], reason, dtbase.ErrorMessage(err))
			}
		default:
			return err
		}
	}
	return nil
}

func (s *Subscriber) count(res dtbase.ReadingInsertResult) {
	s.stored.Add(res.Inserted)
	s.duplicates.Add(res.Duplicates())
	s.m.stored.Add(float64(res.Inserted))
	s.m.duplicates.Add(float64(res.Duplicates()))
}

// rejectf marks an item rejected and logs why, at most once a minute per
// topic.
func (s *Subscriber) rejectf(it *item, reason, msg string) {
	it.reject = reason
	if s.logLimit.allow(it.msg.topic, time.Now()) {
		s.log.Warn("mqtt ingest: message rejected (further rejections on this topic are not logged for a minute)",
			"topic", it.msg.topic, "reason", reason, "detail", msg)
	}
}

// logLimiter allows one log line per key a minute.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if len(l.last) >= 10000 { // bound the memory a topic flood can take
		clear(l.last)
	}
	l.last[key] = now
	return true
}

// resolver caches measure lookups: found ones for five minutes, missing
// ones for ten seconds, so a sensor created later is picked up soon.
type resolver struct {
	mu      sync.Mutex
	entries map[resolveKey]resolveEntry
}

type resolveKey struct {
	sensor, measure, units string
	hasUnits               bool
}

type resolveEntry struct {
	m       dtbase.ReadingMeasure
	err     error
	expires time.Time
}

func keyOf(t Target) resolveKey {
	k := resolveKey{sensor: t.Sensor, measure: t.Measure}
	if t.Units != nil {
		k.units, k.hasUnits = *t.Units, true
	}
	return k
}

func (r *resolver) find(ctx context.Context, st Store, t Target) (dtbase.ReadingMeasure, error) {
	k := keyOf(t)
	now := time.Now()
	r.mu.Lock()
	e, ok := r.entries[k]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.m, e.err
	}
	m, err := st.FindReadingMeasure(ctx, t.Sensor, t.Measure, t.Units)
	if err != nil && !isClientError(err) {
		return m, err // not cached: the database may come back
	}
	ttl := 5 * time.Minute
	if err != nil {
		ttl = 10 * time.Second
	}
	r.mu.Lock()
	if len(r.entries) >= 100000 {
		clear(r.entries)
	}
	r.entries[k] = resolveEntry{m, err, now.Add(ttl)}
	r.mu.Unlock()
	return m, err
}

func (r *resolver) forget(t Target) {
	r.mu.Lock()
	delete(r.entries, keyOf(t))
	r.mu.Unlock()
}

// forgetMeasure drops every entry of a series' sensor, after the store
// rejected it.
func (r *resolver) forgetMeasure(sr dtbase.ReadingSeries) {
	r.mu.Lock()
	for k := range r.entries {
		if k.sensor == sr.UniqueIdentifier {
			delete(r.entries, k)
		}
	}
	r.mu.Unlock()
}

// metrics are the subscriber's Prometheus collectors.
type metrics struct {
	received   prometheus.Counter
	stored     prometheus.Counter
	duplicates prometheus.Counter
	rejected   *prometheus.CounterVec
	connected  *prometheus.GaugeVec
	commit     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "dtbase_mqtt_messages_received_total",
			Help: "MQTT messages received."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "dtbase_mqtt_readings_stored_total",
			Help: "Readings from MQTT written to the database."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "dtbase_mqtt_readings_duplicate_total",
			Help: "Readings from MQTT skipped because they were stored already (redeliveries)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dtbase_mqtt_messages_rejected_total",
			Help: "MQTT messages dropped as bad, by reason."}, []string{"reason"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dtbase_mqtt_connected",
			Help: "1 while the broker is connected."}, []string{"broker"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dtbase_mqtt_commit_seconds",
			Help: "Time to write one batch of MQTT readings.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	register(reg, &m.received, &err)
	register(reg, &m.stored, &err)
	register(reg, &m.duplicates, &err)
	register(reg, &m.rejected, &err)
	register(reg, &m.connected, &err)
	register(reg, &m.commit, &err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register registers *c, or replaces it with the collector registered
// before under the same name, so a subscriber restarted in the same process
// keeps counting where the last one stopped. A failure is kept in *err; once
// it is set, register does nothing, so a run of calls stops at the first.
func register[C prometheus.Collector](reg prometheus.Registerer, c *C, err *error) {
	if *err != nil {
		return
	}
	*err = reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(*err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			*c, *err = existing, nil
		}
	}
}
