package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine/catalog"
)

// A registry source is the catalog index `stackhub catalog publish` pushes
// beside the bundles (<registry>/stackhub-catalog:latest). Its apps are
// listed from the index; installing one pulls the published bundle by its
// digest-pinned reference, as an install by reference does.

// SourceKindRegistry is the kind of a source read from a registry's index.
const SourceKindRegistry = "registry"

// registryScheme starts the path of a registry source: oci://HOST[:PORT][/PATH].
const registryScheme = "oci://"

// IndexFetcher reads the catalog index at ref (Engine.FetchCatalogIndex).
type IndexFetcher func(ctx context.Context, ref string, insecure bool) (*CatalogIndex, string, error)

// How long a registry's index is used before it is read again, and how
// long reading it may take (a catalog listing waits for it).
const (
	indexTTL     = time.Minute
	indexTimeout = 5 * time.Second
)

// registryIndexes caches the indexes of registry sources.
type registryIndexes struct {
	mu    sync.Mutex
	fetch IndexFetcher
	byRef map[string]cachedIndex
}

type cachedIndex struct {
	index *CatalogIndex
	err   error
	at    time.Time
}

// UseIndexFetcher lets the sources read registry catalogs; without one,
// registry sources report that they cannot be read.
func (s *Sources) UseIndexFetcher(f IndexFetcher) {
	s.indexes.mu.Lock()
	defer s.indexes.mu.Unlock()
	s.indexes.fetch = f
	s.indexes.byRef = map[string]cachedIndex{}
}

// isRegistryPath reports whether a source path names a registry.
func isRegistryPath(path string) bool { return strings.HasPrefix(path, registryScheme) }

// indexReference is the index's reference for a registry source path.
func indexReference(path string) string {
	return CatalogIndexReference(strings.TrimSuffix(strings.TrimPrefix(path, registryScheme), "/"), "")
}

// index returns the registry's index, from the cache while it is fresh.
func (s *Sources) index(ctx context.Context, path string, insecure bool) (*CatalogIndex, error) {
	ref := indexReference(path)
	s.indexes.mu.Lock()
	fetch := s.indexes.fetch
	c, ok := s.indexes.byRef[ref]
	s.indexes.mu.Unlock()
	if fetch == nil {
		return nil, NewUserError(ErrUnavailable, "this StackHub cannot read registry catalogs", "")
	}
	if ok && time.Since(c.at) < indexTTL {
		return c.index, c.err
	}
	fctx, cancel := context.WithTimeout(ctx, indexTimeout)
	defer cancel()
	idx, _, err := fetch(fctx, ref, insecure)
	s.indexes.mu.Lock()
	s.indexes.byRef[ref] = cachedIndex{index: idx, err: err, at: time.Now()}
	s.indexes.mu.Unlock()
	return idx, err
}

// registryApps lists a registry source's apps from its index.
func (s *Sources) registryApps(ctx context.Context, src sourceSpec) ([]App, error) {
	idx, err := s.index(ctx, src.Path, src.Insecure)
	if err != nil {
		return nil, err
	}
	apps := make([]App, 0, len(idx.Bundles))
	for _, b := range idx.Bundles {
		if ValidateName("app", b.Name) != nil {
			continue
		}
		apps = append(apps, appFromIndex(b, src.Name))
	}
	return apps, nil
}

// appFromIndex describes a published bundle from its index entry.
func appFromIndex(b CatalogIndexEntry, source string) App {
	custom := map[string]any{}
	if len(b.StackHub) > 0 {
		var v any
		if json.Unmarshal(b.StackHub, &v) == nil {
			custom[catalog.Key] = v
		}
	}
	for k, raw := range b.Legacy {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			custom[k] = v
		}
	}
	meta := catalog.MetaFrom(custom, b.Name, b.Description)
	return App{Name: b.Name, Version: b.Version, Title: meta.Title.In("en"), Description: meta.Description.In("en"),
		Category: meta.Category, Custom: custom, Meta: meta, Source: source}
}

// BundleReference tells whether the app comes from a registry source (the
// base catalog and folder sources first, as Open decides) and, if so, the
// digest-pinned reference to install it from.
func (s *Sources) BundleReference(ctx context.Context, name string) (ref string, insecure, ok bool) {
	if _, err := s.base.Open(ctx, name); err == nil {
		return "", false, false
	}
	for _, d := range s.dirs() {
		if _, err := d.catalog().Open(ctx, name); err == nil {
			return "", false, false
		}
	}
	for _, src := range s.registrySources() {
		idx, err := s.index(ctx, src.Path, src.Insecure)
		if err != nil {
			continue
		}
		for _, b := range idx.Bundles {
			if b.Name == name {
				if b.Digest != "" {
					return b.Reference + "@" + b.Digest, src.Insecure, true
				}
				return b.Reference, src.Insecure, true
			}
		}
	}
	return "", false, false
}

// Registries lists the registries (HOST[:PORT][/PATH]) of the registry
// sources: an admin chose them, so installs may pull from them.
func (s *Sources) Registries() []string {
	var out []string
	for _, src := range s.registrySources() {
		out = append(out, strings.TrimPrefix(src.Path, registryScheme))
	}
	return out
}

// registrySources returns the added registry sources, by name.
func (s *Sources) registrySources() []sourceSpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sourceSpec
	for _, a := range s.added {
		if isRegistryPath(a.Path) {
			out = append(out, a)
		}
	}
	return out
}

// addRegistrySource checks that the registry publishes an index and
// returns the source to remember.
func (s *Sources) addRegistrySource(ctx context.Context, name, path string, insecure bool) (*CatalogSource, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(path, registryScheme), "/")
	if host == "" || strings.ContainsAny(host, " @") || strings.Contains(host, ":latest") {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("%q is not a registry", path), "give oci://HOST[:PORT][/PATH], where stackhub catalog publish pushed the bundles")
	}
	path = registryScheme + host
	idx, err := s.index(ctx, path, insecure)
	if err != nil {
		// A failed read is not remembered for the next try.
		s.indexes.mu.Lock()
		delete(s.indexes.byRef, indexReference(path))
		s.indexes.mu.Unlock()
		return nil, &UserError{Msg: fmt.Sprintf("read the catalog index of %s: %v", host, err), Kind: ErrInvalid, Err: err,
			Hint: "publish one there with stackhub catalog publish DIR --registry " + host + " (or make the registry reachable)"}
	}
	return &CatalogSource{Name: name, Kind: SourceKindRegistry, Path: path, Apps: len(idx.Bundles), Added: true}, nil
}
