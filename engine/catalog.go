package engine

import (
	"context"
	"io/fs"
)

// Catalog is where installable apps (bundle folders) come from.
type Catalog interface {
	// List returns every app, sorted by name.
	List(ctx context.Context) ([]App, error)
	// Open returns the app's bundle folder (porter.yaml at its root);
	// ErrNotFound if the catalog has no such app.
	Open(ctx context.Context, name string) (fs.FS, error)
}
