package cnab

import (
	"bytes"
	"fmt"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Converter is the engine.BundleConverter over Convert: it writes the
// canonical bundle.json of a manifest.
type Converter struct{}

var _ engine.BundleConverter = Converter{}

// Convert returns the canonical bundle.json of m.
func (Converter) Convert(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) {
	mixins := map[string]string{}
	for _, d := range m.Mixins {
		mixins[d.Name] = req.Version
	}
	b, err := Convert(m, ConvertOptions{
		InvocationImage: req.InvocationImage,
		ManifestDigest:  req.ManifestDigest,
		MixinVersions:   mixins,
		StackHubVersion: req.Version,
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("write bundle.json: %w", err)
	}
	return buf.Bytes(), nil
}
