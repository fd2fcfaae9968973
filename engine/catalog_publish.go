package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Catalog index artifact (docs/publishing.md).
const (
	// CatalogIndexMediaType is the media type of the index document, the
	// artifactType of the OCI artifact that carries it.
	CatalogIndexMediaType = "application/vnd.stackhub.catalog.index.v1+json"
	// CatalogIndexRepository is the repository the index is pushed to, beside
	// the bundles: <registry>/stackhub-catalog:<tag>.
	CatalogIndexRepository = "stackhub-catalog"
	// CatalogIndexSchemaVersion is the index document's schemaVersion.
	CatalogIndexSchemaVersion = "1.0.0"
)

// CatalogIndex lists every bundle published to a registry.
type CatalogIndex struct {
	SchemaVersion string `json:"schemaVersion"`
	// Registry is where the bundles live (HOST[:PORT][/PATH]).
	Registry string              `json:"registry"`
	Bundles  []CatalogIndexEntry `json:"bundles"`
}

// CatalogIndexEntry is one published bundle.
type CatalogIndexEntry struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Reference is the bundle's tag; Digest pins its OCI index, so
	// Reference@Digest is immutable.
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	// StackHub is bundle.json's custom.stackhub, verbatim (catalog metadata:
	// title, description, category, ...).
	StackHub json.RawMessage `json:"stackhub,omitempty"`
	// Legacy holds the flat custom keys older bundles carry instead (title,
	// description, category, website, appVersion), verbatim.
	Legacy map[string]json.RawMessage `json:"legacy,omitempty"`
}

// CatalogPublishOptions asks for every bundle of a folder to be published.
type CatalogPublishOptions struct {
	// Dir holds one bundle folder (with a porter.yaml) per app.
	Dir fs.FS
	// Registry is HOST[:PORT][/PATH]; bundles go to <Registry>/<name>:v<version>.
	Registry string
	// IndexTag tags the index: <Registry>/stackhub-catalog:<IndexTag>
	// (default latest).
	IndexTag string
	// Force republishes bundles whose tag exists; without it they are kept
	// as published and listed with their digest.
	Force    bool
	Insecure bool
	// Progress, if set, gets one line per bundle.
	Progress func(line string)
}

// CatalogPublishResult is what PublishCatalog did.
type CatalogPublishResult struct {
	Index          *CatalogIndex `json:"index"`
	IndexReference string        `json:"indexReference"`
	IndexDigest    string        `json:"indexDigest"`
	// Kept lists bundles whose tag already existed and were not pushed.
	Kept []string `json:"kept,omitempty"`
}

// Validate checks the options.
func (o *CatalogPublishOptions) Validate() error {
	if o.Dir == nil {
		return NewUserError(ErrInvalid, "publishing a catalog needs a folder of bundle folders", "pass the folder, for example bundles")
	}
	reg := strings.TrimSuffix(o.Registry, "/")
	if reg == "" || strings.ContainsAny(reg, "@ ") || strings.Contains(reg, "://") || strings.Contains(path.Base(reg), ":") && strings.Contains(reg, "/") {
		return NewUserError(ErrInvalid, fmt.Sprintf("registry %q is not valid", o.Registry),
			"pass HOST[:PORT][/PATH] without a tag or scheme, for example localhost:5000 or ghcr.io/owner")
	}
	if o.IndexTag == "" {
		o.IndexTag = "latest"
	}
	if strings.ContainsAny(o.IndexTag, ":@/") {
		return NewUserError(ErrInvalid, fmt.Sprintf("index tag %q must be a plain tag", o.IndexTag), "for example latest or v1.2.0")
	}
	o.Registry = reg
	return nil
}

// CatalogIndexReference is where the index of registry is published.
func CatalogIndexReference(registry, tag string) string {
	if tag == "" {
		tag = "latest"
	}
	return strings.TrimSuffix(registry, "/") + "/" + CatalogIndexRepository + ":" + tag
}

