// Package mirror rewrites image references to registry mirrors, as the
// registry-mirror setting asks (users who cannot reach Docker Hub pull
// through a mirror). The engine, its registry adapter and the stackhub mixin
// all use it, so it imports only the standard library.
package mirror

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid marks a setting that cannot be parsed; Hint says how to write it.
var ErrInvalid = errors.New("invalid registry mirror")

// Hint is how to write the setting.
const Hint = "use HOST[:PORT][/PATH] for a Docker Hub mirror, or REGISTRY=HOST[:PORT][/PATH] for another registry, separated by commas (for example docker.m.daocloud.io,ghcr.io=ghcr.m.daocloud.io)"

// dockerHub is the registry of image references without a domain.
const dockerHub = "docker.io"

// Mirrors rewrites image references to registry mirrors. It is parsed from
// the registry-mirror setting: a comma-separated list whose entries are
// either MIRROR (a mirror of Docker Hub) or REGISTRY=MIRROR (a mirror of
// another registry), where MIRROR is HOST[:PORT][/PATH]. The zero value
// rewrites nothing.
type Mirrors map[string]string

// Parse reads the registry-mirror setting. Schemes are tolerated
// (https://mirror.example.com) because that is how Docker's daemon.json
// spells mirrors.
func Parse(s string) (Mirrors, error) {
	out := Mirrors{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		from, to, ok := strings.Cut(entry, "=")
		if !ok {
			from, to = dockerHub, entry
		}
		from = normalizeRegistry(strings.TrimSpace(from))
		to = strings.TrimSpace(to)
		to = strings.TrimPrefix(strings.TrimPrefix(to, "https://"), "http://")
		to = strings.TrimRight(to, "/")
		if from == "" || to == "" || strings.ContainsAny(to, " @") || strings.Contains(to, "://") || !validMirrorHost(to) {
			return nil, fmt.Errorf("%w: %q is not HOST[:PORT][/PATH] or REGISTRY=HOST[:PORT][/PATH]", ErrInvalid, entry)
		}
		if _, dup := out[from]; dup {
			return nil, fmt.Errorf("%w: registry %s has two mirrors", ErrInvalid, from)
		}
		out[from] = to
	}
	return out, nil
}

func validMirrorHost(to string) bool {
	host, _, _ := strings.Cut(to, "/")
	if host == "" {
		return false
	}
	for _, r := range host {
		if !(r == '.' || r == ':' || r == '-' || r == '[' || r == ']' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func normalizeRegistry(host string) string {
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return host
}

// String is the setting that parses back into m.
func (m Mirrors) String() string {
	var parts []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, from := range keys {
		if from == dockerHub {
			parts = append([]string{m[from]}, parts...)
			continue
		}
		parts = append(parts, from+"="+m[from])
	}
	return strings.Join(parts, ",")
}

// SplitImageReference splits an image reference the way Docker normalises
// it: the registry ("docker.io" when the first component names no host)
// and the rest, with "library/" added to official Docker Hub images.
func SplitImageReference(ref string) (registry, rest string) {
	first, remainder, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return normalizeRegistry(first), remainder
	}
	if !ok || first == "" {
		return dockerHub, "library/" + ref
	}
	return dockerHub, ref
}

// Rewrite returns where ref is pulled from through its registry's mirror,
// and false when no mirror covers that registry (or ref is already a
// mirror reference).
func (m Mirrors) Rewrite(ref string) (string, bool) {
	if len(m) == 0 || ref == "" {
		return ref, false
	}
	reg, rest := SplitImageReference(ref)
	to, ok := m[reg]
	if !ok {
		return ref, false
	}
	return to + "/" + rest, true
}
