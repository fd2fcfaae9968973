package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Source kinds.
const (
	SourceKindBuiltin = "builtin"
	SourceKindDir     = "dir"
)

// CatalogSource is one place catalog apps come from.
type CatalogSource struct {
	Name string `json:"name"`
	// Kind is builtin (the catalog StackHub serves by default, or its
	// --catalog folder) or dir (a folder of bundle folders).
	Kind string `json:"kind"`
	Path string `json:"path,omitempty"`
	// Apps counts the apps it offers now.
	Apps int `json:"apps"`
	// Added is true for sources added by name (catalog add); the others
	// are the base catalog and the folders under <data>/catalogs, where
	// `stackhub catalog import` writes.
	Added bool `json:"added"`
	// Error says why the source cannot be read now; its apps are left out.
	Error string `json:"error,omitempty"`
}

// SourceCatalog is a catalog of several named sources that can be listed,
// added and removed. Sources implements it.
type SourceCatalog interface {
	Catalog
	Sources(ctx context.Context) ([]CatalogSource, error)
	AddSource(ctx context.Context, name, path string) (*CatalogSource, error)
	RemoveSource(ctx context.Context, name string) error
	// OpenFrom opens the app name of one source.
	OpenFrom(ctx context.Context, source, name string) (fs.FS, error)
}

// Sources is a catalog made of a base catalog (the built-in one, or the
// folder given with --catalog), every folder under <data>/catalogs, and
// folders added by name, which are remembered in
// <data>/catalog-sources.json. Two sources may offer apps of the same
// name: List returns both; Open takes the base catalog's, then the first
// source's by name.
type Sources struct {
	base    *DirCatalog
	dataDir string

	mu    sync.Mutex
	added []sourceSpec

	indexes registryIndexes
}

var _ SourceCatalog = (*Sources)(nil)

type sourceSpec struct {
	Name string `json:"name"`
	// Path is a folder, or oci://HOST[:PORT][/PATH] for a registry.
	Path     string `json:"path"`
	Insecure bool   `json:"insecure,omitempty"`
}

// NewSources returns the sources over base and dataDir (empty: base only).
func NewSources(base *DirCatalog, dataDir string) (*Sources, error) {
	s := &Sources{base: base, dataDir: dataDir}
	if dataDir == "" {
		return s, nil
	}
	data, err := os.ReadFile(s.file())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read catalog sources: %w", err)
	default:
		if err := json.Unmarshal(data, &s.added); err != nil {
			return nil, NewUserError(ErrInvalid, fmt.Sprintf("catalog sources file %s is not valid JSON: %v", s.file(), err),
				"fix or delete it; it lists the sources added with stackhub catalog add")
		}
	}
	return s, nil
}

func (s *Sources) file() string { return filepath.Join(s.dataDir, "catalog-sources.json") }

// CatalogsDir is the folder whose sub-folders are catalog sources.
func CatalogsDir(dataDir string) string { return filepath.Join(dataDir, "catalogs") }

// dirSource is one folder source.
type dirSource struct {
	name, path string
	added      bool
}

// dirs returns the folder sources, by name.
func (s *Sources) dirs() []dirSource {
	s.mu.Lock()
	out := make([]dirSource, 0, len(s.added))
	for _, a := range s.added {
		if !isRegistryPath(a.Path) {
			out = append(out, dirSource{name: a.Name, path: a.Path, added: true})
		}
	}
	s.mu.Unlock()
	if s.dataDir != "" {
		entries, _ := os.ReadDir(CatalogsDir(s.dataDir))
		for _, e := range entries {
			if e.IsDir() && ValidateName("source", e.Name()) == nil && !slices.ContainsFunc(out, func(d dirSource) bool { return d.name == e.Name() }) {
				out = append(out, dirSource{name: e.Name(), path: filepath.Join(CatalogsDir(s.dataDir), e.Name())})
			}
		}
	}
	slices.SortFunc(out, func(a, b dirSource) int { return cmp.Compare(a.name, b.name) })
	return out
}

func (d dirSource) catalog() *DirCatalog {
	return NewDirCatalog(os.DirFS(d.path)).WithSource(d.name)
}

// List returns every source's apps; a folder that cannot be read is left
// out (Sources says why).
func (s *Sources) List(ctx context.Context) ([]App, error) {
	apps, err := s.base.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range s.dirs() {
		more, err := d.catalog().List(ctx)
		if err != nil {
			continue
		}
		apps = append(apps, more...)
	}
	for _, src := range s.registrySources() {
		more, err := s.registryApps(ctx, src)
		if err != nil {
			continue
		}
		apps = append(apps, more...)
	}
	return apps, nil
}

// Open returns the app's folder from the base catalog, else from the
// first source offering it.
func (s *Sources) Open(ctx context.Context, name string) (fs.FS, error) {
	fsys, err := s.base.Open(ctx, name)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return fsys, err
	}
	for _, d := range s.dirs() {
		if f, derr := d.catalog().Open(ctx, name); derr == nil {
			return f, nil
		}
	}
	return nil, err
}

