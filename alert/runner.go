package alert

import (
	"context"
	"log/slog"
	"time"

	"github.com/dtbase/dtbase"
)

// Options configure a Runner.
type Options struct {
	Store  dtbase.AlertStore
	Sender *Sender
	Log    *slog.Logger
	// PollInterval is the pause between passes; default 5 s.
	PollInterval time.Duration
	// Lease is how long a claimed notification is kept from other
	// replicas while it is sent; default 2 minutes.
	Lease time.Duration
	// MaxAttempts bounds the sends of one notification; default 8.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one up to an hour; default 15 s.
	Backoff time.Duration
	// Now tells the time; time.Now when nil.
	Now func() time.Time
}

// Runner evaluates the scheduled rules (staleness) and drains the outbox
// of notifications. Among replicas the holder of the store's alert lock
// runs; each notification is also claimed by a conditional update, so
// two runners that both believe they lead do not both send it.
type Runner struct {
	o       Options
	leading bool
}

// NewRunner returns a runner.
func NewRunner(o Options) *Runner {
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = 15 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Runner{o: o}
}

// Run works until ctx ends, then releases the lock.
func (r *Runner) Run(ctx context.Context) {
	lock := r.o.Store.AlertLock()
	defer lock.Unlock()
	for {
		leading, err := lock.TryLock(ctx)
		if err != nil && ctx.Err() == nil {
			r.o.Log.Warn("alerts: lock check failed", "err", err)
		}
		if leading != r.leading {
			r.leading = leading
			if leading {
				r.o.Log.Info("alerts: this replica now evaluates scheduled rules and sends notifications")
			} else {
				r.o.Log.Info("alerts: this replica no longer sends notifications")
			}
		}
		if leading {
			if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
				r.o.Log.Error("alerts: pass failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.o.PollInterval):
		}
	}
}

// Tick evaluates the scheduled rules and sends the due notifications
// once. Tests call it directly.
func (r *Runner) Tick(ctx context.Context) error {
	if _, err := r.o.Store.EvaluateScheduledAlerts(ctx, r.o.Now()); err != nil {
		return err
	}
	_, err := r.Deliver(ctx)
	return err
}

// Deliver sends the due notifications and returns how many were sent.
func (r *Runner) Deliver(ctx context.Context) (int, error) {
	sent := 0
	for {
		ns, err := r.o.Store.ClaimNotifications(ctx, r.o.Now(), r.o.Lease, 20)
		if err != nil || len(ns) == 0 {
			return sent, err
		}
		for _, n := range ns {
			detail, err := r.o.Sender.Send(ctx, n)
			var retry *time.Time
			if err != nil {
				detail = err.Error()
				if n.Attempts < r.o.MaxAttempts {
					t := r.o.Now().Add(r.backoff(n.Attempts))
					retry = &t
				}
				r.o.Log.Warn("alerts: notification failed", "event", n.Event.ID, "channel", n.Channel.Name, "attempt", n.Attempts, "err", err)
			} else {
				sent++
			}
			// Recorded even when ctx ended: the send happened.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			ferr := r.o.Store.FinishNotification(fctx, n, err == nil, detail, retry)
			cancel()
			if ferr != nil {
				return sent, ferr
			}
		}
	}
}

func (r *Runner) backoff(attempt int) time.Duration {
	d := r.o.Backoff
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
