package servicerun

import (
	"context"
	"fmt"

	"github.com/dtbase/dtbase"
)

// Registration is a service row (with example parameter sets) that dtbase
// registers for one of its built-in services, so a new user finds it in
// the service list ready to run or schedule.
type Registration struct {
	Service       dtbase.Service
	ParameterSets []dtbase.ParameterSet
}

// Register creates each registration's service, unless a service of that
// name exists, and then its parameter sets, unless they exist. It is safe
// to run concurrently from several replicas.
func Register(ctx context.Context, store dtbase.ServiceStore, regs []Registration) error {
	for _, reg := range regs {
		svc := reg.Service
		if err := store.CreateService(ctx, &svc); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
			return fmt.Errorf("register built-in service %q: %w", svc.Name, err)
		}
		for _, p := range reg.ParameterSets {
			p.ServiceName = svc.Name
			if err := store.CreateParameterSet(ctx, &p); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
				return fmt.Errorf("register parameter set %q of built-in service %q: %w", p.Name, svc.Name, err)
			}
		}
	}
	return nil
}
