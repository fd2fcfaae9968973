package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Catalog is where installable apps (bundle folders) come from.
type Catalog interface {
	// List returns every app, sorted by name.
	List(ctx context.Context) ([]App, error)
	// Open returns the app's bundle folder (porter.yaml at its root);
	// ErrNotFound if the catalog has no such app.
	Open(ctx context.Context, name string) (fs.FS, error)
}

// DirCatalog is a catalog read from a folder of bundle folders: each
// sub-folder holding a porter.yaml is one app, named after the folder.
type DirCatalog struct {
	fsys fs.FS
}

var _ Catalog = (*DirCatalog)(nil)

// NewDirCatalog returns a catalog over fsys.
func NewDirCatalog(fsys fs.FS) *DirCatalog { return &DirCatalog{fsys: fsys} }

// List returns every app whose manifest parses; broken bundles are skipped
// (bundle lint reports them).
func (c *DirCatalog) List(ctx context.Context) ([]App, error) {
	entries, err := fs.ReadDir(c.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	var apps []App
	for _, e := range entries {
		if !e.IsDir() || ValidateName("app", e.Name()) != nil {
			continue
		}
		data, err := fs.ReadFile(c.fsys, e.Name()+"/porter.yaml")
		if err != nil {
			continue
		}
		m, err := manifest.Parse(data, e.Name()+"/porter.yaml")
		if err != nil {
			continue
		}
		apps = append(apps, AppFromManifest(e.Name(), m))
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps, nil
}

// Open returns one app's bundle folder.
func (c *DirCatalog) Open(ctx context.Context, name string) (fs.FS, error) {
	if err := ValidateName("appName", name); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(c.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("open app %q: %w", name, err)
	}
	if _, err := fs.Stat(sub, "porter.yaml"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, NewUserError(ErrNotFound, fmt.Sprintf("app %q is not in the catalog", name),
				"list the available apps with `stackhub list --apps` or GET /api/v1/apps")
		}
		return nil, fmt.Errorf("open app %q: %w", name, err)
	}
	return sub, nil
}

// AppFromManifest describes a catalog app from its manifest.
func AppFromManifest(name string, m *manifest.Manifest) App {
	a := App{Name: name, Version: m.Version, Description: m.Description, Custom: m.Custom, Ports: PortSpecs(m)}
	if m.Custom != nil {
		if s, ok := m.Custom["title"].(string); ok {
			a.Title = s
		}
		if s, ok := m.Custom["category"].(string); ok {
			a.Category = s
		}
	}
	if a.Title == "" {
		a.Title = name
	}
	return a
}

// PortSpecs returns the named ports the stackhub mixin steps of the install
// action ask for.
func PortSpecs(m *manifest.Manifest) []PortSpec {
	var out []PortSpec
	seen := map[string]bool{}
	for _, s := range m.Actions[manifest.ActionInstall] {
		if s.Mixin != "stackhub" {
			continue
		}
		list, _ := s.Data["ports"].([]any)
		for _, item := range list {
			pm, ok := item.(map[string]any)
			if !ok {
				continue
			}
			p := PortSpec{
				Name:     str(pm["name"]),
				Service:  str(pm["service"]),
				Target:   num(pm["target"]),
				Protocol: str(pm["protocol"]),
				Host:     num(pm["host"]),
			}
			if p.Protocol == "" {
				p.Protocol = "tcp"
			}
			if p.Name == "" || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case uint64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}
