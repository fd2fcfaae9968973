package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
)

// bundleFile is the part of a CNAB bundle.json the runtime reads. The
// runtime decodes it itself: cnab-go stays confined to engine/cnab, and the
// in-image binary stays small.
type bundleFile struct {
	Name             string                    `json:"name"`
	Version          string                    `json:"version"`
	Description      string                    `json:"description"`
	InvocationImages []bundleImage             `json:"invocationImages"`
	Images           map[string]bundleImage    `json:"images"`
	Parameters       map[string]bundleParam    `json:"parameters"`
	Outputs          map[string]bundleOutput   `json:"outputs"`
	Definitions      map[string]map[string]any `json:"definitions"`
}

type bundleImage struct {
	ImageType     string            `json:"imageType"`
	Image         string            `json:"image"`
	ContentDigest string            `json:"contentDigest"`
	Description   string            `json:"description"`
	MediaType     string            `json:"mediaType"`
	Size          uint64            `json:"size"`
	Labels        map[string]string `json:"labels"`
}

type bundleParam struct {
	Definition  string   `json:"definition"`
	ApplyTo     []string `json:"applyTo"`
	Destination *struct {
		Env  string `json:"env"`
		Path string `json:"path"`
	} `json:"destination"`
}

type bundleOutput struct {
	Definition string   `json:"definition"`
	ApplyTo    []string `json:"applyTo"`
	Path       string   `json:"path"`
}

func loadBundle(path string) (*bundleFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle definition: %w", err)
	}
	var b bundleFile
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parse bundle definition %s: %w", path, err)
	}
	return &b, nil
}

// env returns a parameter's destination env var, "" if none.
func (p bundleParam) env() string {
	if p.Destination == nil {
		return ""
	}
	return p.Destination.Env
}

func (p bundleParam) path() string {
	if p.Destination == nil {
		return ""
	}
	return p.Destination.Path
}

// isFile reports whether a parameter's definition is a file: a base64
// encoded string.
func (b *bundleFile) isFile(p bundleParam) bool {
	def := b.Definitions[p.Definition]
	return def["type"] == "string" && def["contentEncoding"] == "base64"
}

// outputWriteOnly reports whether the bundle's output name is sensitive.
func (b *bundleFile) outputWriteOnly(name string) bool {
	o, ok := b.Outputs[name]
	if !ok {
		return false
	}
	w, _ := b.Definitions[o.Definition]["writeOnly"].(bool)
	return w
}

// loadRelocationMap reads the optional relocation mapping (original image
// reference → relocated reference).
func loadRelocationMap(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read relocation mapping: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse relocation mapping %s: %w", path, err)
	}
	return m, nil
}

// imageRef is a parsed image reference.
type imageRef struct {
	repository, tag, digest string
}

// parseImageRef splits [registry/]repo[:tag][@digest]. A colon only starts
// a tag after the last slash (registry ports are not tags).
func parseImageRef(ref string) imageRef {
	var r imageRef
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		r.digest = name[i+1:]
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		r.tag = name[i+1:]
		name = name[:i]
	}
	r.repository = name
	return r
}

// installerImage is the invocation image reference pinned to its content
// digest when bundle.json has one, then swapped through the relocation map.
func installerImage(b *bundleFile, relocation map[string]string) string {
	if len(b.InvocationImages) == 0 {
		return ""
	}
	ii := b.InvocationImages[0]
	image := ii.Image
	if ii.ContentDigest != "" && (ii.ImageType == "" || ii.ImageType == "docker" || ii.ImageType == "oci") {
		image = parseImageRef(ii.Image).repository + "@" + ii.ContentDigest
	}
	if relocated, ok := relocation[image]; ok {
		return relocated
	}
	if relocated, ok := relocation[ii.Image]; ok {
		return relocated
	}
	return image
}

// resolveImages builds bundle.images: the manifest's images, updated with
// the digests and references of bundle.json and then the relocation map.
func resolveImages(m *manifest.Manifest, b *bundleFile, relocation map[string]string) (map[string]any, error) {
	images := map[string]manifest.Image{}
	for alias, img := range m.Images {
		images[alias] = img
	}
	byRef := map[string]string{}
	for alias, bi := range b.Images {
		img, ok := images[alias]
		if !ok {
			return nil, fmt.Errorf("unable to find image in porter manifest: %s", alias)
		}
		if bi.ContentDigest != "" {
			img.Digest = bi.ContentDigest
		}
		if bi.Image != "" {
			applyRef(&img, bi.Image)
			byRef[bi.Image] = alias
		}
		images[alias] = img
	}
	for orig, relocated := range relocation {
		alias, ok := byRef[orig]
		if !ok {
			continue
		}
		img := images[alias]
		applyRef(&img, relocated)
		images[alias] = img
	}
	out := make(map[string]any, len(images))
	for alias, img := range images {
		labels := map[string]any{}
		for k, v := range img.Labels {
			labels[k] = v
		}
		out[alias] = map[string]any{
			"repository":  img.Repository,
			"digest":      img.Digest,
			"tag":         img.Tag,
			"imageType":   img.ImageType,
			"description": img.Description,
			"mediaType":   img.MediaType,
			"size":        strconv.FormatUint(img.Size, 10),
			"labels":      labels,
		}
	}
	return out, nil
}

// applyRef updates an image from a reference; a repository-only reference
// gets tag latest.
func applyRef(img *manifest.Image, ref string) {
	r := parseImageRef(ref)
	img.Repository = r.repository
	if r.digest != "" {
		img.Digest = r.digest
	}
	if r.tag != "" {
		img.Tag = r.tag
	}
	if r.tag == "" && r.digest == "" {
		img.Tag = "latest"
	}
}
