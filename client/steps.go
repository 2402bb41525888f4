package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Step is one call of a service: POST Payload to Endpoint, as the tuples an
// original DTBase service's get_service_data returns.
type Step struct {
	Endpoint string
	Payload  any
}

// StepResult is what happened to a step. Err is nil on success and for an
// "exists already" conflict, which Exists then reports.
type StepResult struct {
	Step
	Status int
	Body   json.RawMessage
	Exists bool
	Err    error
}

// StepsError reports the steps that failed.
type StepsError struct {
	Failed []StepResult
}

func (e *StepsError) Error() string {
	parts := make([]string, 0, len(e.Failed))
	for _, r := range e.Failed {
		parts = append(parts, fmt.Sprintf("%s: %v", r.Endpoint, r.Err))
	}
	return fmt.Sprintf("%d of the service's calls failed: %s", len(e.Failed), strings.Join(parts, "; "))
}

// PostSteps posts each step in order, as the original's BaseService does,
// and goes on after a failure. A 409 saying the row exists already counts
// as success, so a service can declare its sensor types, sensors and
// measures on every run. It returns one result per step, and a *StepsError
// listing the others that failed; a cancelled ctx stops early. log, when
// not nil, gets one line per step.
func (c *Client) PostSteps(ctx context.Context, steps []Step, log *slog.Logger) ([]StepResult, error) {
	results := make([]StepResult, 0, len(steps))
	var failed []StepResult
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r := StepResult{Step: s}
		var body json.RawMessage
		status, err := c.callStatus(ctx, http.MethodPost, s.Endpoint, s.Payload, 0, &body)
		var e *Error
		switch {
		case err == nil:
			r.Status, r.Body = status, body
		case IsExists(err):
			errors.As(err, &e)
			r.Status, r.Body, r.Exists = e.Status, e.Body, true
		case errors.As(err, &e):
			r.Status, r.Body, r.Err = e.Status, e.Body, err
		default:
			r.Err = err
		}
		if log != nil {
			switch {
			case r.Err != nil:
				log.Warn("service call failed", "endpoint", s.Endpoint, "status", r.Status, "err", r.Err)
			case r.Exists:
				log.Info("service call: exists already", "endpoint", s.Endpoint)
			default:
				log.Info("service call", "endpoint", s.Endpoint, "response", string(r.Body))
			}
		}
		if r.Err != nil {
			failed = append(failed, r)
		}
		results = append(results, r)
	}
	if len(failed) > 0 {
		return results, &StepsError{Failed: failed}
	}
	return results, nil
}