// PublishCatalog builds and publishes every bundle folder of opts.Dir to
// opts.Registry, then pushes the catalog index beside them. A bundle that
// fails stops it before the index is pushed, so the published index never
// lists a bundle that is not there.
func (e *Engine) PublishCatalog(ctx context.Context, opts CatalogPublishOptions) (*CatalogPublishResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(opts.Dir, ".")
	if err != nil {
		return nil, fmt.Errorf("read catalog folder: %w", err)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	res := &CatalogPublishResult{Index: &CatalogIndex{SchemaVersion: CatalogIndexSchemaVersion, Registry: opts.Registry, Bundles: []CatalogIndexEntry{}}}
	for _, de := range entries {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		sub, err := fs.Sub(opts.Dir, de.Name())
		if err != nil {
			return nil, err
		}
		if _, err := fs.Stat(sub, "porter.yaml"); err != nil {
			continue
		}
		m, err := e.loadManifest(sub, de.Name())
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", de.Name(), err)
		}
		ref, _, err := ParseBundleReference(publishReference(m, opts.Registry, ""))
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", de.Name(), err)
		}
		exists := false
		if !opts.Force {
			if exists, err = reg.Exists(ctx, ref, opts.Insecure); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", de.Name(), err)
			}
		}
		if exists {
			progress(fmt.Sprintf("%s exists, kept (bump the bundle's version, or pass --force to overwrite it)", ref))
			res.Kept = append(res.Kept, ref)
		} else {
			if _, err := e.Publish(ctx, PublishOptions{Dir: sub, Reference: ref, Force: true, Insecure: opts.Insecure}); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", de.Name(), err)
			}
		}
		pulled, err := reg.PullBundle(ctx, ref, opts.Insecure)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: read back %s: %w", de.Name(), ref, err)
		}
		entry, err := indexEntry(ref, pulled)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", de.Name(), err)
		}
		if !exists {
			progress(fmt.Sprintf("published %s@%s", ref, entry.Digest))
		}
		res.Index.Bundles = append(res.Index.Bundles, entry)
	}
	if len(res.Index.Bundles) == 0 {
		return nil, NewUserError(ErrInvalid, "the catalog folder holds no bundle folder (a folder with a porter.yaml)", "pass the folder of bundle folders, for example bundles")
	}
	sort.Slice(res.Index.Bundles, func(i, j int) bool { return res.Index.Bundles[i].Name < res.Index.Bundles[j].Name })
	data, err := json.MarshalIndent(res.Index, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode catalog index: %w", err)
	}
	res.IndexReference = CatalogIndexReference(opts.Registry, opts.IndexTag)
	if res.IndexDigest, err = reg.PushArtifact(ctx, res.IndexReference, CatalogIndexMediaType, "catalog.json", append(data, '\n'), opts.Insecure); err != nil {
		return nil, fmt.Errorf("push catalog index %s: %w", res.IndexReference, err)
	}
	progress(fmt.Sprintf("published the catalog index %s@%s (%d bundles)", res.IndexReference, res.IndexDigest, len(res.Index.Bundles)))
	return res, nil
}

// legacyKeys are the flat custom keys older bundles carry.
var legacyKeys = []string{"title", "description", "category", "website", "appVersion"}

func indexEntry(ref string, b *RemoteBundle) (CatalogIndexEntry, error) {
	var doc struct {
		Name        string                     `json:"name"`
		Version     string                     `json:"version"`
		Description string                     `json:"description"`
		Custom      map[string]json.RawMessage `json:"custom"`
	}
	if err := json.Unmarshal(b.BundleJSON, &doc); err != nil {
		return CatalogIndexEntry{}, fmt.Errorf("read bundle.json: %w", err)
	}
	e := CatalogIndexEntry{Name: doc.Name, Version: doc.Version, Description: doc.Description, Reference: ref, Digest: b.Digest,
		StackHub: doc.Custom["stackhub"]}
	for _, k := range legacyKeys {
		if v, ok := doc.Custom[k]; ok {
			if e.Legacy == nil {
				e.Legacy = map[string]json.RawMessage{}
			}
			e.Legacy[k] = v
		}
	}
	return e, nil
}

// FetchCatalogIndex reads the catalog index published at ref
// (<registry>/stackhub-catalog:<tag>).
func (e *Engine) FetchCatalogIndex(ctx context.Context, ref string, insecure bool) (*CatalogIndex, string, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, "", err
	}
	data, digest, err := reg.FetchArtifact(ctx, ref, CatalogIndexMediaType, insecure)
	if err != nil {
		return nil, "", fmt.Errorf("fetch catalog index %s: %w", ref, err)
	}
	var idx CatalogIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, "", fmt.Errorf("read catalog index %s: %w", ref, err)
	}
	if major, _, _ := strings.Cut(idx.SchemaVersion, "."); major != "1" {
		return nil, "", NewUserError(ErrInvalid, fmt.Sprintf("catalog index %s has schemaVersion %q; this StackHub reads %s", ref, idx.SchemaVersion, CatalogIndexSchemaVersion), "upgrade StackHub")
	}
	return &idx, digest, nil
}
