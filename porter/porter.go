// Package porter is Porter's surface over the engine, what Porter users
// meet beyond running actions (which go through the engine's one action
// pipeline): Porter's installation and run documents (porter show, list,
// installation runs list; also served by the API with ?format=porter),
// applying installation files (porter installation apply) and copying
// bundles between registries (porter copy). porter/sets reads Porter's
// parameter and credential set files. Like the service, it goes through
// the engine's verbs and never reaches an adapter.
package porter

import (
	"log/slog"

	"github.com/stackhub/stackhub/engine"
)

// Authoring is Porter's authoring surface over one engine.
type Authoring struct {
	eng *engine.Engine
	log *slog.Logger
}

// New returns the authoring surface of eng.
func New(eng *engine.Engine, log *slog.Logger) *Authoring {
	return &Authoring{eng: eng, log: log}
}
