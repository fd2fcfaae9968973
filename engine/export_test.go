package engine

import "time"

// Tests build an engine with the shared helpers, then give it the adapter
// they exercise; the engine itself takes its adapters in New only.

// UseRegistry sets the registry adapter of a test's engine.
func (e *Engine) UseRegistry(r Registry) { e.deps.Registry = r }

// UseSigner sets the signing adapter of a test's engine.
func (e *Engine) UseSigner(s Signer) { e.deps.Signer = s }

// SetScheduleTick changes how often backup schedules are looked at, until
// the test ends.
func SetScheduleTick(d time.Duration) func() {
	old := scheduleTick
	scheduleTick = d
	return func() { scheduleTick = old }
}
