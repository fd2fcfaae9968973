// Package bundles is StackHub's built-in catalog: one folder per app, each
// a Porter bundle (porter.yaml, compose file, README, icon.svg), embedded into the
// binary. It holds data only.
package bundles

import "embed"

// FS holds every bundle folder at its root.
//
//go:embed *
var FS embed.FS
