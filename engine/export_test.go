package engine

import (
	"context"
	"time"
)

// Tests build an engine with the shared helpers, then give it the adapter
// they exercise; the engine itself takes its adapters in New only.

// UseRegistry sets the registry adapter of a test's engine.
func (e *Engine) UseRegistry(r Registry) { e.deps.Registry = r }

// UseSigner sets the signing adapter of a test's engine.
func (e *Engine) UseSigner(s Signer) { e.deps.Signer = s }

// LeaseCheck is the lease check of an install without its record: the
// published ports of this host and of the swarm cluster, then the choice.
func (e *Engine) LeaseCheck(ctx context.Context, installation string, specs []PortSpec) (map[string]int, error) {
	published, err := e.publishedPorts(ctx)
	if err != nil {
		return nil, err
	}
	out, _, err := e.choosePorts(ctx, installation, specs, nil, published)
	return out, err
}

// SetScheduleTick changes how often backup schedules are looked at, until
// the test ends.
func SetScheduleTick(d time.Duration) func() {
	old := scheduleTick
	scheduleTick = d
	return func() { scheduleTick = old }
}
