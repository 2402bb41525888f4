// Package testwait is how tests wait for something that must happen: they
// poll for it and fail only after so long that the wait is a hang, never
// because the machine is busy.
package testwait

import (
	"testing"
	"time"
)

// HangAfter bounds a wait for something that must happen: long enough that
// only a hang, never a busy machine, reaches it.
const HangAfter = 2 * time.Minute

// For polls cond until it holds, failing tb after HangAfter.
func For(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	Within(tb, what, HangAfter, cond)
}

// Within polls cond until it holds, failing tb after timeout.
func Within(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after %v", what, timeout)
		}
	}
}
