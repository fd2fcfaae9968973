// Package exec is StackHub's implementation of Porter's exec mixin: it runs
// one command per step (install, upgrade, uninstall or a custom action),
// captures outputs into /cnab/app/porter/outputs, and answers the mixin
// protocol's version, schema, build and lint commands. It runs inside static
// invocation images, so it must not import Docker, cnab-go, SQL or the engine.
package exec

import (
	"io"
	"os"
	"path/filepath"
)

// Name is the mixin's name, as used in porter.yaml.
const Name = "exec"

// Build information, set with -ldflags "-X".
var (
	Version = "v0.0.0-dev"
	Commit  = "unknown"
	Author  = "StackHub Authors"
)

// EnvRuntimeRoot relocates the container filesystem root (tests and local
// runs); it is shared with the in-image runtime.
const EnvRuntimeRoot = "STACKHUB_RUNTIME_ROOT"

// DefaultAppDir is the bundle directory inside the invocation image.
const DefaultAppDir = "/cnab/app"

// Mixin runs exec steps and answers the mixin protocol. Create it with New.
type Mixin struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	// Debug prints the commands run and error-handling decisions to Err.
	Debug bool

	// OutputsDir is where step outputs are written, one file per output
	// (<app dir>/porter/outputs).
	OutputsDir string

	// Environ is the environment commands inherit; nil means os.Environ().
	Environ []string
}

// New returns a mixin on the process's streams that writes outputs under
// /cnab/app (or $STACKHUB_RUNTIME_ROOT/cnab/app).
func New(in io.Reader, out, errOut io.Writer) *Mixin {
	return &Mixin{
		In:         in,
		Out:        out,
		Err:        errOut,
		OutputsDir: filepath.Join(AppDir(os.Getenv(EnvRuntimeRoot)), "porter", "outputs"),
	}
}

// AppDir returns the bundle directory under root ("" means "/").
func AppDir(root string) string {
	if root == "" || root == "/" {
		return DefaultAppDir
	}
	return filepath.Join(root, DefaultAppDir)
}

func (m *Mixin) environ() []string {
	if m.Environ != nil {
		return m.Environ
	}
	return os.Environ()
}
