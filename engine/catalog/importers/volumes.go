package importers

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// volumes turns binds of the store's data folders into named volumes: the
// store keeps app data in a host folder of its own, StackHub in volumes of
// the compose project (kept on uninstall unless purged).
type volumes struct {
	s     *Spec
	c     *converted
	roots []DataRoot
	// byPath maps a converted bind source (root label + relative path) to
	// its volume name; names holds the names taken.
	byPath map[string]string
	names  map[string]bool
	added  []string
	// mapped says, for the report, which folder became which volume.
	mapped []string
}

// seed reserves the names of volumes the file already declares.
func (v *volumes) seed(doc map[string]any) {
	if vols, ok := doc["volumes"].(map[string]any); ok {
		for k := range vols {
			v.names[k] = true
		}
	}
}

func newVolumes(s *Spec, c *converted) *volumes {
	roots := slices.Clone(s.Data)
	// The app folder itself: relative binds point into it.
	roots = append(roots, DataRoot{Prefix: ".", Label: "the app folder", Seed: s.Dir})
	// Longest prefix first, so that nested roots win.
	slices.SortFunc(roots, func(a, b DataRoot) int { return len(b.Prefix) - len(a.Prefix) })
	return &volumes{s: s, c: c, roots: roots, byPath: map[string]string{}, names: map[string]bool{}}
}

var volNameRE = regexp.MustCompile(`[^a-z0-9_.-]+`)

func (v *volumes) convert(service string, svc map[string]any) {
	list, ok := svc["volumes"].([]any)
	if !ok {
		return
	}
	for i, item := range list {
		switch m := item.(type) {
		case string:
			src, rest, found := strings.Cut(m, ":")
			if !found || !isBindSource(src) {
				if found && src != "" {
					v.names[src] = true
				}
				continue
			}
			target, mode, _ := strings.Cut(rest, ":")
			if name, ok := v.bind(service, src, target); ok {
				e := name + ":" + target
				if slices.Contains(strings.Split(mode, ","), "ro") {
					e += ":ro"
				}
				list[i] = e
			}
		case map[string]any:
			typ, _ := m["type"].(string)
			src, _ := m["source"].(string)
			switch typ {
			case "bind":
				target, _ := m["target"].(string)
				if name, ok := v.bind(service, src, target); ok {
					out := map[string]any{"type": "volume", "source": name, "target": target}
					if isTrue(m["read_only"]) {
						out["read_only"] = true
					}
					list[i] = out
				}
			case "volume":
				if src != "" {
					v.names[src] = true
				}
			case "tmpfs", "":
			default:
				v.c.refusef("voltype:"+service+typ, "service %s mounts a volume of type %s, which the stackhub mixin does not support", service, typ)
			}
		}
	}
}

// isBindSource tells a host path from a volume name in the short syntax.
func isBindSource(src string) bool {
	return strings.HasPrefix(src, "/") || strings.HasPrefix(src, ".") || strings.HasPrefix(src, "~")
}

// bind converts one bind source; ok is false when the bind stays a bind.
func (v *volumes) bind(service, src, target string) (string, bool) {
	src = cleanPath(src)
	switch {
	case src == "/var/run/docker.sock" || src == "/run/docker.sock":
		v.c.warnf("service %s mounts the Docker socket: it can control every container on the server", service)
		return "", false
	case src == "/etc/localtime" || src == "/etc/timezone":
		return "", false
	}
	for _, r := range v.roots {
		rel, ok := under(src, r.Prefix)
		if !ok {
			continue
		}
		key := r.Prefix + "/" + rel
		if name, ok := v.byPath[key]; ok {
			return name, true
		}
		label := strings.TrimSuffix(r.Label+"/"+rel, "/")
		if r.Seed != "" && shipsFiles(filepath.Join(r.Seed, filepath.FromSlash(rel))) {
			v.c.refusef("seed:"+key, "service %s mounts %s, which the app ships with files in it; a named volume would start empty (bundles cannot bind files they carry: the Docker daemon resolves bind paths on the server)", service, label)
			return "", false
		}
		for other := range v.byPath {
			if strings.HasPrefix(other, key+"/") || strings.HasPrefix(key, other+"/") {
				v.c.refusef("nested:"+key, "service %s mounts both a folder and one inside it (%s); they cannot become separate named volumes that share files", service, label)
				return "", false
			}
		}
		base := volNameRE.ReplaceAllString(strings.ToLower(strings.ReplaceAll(rel, "/", "-")), "-")
		base = strings.Trim(base, "-.")
		if base == "" {
			base = "data"
		}
		name := base
		for n := 2; v.names[name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		v.names[name] = true
		v.byPath[key] = name
		v.added = append(v.added, name)
		v.mapped = append(v.mapped, label+" → "+name)
		if r.Shared {
			v.c.warnf("%s is shared with other apps in %s; here it becomes this app's own volume %s", label, storeTitle(v.s.Store), name)
		}
		return name, true
	}
	if strings.HasPrefix(src, "/") {
		v.c.warnf("service %s binds the host path %s, which is used as is on the StackHub server", service, src)
		return "", false
	}
	v.c.refusef("bind:"+src, "service %s binds %s, which StackHub cannot resolve", service, src)
	return "", false
}

// under returns p relative to prefix when p is prefix or inside it.
func under(p, prefix string) (string, bool) {
	if prefix == "." {
		if !strings.HasPrefix(p, "./") && p != "." {
			return "", false
		}
		return strings.TrimPrefix(strings.TrimPrefix(p, "."), "/"), true
	}
	if p == prefix {
		return "", true
	}
	if strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/") {
		return path.Clean(strings.TrimPrefix(p, strings.TrimSuffix(prefix, "/")+"/")), true
	}
	return "", false
}

// finish declares the new named volumes at the top level.
func (v *volumes) finish(doc map[string]any) {
	if len(v.added) == 0 {
		return
	}
	vols, _ := doc["volumes"].(map[string]any)
	if vols == nil {
		vols = map[string]any{}
	}
	for _, n := range v.added {
		if _, ok := vols[n]; !ok {
			vols[n] = map[string]any{}
		}
	}
	doc["volumes"] = vols
	v.c.notef("data folders become named volumes: %s", strings.Join(v.mapped, ", "))
}
