package importers

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/mixin"
)

// converted is a compose file after the shared conversion.
type converted struct {
	doc      map[string]any
	services []string // in the file's order
	main     string
	ports    []mixin.PortDecl
	// published holds each port's published side as the store wrote it.
	published []string
	web       string // name of the web port, "" if none
	// memory is the sum of the services' memory reservations, in bytes.
	memory   int64
	refuse   map[string]string
	warnings []string
	notes    []string
}

func (c *converted) refusef(key, format string, args ...any) {
	if _, ok := c.refuse[key]; !ok {
		c.refuse[key] = fmt.Sprintf(format, args...)
	}
}

func (c *converted) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !slices.Contains(c.warnings, w) {
		c.warnings = append(c.warnings, w)
	}
}

func (c *converted) notef(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(c.notes, n) {
		c.notes = append(c.notes, n)
	}
}

// unsupportedKeys are service keys the stackhub mixin does not apply; an
// app that needs them would run differently, so it is not converted.
var unsupportedKeys = map[string]string{
	"devices":             "host devices (devices:)",
	"device_cgroup_rules": "device cgroup rules",
	"gpus":                "GPUs (gpus:)",
	"runtime":             "another container runtime (runtime:)",
	"pid":                 "a shared PID namespace (pid:)",
	"ipc":                 "a shared IPC namespace (ipc:)",
	"uts":                 "the host's UTS namespace (uts:)",
	"userns_mode":         "a user namespace mode (userns_mode:)",
	"cgroup":              "a cgroup namespace (cgroup:)",
	"cgroup_parent":       "a parent cgroup (cgroup_parent:)",
	"volumes_from":        "volumes of other containers (volumes_from:)",
	"external_links":      "links to containers outside the app (external_links:)",
	"env_file":            "environment files (env_file:)",
	"configs":             "compose configs",
	"secrets":             "compose secrets",
	"extends":             "extends:",
	"isolation":           "an isolation technology (isolation:)",
	"mac_address":         "a fixed MAC address",
	"storage_opt":         "storage driver options",
}

// convertCompose applies the shared conversion to a store app's compose
// file.
func convertCompose(s *Spec, raw []byte) (*converted, error) {
	c := &converted{refuse: map[string]string{}}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse compose file: %w", err)
	}
	order, err := serviceOrder(raw)
	if err != nil {
		return nil, err
	}
	services, _ := doc["services"].(map[string]any)
	if len(services) == 0 {
		c.refusef("services", "its compose file defines no services")
		return c, nil
	}
	// The store's own keys and extensions go first, so that variables in
	// them (descriptions, the store's metadata) are not resolved.
	for k := range doc {
		if strings.HasPrefix(k, "x-") || k == "name" || k == "version" {
			delete(doc, k)
		}
	}
	for _, drop := range s.DropServices {
		if _, ok := services[drop]; ok {
			delete(services, drop)
			c.notef("the service %s, which %s supplies itself, is removed", drop, storeTitle(s.Store))
		}
	}
	for _, name := range order {
		if _, ok := services[name]; ok {
			c.services = append(c.services, name)
		}
	}
	for _, name := range c.services {
		svc, ok := services[name].(map[string]any)
		if !ok {
			c.refusef("svc:"+name, "service %s is not a mapping", name)
			continue
		}
		for k := range svc {
			if strings.HasPrefix(k, "x-") {
				delete(svc, k)
			}
		}
		if deps, ok := svc["depends_on"]; ok {
			svc["depends_on"] = dropDeps(deps, s.DropServices)
		}
		if dns, ok := svc["dns"].([]any); ok && len(s.DropDNS) > 0 {
			kept := slices.DeleteFunc(dns, func(d any) bool {
				for _, v := range s.DropDNS {
					if ds := fmt.Sprint(d); strings.Contains(ds, "${"+v+"}") || strings.Contains(ds, "$"+v) {
						return true
					}
				}
				return false
			})
			if len(kept) < len(dns) {
				c.notef("service %s uses Docker's DNS instead of %s's own DNS server", name, storeTitle(s.Store))
			}
			if len(kept) == 0 {
				delete(svc, "dns")
			} else {
				svc["dns"] = kept
			}
		}
	}

	problems := map[string]string{}
	s.Vars.rewriteAll(doc, problems)
	for k, why := range problems {
		c.refuse["var:"+k] = why
	}

	aliases := map[string][]string{}
	for svc, list := range s.Aliases {
		aliases[svc] = append(aliases[svc], list...)
	}
	vols := newVolumes(s, c)
	vols.seed(doc)
	for _, name := range c.services {
		svc, ok := services[name].(map[string]any)
		if !ok {
			continue
		}
		c.checkService(s, name, svc, aliases)
		vols.convert(name, svc)
		c.collectPorts(name, svc)
	}
	vols.finish(doc)
	for _, r := range s.Data {
		if strings.HasPrefix(r.Prefix, "/@") && mentions(doc, r.Prefix) {
			c.refusef("sentinel:"+r.Prefix, "it uses %s outside a volume mount (in a command or variable), where StackHub has no such folder", r.Label)
		}
	}
	c.applyAliases(services, aliases)
	c.topLevel(s, doc)
	c.pickWeb(s)
	c.pickMain(s)
	c.doc = doc
	return c, nil
}

