package compose

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Port is a named port declared by a bundle, with the host port assigned to
// it. Its published mapping replaces whatever the compose file says for the
// same service, target and protocol.
type Port struct {
	Name     string
	Service  string
	Target   int
	Protocol string // tcp (default) or udp
	Host     int
	HostIP   string // empty: all interfaces
}

// Options say which compose project to load and how to name what it creates.
type Options struct {
	// Project is the compose project name and the main container's name,
	// e.g. "stackhub-wiki".
	Project string
	// Installation is the installation name, recorded as a label.
	Installation string
	// WorkingDir resolves relative compose files, env_file and .env.
	WorkingDir string
	// Files are the compose files, merged in order.
	Files []string
	// Env holds interpolation variables; they win over the process
	// environment and the .env file.
	Env map[string]string
	// Main is the main service; empty means the first service of the
	// first file.
	Main string
	// Ports are the declared ports with their assigned host ports.
	Ports []Port
	// Mirror, when set, says where a missing image is pulled from first
	// (a registry mirror); the pulled image is then tagged with its own name.
	Mirror func(ref string) (string, bool)
}

// ContainerName returns the name of a service's container: the project name
// for the main service, "<project>-<service>" for companions.
func (o *Options) ContainerName(service string) string {
	if service == o.Main {
		return o.Project
	}
	return o.Project + "-" + service
}

func (o *Options) files() []string {
	out := make([]string, 0, len(o.Files))
	for _, f := range o.Files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(o.WorkingDir, f)
		}
		out = append(out, f)
	}
	return out
}

// Load reads and interpolates the compose files. When o.Main is empty it
// is set to the first service of the first file.
func Load(ctx context.Context, o *Options) (*types.Project, error) {
	files := o.files()
	if len(files) == 0 {
		return nil, &UserError{Msg: "no compose file given", HintMsg: "set compose: docker-compose.yml in the stackhub step"}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, &UserError{Msg: fmt.Sprintf("read compose file %s: %v", f, err),
				HintMsg: "compose paths are relative to the bundle directory (/cnab/app)", Err: err}
		}
	}
	env := make([]string, 0, len(o.Env))
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		env = append(env, k+"="+o.Env[k])
	}
	po, err := cli.NewProjectOptions(files,
		cli.WithName(o.Project),
		cli.WithWorkingDirectory(o.WorkingDir),
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithEnv(env),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load compose files: %w", err)
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("load compose files %v: %w", o.Files, err)
	}
	if len(p.Services) == 0 {
		return nil, &UserError{Msg: fmt.Sprintf("compose file %s defines no services", files[0]), HintMsg: "add at least one service"}
	}
	if o.Main == "" {
		first, err := firstService(files[0])
		if err != nil || first == "" {
			first = slices.Sorted(maps.Keys(p.Services))[0]
		}
		o.Main = first
	}
	if _, ok := p.Services[o.Main]; !ok {
		return nil, &UserError{Msg: fmt.Sprintf("main service %q is not defined in the compose file", o.Main),
			HintMsg: "set main: to one of " + fmt.Sprint(slices.Sorted(maps.Keys(p.Services)))}
	}
	for _, port := range o.Ports {
		if _, ok := p.Services[port.Service]; !ok {
			return nil, &UserError{Msg: fmt.Sprintf("port %q names service %q, which the compose file does not define", port.Name, port.Service),
				HintMsg: "set service: to one of " + fmt.Sprint(slices.Sorted(maps.Keys(p.Services)))}
		}
	}
	return p, nil
}

// firstService returns the first key under services: of a compose file.
func firstService(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var doc struct {
		Services yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", err
	}
	if doc.Services.Kind != yaml.MappingNode || len(doc.Services.Content) == 0 {
		return "", nil
	}
	return doc.Services.Content[0].Value, nil
}

// order returns the project's services so that every service comes after
// the services it depends on; ties are broken by name.
func order(p *types.Project) ([]string, error) {
	names := slices.Sorted(maps.Keys(p.Services))
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("services depend on each other in a cycle: %v", append(path, n))
		case 2:
			return nil
		}
		state[n] = 1
		deps := slices.Collect(maps.Keys(p.Services[n].DependsOn))
		sort.Strings(deps)
		for _, d := range deps {
			if _, ok := p.Services[d]; !ok {
				if p.Services[n].DependsOn[d].Required {
					return fmt.Errorf("service %q depends on undefined service %q", n, d)
				}
				continue
			}
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
