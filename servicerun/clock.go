package servicerun

import "time"

// Clock tells the time and waits; tests substitute a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock, in UTC.
type RealClock struct{}

// Now returns the current instant in UTC.
func (RealClock) Now() time.Time { return time.Now().UTC() }

// After waits for d.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