// checkService refuses what the mixin cannot do and rewrites what has a
// direct equivalent.
func (c *converted) checkService(s *Spec, name string, svc map[string]any, aliases map[string][]string) {
	for _, k := range slices.Sorted(maps.Keys(svc)) {
		if what, ok := unsupportedKeys[k]; ok {
			c.refusef("key:"+name+":"+k, "service %s uses %s, which the stackhub mixin does not support", name, what)
		}
	}
	if _, ok := svc["build"]; ok {
		if _, hasImage := svc["image"]; !hasImage {
			c.refusef("build:"+name, "service %s is built from source (build: without image:); StackHub deploys prebuilt images", name)
		}
		delete(svc, "build")
	}
	if _, ok := svc["image"]; !ok {
		c.refusef("image:"+name, "service %s has no image", name)
	}
	switch mode, _ := svc["network_mode"].(string); {
	case mode == "":
	case mode == "host":
		c.refusef("host:"+name, "service %s uses host networking (network_mode: host): it would bind host ports itself, so StackHub could not lease them and installs would collide", name)
	case mode == "bridge":
		delete(svc, "network_mode")
		c.notef("service %s joins the app's own network instead of Docker's default bridge (network_mode: bridge): its ports are published the same way", name)
	case strings.HasPrefix(mode, "service:") || mode == "none":
	default:
		c.refusef("netmode:"+name, "service %s uses network_mode: %s, which StackHub cannot recreate", name, mode)
	}
	if priv, _ := svc["privileged"].(bool); priv {
		c.warnf("service %s runs privileged (full access to the host); StackHub's server status lists it as a risk", name)
	}
	if deploy, ok := svc["deploy"].(map[string]any); ok {
		if n, ok := deploy["replicas"].(int); ok && n > 1 {
			c.refusef("replicas:"+name, "service %s runs %d replicas; StackHub runs one container per service", name, n)
		}
		if res, ok := deploy["resources"].(map[string]any); ok {
			if rsv, ok := res["reservations"].(map[string]any); ok {
				c.memory += parseBytes(rsv["memory"])
				if _, ok := rsv["devices"]; ok {
					c.refusef("gpu:"+name, "service %s reserves devices (GPUs), which the stackhub mixin does not support", name)
				}
			}
		}
	}
	if cn, ok := svc["container_name"].(string); ok {
		delete(svc, "container_name")
		if cn != name {
			aliases[name] = append(aliases[name], cn)
			c.notef("container_name %s becomes a network alias of service %s (StackHub names containers itself)", cn, name)
		}
	}
	if links, ok := svc["links"].([]any); ok {
		for _, l := range links {
			target, alias, found := strings.Cut(fmt.Sprint(l), ":")
			if found && alias != target {
				aliases[target] = append(aliases[target], alias)
			}
		}
		delete(svc, "links")
	}
	if labels, ok := svc["labels"]; ok && len(s.DropLabels) > 0 {
		if kept := dropLabels(labels, s.DropLabels); kept == nil {
			delete(svc, "labels")
		} else {
			svc["labels"] = kept
		}
	}
	if nets, ok := svc["networks"]; ok && len(s.DropNetworks) > 0 {
		if kept := dropNetworks(nets, s.DropNetworks); kept == nil {
			delete(svc, "networks")
		} else {
			svc["networks"] = kept
		}
	}
}

