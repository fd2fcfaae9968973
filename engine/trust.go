package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/stackhub/stackhub/engine/mirror"
)

// Registry allow-list: with Config.RestrictRegistries, a bundle reference
// and every image an install by reference pulls must name a registry an
// admin allowed (Config.AllowedRegistries, or a mirror of the
// registry-mirror setting). The check reads only the reference's text, so a
// refused reference never causes a connection, not even a DNS lookup.

// hintRegistryNotAllowed says how an admin allows a registry.
const hintRegistryNotAllowed = "StackHub contacts only registries an admin allowed: add HOST[:PORT] to the allowed-registries setting " +
	"(stackhub serve --allowed-registries, env STACKHUB_ALLOWED_REGISTRIES), or install the app from the catalog"

// metadataAddrs are cloud metadata services outside the link-local range.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// RegistryHost returns the registry part of an image or bundle reference
// (HOST[:PORT], lowercase; docker.io when the reference names none).
func RegistryHost(ref string) string {
	host, _ := mirror.SplitImageReference(ref)
	return strings.ToLower(host)
}

// registryLister is a catalog with registry sources (Sources).
type registryLister interface {
	Registries() []string
}

// AllowedRegistries is the allow-list in force: the allowed-registries
// setting, the registry-mirror setting's mirrors and the registries of the
// catalog's registry sources, sorted, deduplicated.
func (e *Engine) AllowedRegistries() []string {
	out := make([]string, 0, len(e.cfg.AllowedRegistries))
	for _, r := range e.cfg.AllowedRegistries {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" {
			out = append(out, r)
		}
	}
	if m, err := mirror.Parse(e.cfg.RegistryMirror); err == nil {
		for _, to := range m {
			host, _, _ := strings.Cut(to, "/")
			out = append(out, strings.ToLower(host))
		}
	}
	// The catalog's own: the registries an admin added as catalog sources.
	if rs, ok := e.deps.Catalog.(registryLister); ok {
		for _, r := range rs.Registries() {
			host, _, _ := strings.Cut(r, "/")
			out = append(out, strings.ToLower(host))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkRegistry refuses ref unless its registry is allowed. Link-local,
// metadata and unspecified addresses are refused even when listed: no
// registry lives there, and they are what a request forgery aims at.
func (e *Engine) checkRegistry(what, ref string) error {
	if !e.cfg.RestrictRegistries {
		return nil
	}
	host := RegistryHost(ref)
	if forbiddenAddress(host) {
		return NewUserError(ErrForbidden, fmt.Sprintf("%s %s names the registry %s, a link-local, metadata or unspecified address; StackHub never contacts those", what, ref, host),
			"publish the bundle to an allowed registry and install it from there")
	}
	if slices.Contains(e.AllowedRegistries(), host) {
		return nil
	}
	return NewUserError(ErrForbidden, fmt.Sprintf("%s %s names the registry %s, which is not on the allow-list", what, ref, host),
		hintRegistryNotAllowed)
}

// forbiddenAddress reports whether host (HOST[:PORT]) is an IP literal
// that must never be dialled for a registry.
func forbiddenAddress(host string) bool {
	h := host
	if ap, err := netip.ParseAddrPort(host); err == nil {
		h = ap.Addr().String()
	} else if i := strings.LastIndex(host, ":"); i > 0 && !strings.Contains(host[:i], ":") {
		h = host[:i]
	}
	addr, err := netip.ParseAddr(strings.Trim(h, "[]"))
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	return addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsUnspecified() ||
		addr.IsMulticast() || slices.Contains(metadataAddrs, addr)
}
