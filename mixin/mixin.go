// Package mixin is StackHub's Porter mixin, "stackhub": it speaks Porter's
// mixin command-line protocol (version, schema, build, lint, install,
// upgrade, uninstall, invoke) and, inside an invocation image, assigns host
// ports, generates secrets and deploys the bundle's compose project through
// the Docker Engine API (package mixin/compose), writing Porter step
// outputs. It works both under StackHub (which passes leased ports in
// STACKHUB_CONTEXT) and unchanged under the Porter CLI. It must not import
// the engine, the service or cnab-go.
package mixin

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/ports"
)

// Version and Commit are stamped by the build (-ldflags -X).
var (
	Version = "v0.1.0"
	Commit  = ""
)

// Author is reported by the version command.
const Author = "StackHub Authors"

// Environment variables the mixin reads.
const (
	// EnvRoot overrides the bundle directory (/cnab/app), e.g. in tests.
	EnvRoot = "STACKHUB_MIXIN_ROOT"
)

// DefaultRoot is the bundle directory inside an invocation image.
const DefaultRoot = "/cnab/app"

// Defaults applied when neither the step nor the context says otherwise.
const (
	DefaultPrefix      = "stackhub"
	DefaultWaitTimeout = 2 * time.Minute
)

// Mixin runs the mixin's commands. Fields left nil get real defaults.
type Mixin struct {
	In       io.Reader
	Out, Err io.Writer
	// Root is the bundle directory: compose files are relative to it and
	// outputs go to Root/porter/outputs.
	Root string
	// Getenv reads the environment (os.Getenv by default).
	Getenv func(string) string
	// Docker is the Engine API; nil connects from the environment.
	Docker compose.Docker
	// Probe tells whether a host port can be bound; nil means ports.Probe.
	Probe func(port int, proto string) error
	// Holder describes what holds a host port; nil means ports.HostHolder.
	Holder func(port int, proto string) string
	// Rand is the source of generated secrets (crypto/rand by default).
	Rand io.Reader
}

// New returns a Mixin over the given streams and the process environment.
func New(stdin io.Reader, stdout, stderr io.Writer) *Mixin {
	return &Mixin{In: stdin, Out: stdout, Err: stderr}
}

func (m *Mixin) getenv(k string) string {
	if m.Getenv != nil {
		return m.Getenv(k)
	}
	return os.Getenv(k)
}

func (m *Mixin) root() string {
	if m.Root != "" {
		return m.Root
	}
	if r := m.getenv(EnvRoot); r != "" {
		return r
	}
	return DefaultRoot
}

func (m *Mixin) rand() io.Reader {
	if m.Rand != nil {
		return m.Rand
	}
	return rand.Reader
}

func (m *Mixin) docker() (compose.Docker, error) {
	if m.Docker != nil {
		return m.Docker, nil
	}
	c, err := compose.NewClient()
	if err != nil {
		return nil, err
	}
	m.Docker = c
	return c, nil
}

// context reads the service's context (engine/contract); absent or empty
// means plain Porter.
func (m *Mixin) context() (contract.Context, error) {
	c, err := contract.ParseContext(m.getenv(contract.ContextEnv))
	if err != nil {
		return c, &compose.UserError{Msg: err.Error(),
			HintMsg: "it must be a JSON object such as {\"ports\":{\"port\":9001}}", Err: err}
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	return c, nil
}

var invalidName = regexp.MustCompile(`[^a-z0-9_-]+`)

// installation returns the installation name, normalised to what compose
// accepts as a project name: PORTER_INSTALLATION_NAME, else the part of
// CNAB_INSTALLATION_NAME after its last "/".
func (m *Mixin) installation() (string, error) {
	name := m.getenv("PORTER_INSTALLATION_NAME")
	if name == "" {
		name = m.getenv("CNAB_INSTALLATION_NAME")
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
	}
	name = strings.Trim(invalidName.ReplaceAllString(strings.ToLower(name), "-"), "-_")
	if name == "" {
		return "", &compose.UserError{Msg: "no installation name",
			HintMsg: "Porter and StackHub set PORTER_INSTALLATION_NAME; set it when running the mixin by hand"}
	}
	return name, nil
}

func (m *Mixin) outputsDir() string { return filepath.Join(m.root(), "porter", "outputs") }

func (m *Mixin) writeOutput(name, value string) error {
	dir := m.outputsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write output %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
		return fmt.Errorf("write output %s: %w", name, err)
	}
	return nil
}

func (m *Mixin) finder(c contract.Context, s *Step) *ports.Finder {
	f := &ports.Finder{Min: c.PortMin, Max: c.PortMax, Probe: m.Probe, Holder: m.Holder}
	if s.PortRange != nil {
		if f.Min == 0 {
			f.Min = s.PortRange.Min.N
		}
		if f.Max == 0 {
			f.Max = s.PortRange.Max.N
		}
	}
	return f
}

func versionString() (string, string) {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 7 {
					commit = s.Value[:7]
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return Version, commit
}

// hinter is any error that knows its fix.
type hinter interface{ Hint() string }

// printError prints err once, as "Error: <msg>" and "Hint: <hint>".
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "Error: %v\n", err)
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "Hint: %s\n", h.Hint())
	} else if client.IsErrConnectionFailed(err) {
		fmt.Fprintln(w, "Hint: the stackhub mixin needs the Docker socket: declare `required: [docker]` in porter.yaml and run porter with --allow-docker-host-access")
	}
}