// collectPorts turns the service's published ports into declared ports
// (leased by StackHub) and removes them from the compose file.
func (c *converted) collectPorts(name string, svc map[string]any) {
	list, ok := svc["ports"].([]any)
	if !ok {
		return
	}
	delete(svc, "ports")
	for _, item := range list {
		p, err := parsePort(item)
		if err != nil {
			c.refusef("port:"+name+fmt.Sprint(item), "service %s: %v", name, err)
			continue
		}
		if slices.ContainsFunc(c.ports, func(d mixin.PortDecl) bool {
			return d.Service == name && d.Target.N == p.target && (d.Protocol == "udp") == (p.protocol == "udp")
		}) {
			c.notef("service %s publishes container port %d twice; StackHub publishes it once", name, p.target)
			continue
		}
		decl := mixin.PortDecl{Service: name, Target: mixin.Int{N: p.target}, HostIP: p.hostIP}
		if p.protocol == "udp" {
			decl.Protocol = "udp"
		}
		if n, err := strconv.Atoi(p.published); err == nil && n > 0 {
			decl.Preferred = mixin.Int{N: n}
		}
		c.ports = append(c.ports, decl)
		c.published = append(c.published, p.published)
	}
}

type portSpec struct {
	published, hostIP, protocol string
	target                      int
}

// parsePort reads one entry of a service's ports: (short or long syntax).
func parsePort(item any) (portSpec, error) {
	var p portSpec
	switch v := item.(type) {
	case map[string]any:
		t, err := strconv.Atoi(fmt.Sprint(v["target"]))
		if err != nil {
			return p, fmt.Errorf("port %v has no numeric target", v)
		}
		p.target = t
		if v["published"] != nil {
			p.published = fmt.Sprint(v["published"])
		}
		if ip, ok := v["host_ip"].(string); ok {
			p.hostIP = ip
		}
		if pr, ok := v["protocol"].(string); ok {
			p.protocol = strings.ToLower(pr)
		}
	default:
		s := fmt.Sprint(v)
		s, proto, _ := strings.Cut(s, "/")
		p.protocol = strings.ToLower(proto)
		i := strings.LastIndex(s, ":")
		target := s[i+1:]
		if i >= 0 {
			rest := s[:i]
			j := strings.LastIndex(rest, ":")
			p.published = rest[j+1:]
			if j >= 0 {
				p.hostIP = strings.Trim(rest[:j], "[]")
			}
		}
		if strings.Contains(target, "-") || strings.Contains(p.published, "-") && !strings.HasPrefix(p.published, "$") {
			return p, fmt.Errorf("it publishes the port range %q; StackHub leases single ports", fmt.Sprint(v))
		}
		t, err := strconv.Atoi(target)
		if err != nil {
			return p, fmt.Errorf("port %q has no numeric container port", fmt.Sprint(v))
		}
		p.target = t
	}
	if p.protocol == "tcp" {
		p.protocol = ""
	}
	if p.target < 1 || p.target > 65535 {
		return p, fmt.Errorf("port %v: container port out of range", item)
	}
	return p, nil
}

