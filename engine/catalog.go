package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/stackhub/stackhub/engine/catalog"
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
	fsys   fs.FS
	source string
}

var _ Catalog = (*DirCatalog)(nil)

// NewDirCatalog returns a catalog over fsys.
// Its apps' Source is "builtin"; WithSource names another.
func NewDirCatalog(fsys fs.FS) *DirCatalog { return &DirCatalog{fsys: fsys, source: SourceBuiltin} }

// SourceBuiltin names the catalog built into the binary.
const SourceBuiltin = "builtin"

// WithSource returns c with its apps attributed to the source name.
func (c *DirCatalog) WithSource(name string) *DirCatalog {
	return &DirCatalog{fsys: c.fsys, source: name}
}

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
		a := AppFromManifest(e.Name(), m)
		a.Source = c.source
		apps = append(apps, a)
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
	meta := catalog.MetaFrom(m.Custom, name, m.Description)
	return App{Name: name, Version: m.Version, Title: meta.Title.In("en"), Description: meta.Description.In("en"),
		Category: meta.Category, Custom: m.Custom, Ports: PortSpecs(m), Meta: meta}
}

// PortSpecs returns the named ports the stackhub mixin steps of the install
// action ask for.
func PortSpecs(m *manifest.Manifest) []PortSpec {
	var out []PortSpec
	for _, p := range catalog.Ports(m) {
		out = append(out, PortSpec{Name: p.Name, Service: p.Service, Target: p.Target, Protocol: p.Protocol, Host: p.Host, HostIP: p.HostIP})
	}
	return out
}
