package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/manifest"
)

// appIndexTTL bounds how long a catalog change (a directory source edited
// on disk) takes to show in searches; RefreshApps shows it at once.
const appIndexTTL = 30 * time.Second

// appIndex caches the catalog's search index.
type appIndex struct {
	mu    sync.Mutex
	ix    *catalog.Index
	built time.Time
}

// EntryOf describes a catalog app as the search index holds it.
func EntryOf(a App) catalog.Entry {
	e := catalog.Entry{Name: a.Name, Source: a.Source, Version: a.Version, Meta: a.Meta, Ports: make([]catalog.Port, 0, len(a.Ports))}
	// Apps built by hand (not from a manifest) carry only the flat fields.
	if e.Title.En == "" && e.Title.Zh == "" {
		e.Title.En = cmp.Or(a.Title, a.Name)
	}
	if e.Description.En == "" && e.Description.Zh == "" {
		e.Description.En = a.Description
	}
	e.Category = cmp.Or(e.Category, a.Category)
	for _, p := range a.Ports {
		e.Ports = append(e.Ports, catalog.Port{Name: p.Name, Service: p.Service, Target: p.Target, Protocol: p.Protocol, Host: p.Host, HostIP: p.HostIP})
	}
	return e
}

// index returns the catalog's search index, rebuilt when older than
// appIndexTTL.
func (e *Engine) index(ctx context.Context) (*catalog.Index, error) {
	e.apps.mu.Lock()
	defer e.apps.mu.Unlock()
	if e.apps.ix != nil && time.Since(e.apps.built) < appIndexTTL {
		return e.apps.ix, nil
	}
	apps, err := e.deps.Catalog.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list catalog: %w", err)
	}
	entries := make([]catalog.Entry, 0, len(apps))
	for _, a := range apps {
		entries = append(entries, EntryOf(a))
	}
	e.apps.ix, e.apps.built = catalog.NewIndex(entries), time.Now()
	return e.apps.ix, nil
}

// RefreshApps drops the cached catalog index: the next search reads the
// catalog's sources again.
func (e *Engine) RefreshApps() {
	e.apps.mu.Lock()
	e.apps.ix = nil
	e.apps.mu.Unlock()
}

// SearchApps answers one page of a catalog search.
func (e *Engine) SearchApps(ctx context.Context, q catalog.Query) (*catalog.Result, error) {
	q, err := q.Normalize()
	if err != nil {
		var qe *catalog.QueryError
		if errors.As(err, &qe) {
			return nil, NewUserError(ErrInvalid, qe.Msg, qe.Hint)
		}
		return nil, err
	}
	ix, err := e.index(ctx)
	if err != nil {
		return nil, err
	}
	res := ix.Search(q)
	return &res, nil
}

// AppDetail is everything the catalog says about one app: its entry, the
// parameters an install form asks for, its outputs and its README.
type AppDetail struct {
	catalog.Entry
	Parameters []catalog.Param
	Outputs    []catalog.Output
	// Readme is the bundle's README.md (Markdown); empty when it has none.
	Readme string
	// Sources names every source offering an app of this name.
	Sources []string
	// Permissions is what the bundle asks of the host.
	Permissions *Permissions
}

// errUnknownApp says an app is not in the catalog.
func errUnknownApp(name string) error {
	return NewUserError(ErrNotFound, fmt.Sprintf("app %q is not in the catalog", name),
		"list the available apps with GET /api/v1/apps or `stackhub list --apps`")
}

// AppDetail describes the catalog app name. With two sources offering it,
// source picks one (empty: the one an install by name takes).
func (e *Engine) AppDetail(ctx context.Context, name, source string) (*AppDetail, error) {
	if err := ValidateName("appName", name); err != nil {
		return nil, err
	}
	ix, err := e.index(ctx)
	if err != nil {
		return nil, err
	}
	entries := ix.Get(name)
	if len(entries) == 0 {
		return nil, errUnknownApp(name)
	}
	d := &AppDetail{Entry: entries[0]}
	for _, en := range entries {
		d.Sources = append(d.Sources, en.Source)
		if en.Source == source {
			d.Entry = en
		}
	}
	if source != "" && d.Source != source {
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("source %q offers no app %q", source, name),
			"it is offered by "+strings.Join(d.Sources, ", "))
	}
	fsys, err := e.openFrom(ctx, d.Source, name)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, "porter.yaml")
	if err != nil {
		return nil, fmt.Errorf("read app %q: %w", name, err)
	}
	m, err := manifest.Parse(data, name+"/porter.yaml")
	if err != nil {
		return nil, fmt.Errorf("read app %q: %w", name, err)
	}
	d.Parameters, d.Outputs = catalog.Params(m), catalog.Outputs(m)
	d.Permissions = BundlePermissions(fsys, m)
	if readme, err := fs.ReadFile(fsys, "README.md"); err == nil {
		d.Readme = string(readme)
	}
	return d, nil
}