// pickWeb names the ports: the web port "port" (the main port every
// StackHub app reports), the others <service>-<target>[-udp].
func (c *converted) pickWeb(s *Spec) {
	web := -1
	if s.WebTarget != nil {
		for i, p := range c.ports {
			if p.Service == s.WebTarget.Service && p.Target.N == s.WebTarget.Target && p.Protocol == "" {
				web = i
				break
			}
		}
		if web < 0 && slices.Contains(c.services, s.WebTarget.Service) {
			c.ports = append([]mixin.PortDecl{{Service: s.WebTarget.Service, Target: mixin.Int{N: s.WebTarget.Target}}}, c.ports...)
			c.published = append([]string{""}, c.published...)
			web = 0
		}
	}
	if web < 0 && s.WebPublished != "" {
		for i := range c.ports {
			if c.published[i] == s.WebPublished {
				web = i
				break
			}
		}
	}
	if web < 0 && len(c.ports) > 0 {
		web = 0
		c.warnf("the store names no web port; the first published port (%s %d) is used as the app's main port", c.ports[0].Service, c.ports[0].Target.N)
	}
	if web < 0 {
		if !c.hostNetwork() {
			c.refusef("noport", "it publishes no port, and a StackHub app is reached through at least one")
		}
		return
	}
	used := map[string]bool{"port": true}
	for i := range c.ports {
		p := &c.ports[i]
		if i == web {
			p.Name = "port"
			c.web = "port"
			continue
		}
		base := portName(p.Service, p.Target.N, p.Protocol)
		name := base
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		used[name] = true
		p.Name = name
		if p.Preferred.N > 0 && p.Preferred.N < 1024 {
			c.warnf("%s published host port %d; StackHub leases a free port instead, so clients must use the port it reports", p.Service, p.Preferred.N)
		}
	}
	if p := c.ports[web]; p.Preferred.N > 0 && p.Preferred.N < 1024 {
		c.warnf("%s published host port %d; StackHub leases a free port instead", p.Service, p.Preferred.N)
	}
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func portName(service string, target int, proto string) string {
	n := nonName.ReplaceAllString(service, "-")
	if n == "" || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		n = "p" + n
	}
	n = fmt.Sprintf("%s-%d", n, target)
	if proto == "udp" {
		n += "-udp"
	}
	return n
}

func (c *converted) pickMain(s *Spec) {
	switch {
	case s.Main != "" && slices.Contains(c.services, s.Main):
		c.main = s.Main
	case c.web != "":
		c.main = c.ports[0].Service
		for _, p := range c.ports {
			if p.Name == c.web {
				c.main = p.Service
			}
		}
	case len(c.services) > 0:
		c.main = c.services[0]
	}
}

// applyAliases puts container names and link aliases on the networks of
// the services that carried them, so other services still reach them.
func (c *converted) applyAliases(services map[string]any, aliases map[string][]string) {
	for _, name := range slices.Sorted(maps.Keys(aliases)) {
		svc, ok := services[name].(map[string]any)
		if !ok {
			continue
		}
		if mode, _ := svc["network_mode"].(string); mode != "" {
			continue
		}
		list := slices.Compact(slices.Sorted(slices.Values(aliases[name])))
		nets := map[string]any{}
		switch v := svc["networks"].(type) {
		case nil:
			nets["default"] = nil
		case []any:
			for _, n := range v {
				nets[fmt.Sprint(n)] = nil
			}
		case map[string]any:
			nets = v
		}
		for k, cfg := range nets {
			m, _ := cfg.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			var have []any
			if a, ok := m["aliases"].([]any); ok {
				have = a
			}
			for _, a := range list {
				if !slices.Contains(have, any(a)) {
					have = append(have, a)
				}
			}
			m["aliases"] = have
			nets[k] = m
		}
		svc["networks"] = nets
	}
}

