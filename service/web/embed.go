// Package web holds StackHub's web console: static HTML, CSS, ES modules
// and message catalogs (one JSON file per language), embedded in the
// binary. It has no logic of its own in Go; package service serves the
// files. The console is a client of /api/v1 only. It imports nothing of
// StackHub's.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Files returns the console's files, rooted at the static folder.
func Files() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the folder is embedded above: it exists
	}
	return sub
}
