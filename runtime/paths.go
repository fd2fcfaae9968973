package runtime

import (
	"os"
	"path/filepath"
	"strings"
)

// EnvRoot relocates every absolute location the runtime uses under another
// directory, so that tests and local runs work outside a container.
const EnvRoot = "STACKHUB_RUNTIME_ROOT"

// Locations inside the invocation image (porter-compat.md 5.1, appendix A).
const (
	AppDir         = "/cnab/app"
	ManifestPath   = "/cnab/app/porter.yaml"
	BundlePath     = "/cnab/bundle.json"
	ClaimPath      = "/cnab/claim.json"
	RelocationPath = "/cnab/app/relocation-mapping.json"
	StatePath      = "/porter/state.tgz"
	OutputsDir     = "/cnab/app/outputs"
	StepOutputsDir = "/cnab/app/porter/outputs"
	StateOutput    = "porter-state"
)

// Paths maps the image's absolute locations under Root ("/" in a real
// invocation image).
type Paths struct {
	Root string
}

// DefaultPaths is rooted at $STACKHUB_RUNTIME_ROOT, or "/".
func DefaultPaths() Paths {
	root := os.Getenv(EnvRoot)
	if root == "" {
		root = "/"
	}
	return Paths{Root: root}
}

// Host returns where the image path p lives: absolute paths are joined to
// Root, relative ones to the bundle directory.
func (p Paths) Host(imagePath string) string {
	if !filepath.IsAbs(imagePath) {
		imagePath = filepath.Join(AppDir, strings.TrimPrefix(imagePath, "./"))
	}
	root := p.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, imagePath)
}

// AppDir is /cnab/app, the mixins' working directory.
func (p Paths) AppDir() string { return p.Host(AppDir) }

// Manifest is /cnab/app/porter.yaml.
func (p Paths) Manifest() string { return p.Host(ManifestPath) }

// Bundle is /cnab/bundle.json.
func (p Paths) Bundle() string { return p.Host(BundlePath) }

// Claim is /cnab/claim.json.
func (p Paths) Claim() string { return p.Host(ClaimPath) }

// RelocationMap is /cnab/app/relocation-mapping.json.
func (p Paths) RelocationMap() string { return p.Host(RelocationPath) }

// StateArchive is /porter/state.tgz, the state of the previous run.
func (p Paths) StateArchive() string { return p.Host(StatePath) }

// Outputs is /cnab/app/outputs, the bundle outputs CNAB collects.
func (p Paths) Outputs() string { return p.Host(OutputsDir) }

// StepOutputs is /cnab/app/porter/outputs, where mixins write step outputs.
func (p Paths) StepOutputs() string { return p.Host(StepOutputsDir) }

// Dependency is /cnab/app/dependencies/<alias>/bundle.json.
func (p Paths) Dependency(alias string) string {
	return p.Host(filepath.Join(AppDir, "dependencies", alias, "bundle.json"))
}

// MixinRuntime is /cnab/app/mixins/<name>/runtimes/<name>-runtime.
func (p Paths) MixinRuntime(name string) string {
	return p.Host(filepath.Join(AppDir, "mixins", name, "runtimes", name+"-runtime"))
}