// topLevel checks the file's networks, volumes, secrets and configs.
func (c *converted) topLevel(s *Spec, doc map[string]any) {
	if nets, ok := doc["networks"].(map[string]any); ok {
		for _, n := range s.DropNetworks {
			delete(nets, n)
		}
		for _, k := range slices.Sorted(maps.Keys(nets)) {
			if m, ok := nets[k].(map[string]any); ok && isTrue(m["external"]) {
				c.refusef("extnet:"+k, "it joins the external network %s, which StackHub does not create", k)
			}
		}
		if len(nets) == 0 {
			delete(doc, "networks")
		}
	}
	usesDefault := false
	if services, ok := doc["services"].(map[string]any); ok {
		for _, v := range services {
			if svc, ok := v.(map[string]any); ok {
				if nets, ok := svc["networks"].(map[string]any); ok {
					if _, ok := nets["default"]; ok {
						usesDefault = true
					}
				}
			}
		}
	}
	if usesDefault {
		nets, _ := doc["networks"].(map[string]any)
		if nets == nil {
			nets = map[string]any{}
		}
		if _, ok := nets["default"]; !ok {
			nets["default"] = map[string]any{}
		}
		doc["networks"] = nets
	}
	if vols, ok := doc["volumes"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(vols)) {
			if m, ok := vols[k].(map[string]any); ok && isTrue(m["external"]) {
				c.refusef("extvol:"+k, "it uses the external volume %s, which StackHub does not create", k)
			}
		}
	}
	for _, k := range []string{"secrets", "configs"} {
		if _, ok := doc[k]; ok {
			c.refusef("top:"+k, "it uses compose %s, which the stackhub mixin does not support", k)
		}
	}
}

func isTrue(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

func dropDeps(deps any, drop []string) any {
	switch v := deps.(type) {
	case []any:
		out := []any{}
		for _, d := range v {
			if !slices.Contains(drop, fmt.Sprint(d)) {
				out = append(out, d)
			}
		}
		return out
	case map[string]any:
		for _, d := range drop {
			delete(v, d)
		}
		return v
	}
	return deps
}

func dropLabels(labels any, prefixes []string) any {
	match := func(k string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
	switch v := labels.(type) {
	case map[string]any:
		for k := range v {
			if match(k) {
				delete(v, k)
			}
		}
		if len(v) == 0 {
			return nil
		}
		return v
	case []any:
		var out []any
		for _, l := range v {
			k, _, _ := strings.Cut(fmt.Sprint(l), "=")
			if !match(k) {
				out = append(out, l)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return labels
}

func dropNetworks(nets any, drop []string) any {
	switch v := nets.(type) {
	case []any:
		var out []any
		for _, n := range v {
			if !slices.Contains(drop, fmt.Sprint(n)) {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case map[string]any:
		for _, d := range drop {
			delete(v, d)
		}
		if len(v) == 0 {
			return nil
		}
		return v
	}
	return nets
}

// serviceOrder returns the services in the order the file lists them.
func serviceOrder(raw []byte) ([]string, error) {
	var doc struct {
		Services yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse compose file: %w", err)
	}
	var out []string
	if doc.Services.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Services.Content); i += 2 {
			out = append(out, doc.Services.Content[i].Value)
		}
	}
	return out, nil
}

// shipsFiles tells whether p (a path in the store checkout) is a file, or
// a folder holding files other than placeholders.
func shipsFiles(p string) bool {
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return true
	}
	found := false
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipAll
		}
		if !d.IsDir() && d.Name() != ".gitkeep" && d.Name() != ".keep" {
			found = true
		}
		return nil
	})
	return found
}

// cleanPath cleans a bind source written with forward slashes.
func cleanPath(p string) string {
	if strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || p == "." {
		return "./" + strings.TrimPrefix(path.Clean(p), "./")
	}
	return path.Clean(p)
}

// mentions tells whether any string of a decoded document contains sub.
func mentions(doc any, sub string) bool {
	switch x := doc.(type) {
	case string:
		return strings.Contains(x, sub)
	case map[string]any:
		for k, v := range x {
			// Unconverted binds are reported on their own.
			if k != "volumes" && mentions(v, sub) {
				return true
			}
		}
	case []any:
		for _, v := range x {
			if mentions(v, sub) {
				return true
			}
		}
	}
	return false
}

// hostNetwork tells whether a service was refused for host networking
// (which also explains why it publishes no port).
func (c *converted) hostNetwork() bool {
	for k := range c.refuse {
		if strings.HasPrefix(k, "host:") {
			return true
		}
	}
	return false
}

// parseBytes reads a compose byte size (1024, "256M", "1g", "512mb"); 0
// when it is not one.
func parseBytes(v any) int64 {
	if n, ok := v.(int); ok {
		return int64(n)
	}
	s, ok := v.(string)
	if !ok {
		return 0
	}
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0
	}
	return int64(n * float64(mult))
}