// OpenFrom returns the app's folder from the named source.
func (s *Sources) OpenFrom(ctx context.Context, source, name string) (fs.FS, error) {
	if source == "" || source == s.base.source {
		return s.base.Open(ctx, name)
	}
	for _, d := range s.dirs() {
		if d.name == source {
			return d.catalog().Open(ctx, name)
		}
	}
	for _, src := range s.registrySources() {
		if src.Name == source {
			return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s of source %s is published in a registry: its folder is not on this server", name, source),
				"install it; its details come from the registry's catalog index")
		}
	}
	return nil, NewUserError(ErrNotFound, fmt.Sprintf("there is no catalog source %q", source), "list the sources with stackhub catalog list")
}

// Sources describes every source with the number of apps it offers.
func (s *Sources) Sources(ctx context.Context) ([]CatalogSource, error) {
	apps, err := s.base.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []CatalogSource{{Name: s.base.source, Kind: SourceKindBuiltin, Apps: len(apps)}}
	for _, d := range s.dirs() {
		src := CatalogSource{Name: d.name, Kind: SourceKindDir, Path: d.path, Added: d.added}
		if st, err := os.Stat(d.path); err != nil || !st.IsDir() {
			src.Error = "the folder is missing or unreadable"
		} else if more, err := d.catalog().List(ctx); err != nil {
			src.Error = err.Error()
		} else {
			src.Apps = len(more)
		}
		out = append(out, src)
	}
	for _, r := range s.registrySources() {
		src := CatalogSource{Name: r.Name, Kind: SourceKindRegistry, Path: r.Path, Added: true}
		if apps, err := s.registryApps(ctx, r); err != nil {
			src.Error = err.Error()
		} else {
			src.Apps = len(apps)
		}
		out = append(out, src)
	}
	return out, nil
}

// AddSource adds the folder path (absolute, holding bundle folders) as the
// source name and remembers it.
func (s *Sources) AddSource(ctx context.Context, name, path string) (*CatalogSource, error) {
	if err := ValidateName("source", name); err != nil {
		return nil, err
	}
	if s.dataDir == "" {
		return nil, NewUserError(ErrUnavailable, "this server keeps no catalog sources", "start it with a --data folder")
	}
	if isRegistryPath(path) {
		src, err := s.addRegistrySource(ctx, name, path, false)
		if err != nil {
			return nil, err
		}
		if err := s.remember(name, src.Path); err != nil {
			return nil, err
		}
		return src, nil
	}
	if !filepath.IsAbs(path) {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("source path %q is not absolute", path), "give the folder's full path on the server")
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("%s is not a folder the server can read", path), "give a folder of bundle folders (each holding a porter.yaml)")
	}
	apps, err := NewDirCatalog(os.DirFS(path)).List(ctx)
	if err != nil {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("read %s: %v", path, err), "give a folder of bundle folders (each holding a porter.yaml)")
	}
	if len(apps) == 0 {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("%s holds no bundle folders", path), "each app is a sub-folder holding a porter.yaml")
	}
	if err := s.remember(name, filepath.Clean(path)); err != nil {
		return nil, err
	}
	return &CatalogSource{Name: name, Kind: SourceKindDir, Path: filepath.Clean(path), Apps: len(apps), Added: true}, nil
}

// remember adds the source name at path to the saved list, unless the
// name is taken.
func (s *Sources) remember(name, path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == s.base.source {
		return NewUserError(ErrConflict, fmt.Sprintf("source %q is the base catalog", name), "choose another name")
	}
	for _, a := range s.added {
		if a.Name == name {
			return NewUserError(ErrConflict, fmt.Sprintf("there is already a catalog source %q (%s)", name, a.Path), "remove it first, or choose another name")
		}
	}
	if st, err := os.Stat(filepath.Join(CatalogsDir(s.dataDir), name)); err == nil && st.IsDir() {
		return NewUserError(ErrConflict, fmt.Sprintf("there is already a catalog source %q (an imported store)", name), "choose another name")
	}
	next := append(slices.Clone(s.added), sourceSpec{Name: name, Path: path})
	if err := s.save(next); err != nil {
		return err
	}
	s.added = next
	return nil
}

// RemoveSource forgets an added source; its folder is left alone.
// Imported stores under <data>/catalogs go when their folder is deleted.
func (s *Sources) RemoveSource(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.added, func(a sourceSpec) bool { return a.Name == name })
	if i < 0 {
		if name == s.base.source {
			return NewUserError(ErrInvalid, fmt.Sprintf("source %q is the base catalog and cannot be removed", name), "")
		}
		if s.dataDir != "" {
			dir := filepath.Join(CatalogsDir(s.dataDir), name)
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				return NewUserError(ErrInvalid, fmt.Sprintf("source %q is the imported store in %s", name, dir),
					"delete that folder to remove it (StackHub does not delete it for you)")
			}
		}
		return NewUserError(ErrNotFound, fmt.Sprintf("there is no catalog source %q", name), "list the sources with stackhub catalog list")
	}
	next := slices.Delete(slices.Clone(s.added), i, i+1)
	if err := s.save(next); err != nil {
		return err
	}
	s.added = next
	return nil
}

// save writes the added sources atomically.
func (s *Sources) save(list []sourceSpec) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("save catalog sources: %w", err)
	}
	tmp := s.file() + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save catalog sources: %w", err)
	}
	if err := os.Rename(tmp, s.file()); err != nil {
		return fmt.Errorf("save catalog sources: %w", err)
	}
	return nil
}