// AppIcon is an app's icon file.
type AppIcon struct {
	Data        []byte
	ContentType string
	// ETag is a strong entity tag of Data, quoted.
	ETag string
}

// maxIconSize bounds an icon file.
const maxIconSize = 256 << 10

// AppIcon returns the catalog app's SVG icon.
func (e *Engine) AppIcon(ctx context.Context, name string) (*AppIcon, error) {
	if err := ValidateName("appName", name); err != nil {
		return nil, err
	}
	ix, err := e.index(ctx)
	if err != nil {
		return nil, err
	}
	entries := ix.Get(name)
	if len(entries) == 0 {
		return nil, errUnknownApp(name)
	}
	file := entries[0].Icon
	noIcon := NewUserError(ErrNotFound, fmt.Sprintf("app %q has no icon", name), "its bundle names no icon.svg in custom.stackhub.icon")
	if file == "" || !fs.ValidPath(file) || path.Ext(file) != ".svg" {
		return nil, noIcon
	}
	fsys, err := e.openFrom(ctx, entries[0].Source, name)
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noIcon
	}
	if err != nil {
		return nil, fmt.Errorf("open icon of %q: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIconSize+1))
	if err != nil {
		return nil, fmt.Errorf("read icon of %q: %w", name, err)
	}
	if len(data) > maxIconSize || !bytes.Contains(data, []byte("<svg")) {
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("the icon of app %q is not an SVG image of at most 256 kB", name), "fix the bundle's icon.svg")
	}
	sum := sha256.Sum256(data)
	return &AppIcon{Data: data, ContentType: "image/svg+xml", ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}, nil
}

// openFrom opens an app of one source when the catalog has several.
func (e *Engine) openFrom(ctx context.Context, source, name string) (fs.FS, error) {
	if sc, ok := e.deps.Catalog.(SourceCatalog); ok {
		return sc.OpenFrom(ctx, source, name)
	}
	return e.deps.Catalog.Open(ctx, name)
}

// sourceCatalog returns the catalog's sources, or says this server's
// catalog has a fixed one.
func (e *Engine) sourceCatalog() (SourceCatalog, error) {
	sc, ok := e.deps.Catalog.(SourceCatalog)
	if !ok {
		return nil, NewUserError(ErrUnavailable, "this server's catalog has a single fixed source", "")
	}
	return sc, nil
}

// CatalogSources lists the catalog's sources.
func (e *Engine) CatalogSources(ctx context.Context) ([]CatalogSource, error) {
	sc, err := e.sourceCatalog()
	if err != nil {
		return nil, err
	}
	return sc.Sources(ctx)
}

// AddCatalogSource adds a folder of bundle folders on the server as a
// catalog source; its apps show at once.
func (e *Engine) AddCatalogSource(ctx context.Context, name, path string) (*CatalogSource, error) {
	sc, err := e.sourceCatalog()
	if err != nil {
		return nil, err
	}
	src, err := sc.AddSource(ctx, name, path)
	if err != nil {
		return nil, err
	}
	e.RefreshApps()
	return src, nil
}

// RemoveCatalogSource forgets an added source (its folder is kept).
func (e *Engine) RemoveCatalogSource(ctx context.Context, name string) error {
	sc, err := e.sourceCatalog()
	if err != nil {
		return err
	}
	if err := sc.RemoveSource(ctx, name); err != nil {
		return err
	}
	e.RefreshApps()
	return nil
}

// RefreshCatalog reads every source again and returns them.
func (e *Engine) RefreshCatalog(ctx context.Context) ([]CatalogSource, error) {
	e.RefreshApps()
	if _, err := e.index(ctx); err != nil {
		return nil, err
	}
	return e.CatalogSources(ctx)
}
