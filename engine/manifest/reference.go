package manifest

import (
	"errors"
	"fmt"
	"sort"

	"github.com/distribution/reference"
)

// ErrNoReference is returned by BundleReference when the manifest sets
// neither registry nor reference.
var ErrNoReference = errors.New("a registry or reference value must be provided")

// BundleReference returns the reference the bundle is published under
// (porter-compat.md 1.1): reference when set (a warning is recorded if
// registry is set too), with the default tag v<version> added when it has
// none; otherwise <registry>/<name>:v<version>. Only publishing needs it,
// so Validate does not call it. Errors wrap ErrInvalid.
func (m *Manifest) BundleReference() (string, error) {
	switch {
	case m.Reference != "":
		if m.Registry != "" {
			m.Warnings = append(m.Warnings, "WARNING: both registry and reference were provided; using reference "+m.Reference)
		}
		ref, err := reference.ParseNormalizedNamed(m.Reference)
		if err != nil {
			return "", m.fieldErr(m.nodes.top["reference"], "reference", fmt.Errorf("invalid bundle reference %s: %w", m.Reference, err))
		}
		if _, ok := ref.(reference.Tagged); ok {
			return m.Reference, nil
		}
		if _, ok := ref.(reference.Digested); ok {
			return "", m.fieldErr(m.nodes.top["reference"], "reference", fmt.Errorf("invalid bundle reference %s: a tag is required, not a digest", m.Reference))
		}
		if m.Version == "" {
			return "", m.fieldErr(m.nodes.top["version"], "version", errNoVersion)
		}
		return m.Reference + ":" + DefaultTag(m.Version), nil
	case m.Registry != "":
		if m.Version == "" {
			return "", m.fieldErr(m.nodes.top["version"], "version", errNoVersion)
		}
		s := m.Registry + "/" + m.Name + ":" + DefaultTag(m.Version)
		if _, err := reference.ParseNormalizedNamed(s); err != nil {
			return "", m.fieldErr(m.nodes.top["registry"], "registry", fmt.Errorf("invalid bundle reference %s: %w", s, err))
		}
		return s, nil
	default:
		return "", m.fieldErr(nil, "registry", ErrNoReference)
	}
}

func sortedImageAliases(images map[string]Image) []string {
	out := make([]string, 0, len(images))
	for k := range images {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
