package servicerun

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
)

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// CatchUp runs a schedule once when its due time passed while no
	// scheduler was running (the server was down); when false such runs
	// are skipped and the schedule waits for its next time. A run is
	// "missed" when it is more than MissedAfter late.
	CatchUp     bool
	MissedAfter time.Duration // default 1 minute
	// PollInterval is the longest the scheduler sleeps between looks at
	// the database, so schedules created on another replica are seen; it
	// also bounds how long a replica takes to notice it is leader. Default
	// 2 s.
	PollInterval time.Duration
	// StaleAfter is how long a run may stay pending or running before it
	// is taken for abandoned by a process that stopped, and marked failed.
	// Default: the longest service timeout plus ten minutes.
	StaleAfter time.Duration
	// Lock elects the scheduling replica; the store's lock when nil.
	Lock dtbase.SchedulerLock
}

// Scheduler runs the due schedules of the database. Among replicas, the
// one holding the scheduler lock runs them (on PostgreSQL an advisory
// lock, on SQLite always this process); and each due time is claimed with
// a conditional update, so even two schedulers that both believe they lead
// run each due time exactly once.
type Scheduler struct {
	runner  *Runner
	store   dtbase.ServiceStore
	lock    dtbase.SchedulerLock
	opts    SchedulerOptions
	clock   Clock
	log     *slog.Logger
	leading bool
	sweptAt time.Time
}

// NewScheduler returns a scheduler that calls services through runner.
func NewScheduler(runner *Runner, o SchedulerOptions) *Scheduler {
	if o.MissedAfter <= 0 {
		o.MissedAfter = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = dtbase.MaxServiceTimeout + 10*time.Minute
	}
	if o.Lock == nil {
		o.Lock = runner.store.SchedulerLock()
	}
	return &Scheduler{runner: runner, store: runner.store, lock: o.Lock, opts: o, clock: runner.clock, log: runner.log}
}

// batchSize bounds the schedules claimed in one pass.
const batchSize = 100

// Run schedules until ctx ends, then releases the lock. Runs already
// started go on; Runner.Stop waits for them.
func (s *Scheduler) Run(ctx context.Context) {
	defer func() {
		if err := s.lock.Unlock(); err != nil {
			s.log.Warn("scheduler: release lock", "err", err)
		}
	}()
	for {
		wait := s.opts.PollInterval
		if next, ok := s.step(ctx); ok && !next.IsZero() {
			if d := next.Sub(s.clock.Now()); d < wait {
				wait = max(d, 0)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(wait):
		}
	}
}

// step takes or checks the lock and, when leading, runs one pass. It
// returns when the next schedule is due, and whether this process leads.
func (s *Scheduler) step(ctx context.Context) (time.Time, bool) {
	leading, err := s.lock.TryLock(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("scheduler: lock check failed; not scheduling until it succeeds", "err", err)
	}
	if leading != s.leading {
		s.leading = leading
		if leading {
			s.log.Info("scheduler: this replica now runs the schedules")
		} else {
			s.log.Info("scheduler: this replica no longer runs the schedules")
		}
	}
	if !leading {
		return time.Time{}, false
	}
	next, err := s.Tick(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error("scheduler: pass failed", "err", err)
	}
	return next, true
}

// Tick runs one pass at the clock's current time: it claims and starts
// every due schedule and returns when the next one is due (zero when none
// is). Tests call it directly with a fake clock.
func (s *Scheduler) Tick(ctx context.Context) (time.Time, error) {
	now := s.clock.Now()
	if now.Sub(s.sweptAt) > time.Minute {
		s.sweptAt = now
		n, err := s.store.FailStaleRuns(ctx, now.Add(-s.opts.StaleAfter), "interrupted: the process running it stopped before it finished")
		if err != nil {
			return time.Time{}, err
		}
		if n > 0 {
			s.log.Warn("scheduler: marked abandoned runs as failed", "runs", n)
		}
	}
	due, next, err := s.store.DueSchedules(ctx, now, batchSize)
	if err != nil {
		return time.Time{}, err
	}
	for _, sc := range due {
		// Wake up for the schedules just advanced too, not only for those
		// that were not yet due.
		if n := s.fire(ctx, sc, now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	if len(due) == batchSize {
		return now, nil // more are due: go again at once
	}
	return next, nil
}

// fire claims one due schedule and starts its run. It returns the
// schedule's next run time, zero when it could not be computed.
func (s *Scheduler) fire(ctx context.Context, sc dtbase.Schedule, now time.Time) time.Time {
	log := s.log.With("service", sc.ServiceName, "schedule", sc.Name)
	sched, err := parseCron(sc.Cron, sc.TimeZone)
	var next time.Time
	if err == nil {
		next = sched.Next(now).UTC()
	}
	if next.IsZero() {
		// Stored schedules are checked when written, so this needs a
		// time zone database that changed under us. Look again in an hour
		// rather than spin.
		log.Error("scheduler: schedule cannot be computed; retrying in an hour", "cron", sc.Cron, "timezone", sc.TimeZone, "err", err)
		if err := s.store.SkipScheduledRun(ctx, sc.ID, sc.NextRun, now.Add(time.Hour)); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
			log.Error("scheduler: skip", "err", err)
		}
		return time.Time{}
	}
	if late := now.Sub(sc.NextRun); late > s.opts.MissedAfter && !s.opts.CatchUp {
		err := s.store.SkipScheduledRun(ctx, sc.ID, sc.NextRun, next)
		switch dtbase.ErrorCode(err) {
		case "":
			log.Info("scheduler: skipped a run missed while no scheduler ran (DT_SCHEDULER_CATCH_UP=false)", "due", sc.NextRun, "next", next)
		case dtbase.ECONFLICT:
		default:
			log.Error("scheduler: skip", "err", err)
		}
		return next
	}
	// The claim is not cut short by the scheduler stopping: a commit
	// interrupted half-way could be applied without this process knowing,
	// leaving a logged run that never runs.
	claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	run, svc, err := s.store.ClaimScheduledRun(claimCtx, dtbase.ScheduleClaim{ScheduleID: sc.ID, Due: sc.NextRun, Next: next, Timestamp: now, Limits: s.runner.limits})
	switch dtbase.ErrorCode(err) {
	case "":
	case dtbase.ECONFLICT:
		return next // another replica claimed it, or it was just edited
	default:
		log.Error("scheduler: claim", "err", err)
		return next
	}
	if late := now.Sub(sc.NextRun); late > s.opts.MissedAfter {
		log.Info("scheduler: running a missed run once", "due", sc.NextRun, "late", late.Round(time.Second).String())
	}
	if run.Status.Done() {
		log.Warn("scheduler: run not started", "run_id", run.ID, "error", run.Error)
		return next // recorded as failed: over the service's run limits
	}
	extra := http.Header{}
	extra.Set(HeaderSchedule, sc.Name)
	extra.Set(HeaderScheduledFor, dtbase.FormatTime(sc.NextRun))
	s.runner.background(run, svc, extra, 1)
	return next
}
