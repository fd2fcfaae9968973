package engine

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Permissions is what a bundle asks of the host, derived from its
// porter.yaml and the compose files its stackhub steps deploy. It is shown
// before an install; the privileged part needs an admin's explicit consent
// (InstallOptions.AllowPrivileged).
type Permissions struct {
	// DockerSocket: the bundle's invocation image gets the Docker socket
	// (required: docker), which is root on the host. Every bundle that
	// deploys containers needs it; it is why installing is a trusted act.
	DockerSocket bool `json:"dockerSocket"`
	// Privileged lists what runs privileged: "invocation image" (required:
	// docker: {privileged: true}) and compose services (privileged: true).
	Privileged []string `json:"privileged"`
	// HostNamespaces lists services sharing a namespace of the host, as
	// "SERVICE: network" (network_mode: host), "SERVICE: pid", ipc, userns.
	HostNamespaces []string `json:"hostNamespaces"`
	// HostPaths are bind mounts of host paths (the Docker socket included).
	HostPaths []HostPathMount `json:"hostPaths"`
	// Ports are the host ports published: those StackHub leases (Host 0)
	// and those the compose files pin.
	Ports []PublishedPortSpec `json:"ports"`
	// Devices are host devices passed to services ("SERVICE: /dev/...").
	Devices []string `json:"devices"`
	// Capabilities are Linux capabilities added ("SERVICE: NET_ADMIN").
	Capabilities []string `json:"capabilities"`
	// Incomplete says why part of the bundle could not be read (a compose
	// file inside a pulled invocation image): what it does there is not
	// listed.
	Incomplete string `json:"incomplete,omitempty"`
}

// HostPathMount is one bind mount of a host path.
type HostPathMount struct {
	Service  string `json:"service"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// PublishedPortSpec is one host port a bundle publishes.
type PublishedPortSpec struct {
	Service  string `json:"service"`
	Target   int    `json:"target"`
	Protocol string `json:"protocol"`
	// Host is the pinned host port; 0: StackHub leases one.
	Host   int    `json:"host"`
	HostIP string `json:"hostIP,omitempty"`
}

// PrivilegedRequests lists what needs an admin's consent: privileged
// containers, host namespaces, devices, added capabilities, and bind
// mounts of absolute host paths (the Docker socket, /etc, ...). Empty:
// an operator may install the bundle.
func (p *Permissions) PrivilegedRequests() []string {
	var out []string
	for _, s := range p.Privileged {
		out = append(out, "privileged: "+s)
	}
	for _, s := range p.HostNamespaces {
		out = append(out, "host namespace "+s)
	}
	for _, d := range p.Devices {
		out = append(out, "device "+d)
	}
	for _, c := range p.Capabilities {
		out = append(out, "capability "+c)
	}
	for _, h := range p.HostPaths {
		if path.IsAbs(h.Source) {
			out = append(out, fmt.Sprintf("host path %s (service %s)", h.Source, h.Service))
		}
	}
	return out
}

// checkConsent refuses a bundle with privileged requests unless allowed.
func checkConsent(app string, p *Permissions, allowed bool) error {
	req := p.PrivilegedRequests()
	if len(req) == 0 || allowed {
		return nil
	}
	return NewUserError(ErrForbidden, fmt.Sprintf("%s asks for privileged access to the host: %s", app, strings.Join(req, "; ")),
		"review its permissions (stackhub app show "+app+"); an admin may install it with --allow privileged (API: \"allow\": [\"privileged\"])")
}

// BundlePermissions derives what the bundle in fsys (porter.yaml at its
// root) asks of the host.
func BundlePermissions(fsys fs.FS, m *manifest.Manifest) *Permissions {
	p := &Permissions{DockerSocket: requiresDocker(m), Privileged: []string{}, HostNamespaces: []string{},
		HostPaths: []HostPathMount{}, Ports: []PublishedPortSpec{}, Devices: []string{}, Capabilities: []string{}}
	if requiresPrivileged(m) {
		p.Privileged = append(p.Privileged, "invocation image")
	}
	for _, s := range PortSpecs(m) {
		p.Ports = append(p.Ports, PublishedPortSpec{Service: s.Service, Target: s.Target, Protocol: cmpOr(s.Protocol, "tcp"), Host: s.Host, HostIP: s.HostIP})
	}
	var missing []string
	for _, f := range manifestComposeFiles(m) {
		data, err := fs.ReadFile(fsys, path.Clean(f))
		if err != nil {
			missing = append(missing, f)
			continue
		}
		if err := p.addCompose(data); err != nil {
			missing = append(missing, f+" ("+err.Error()+")")
		}
	}
	if len(missing) > 0 {
		p.Incomplete = "compose files not readable here (they may be inside the invocation image): " + strings.Join(missing, ", ")
	}
	return p
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// composeService is what a compose service says about the host.
type composeService struct {
	Privileged  bool     `yaml:"privileged"`
	NetworkMode string   `yaml:"network_mode"`
	Pid         string   `yaml:"pid"`
	Ipc         string   `yaml:"ipc"`
	UsernsMode  string   `yaml:"userns_mode"`
	Volumes     []any    `yaml:"volumes"`
	Devices     []any    `yaml:"devices"`
	CapAdd      []string `yaml:"cap_add"`
	Ports       []any    `yaml:"ports"`
}

func (p *Permissions) addCompose(data []byte) error {
	var doc struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	names := make([]string, 0, len(doc.Services))
	for n := range doc.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Services[name]
		if s.Privileged {
			p.Privileged = append(p.Privileged, name)
		}
		for ns, mode := range map[string]string{"network": s.NetworkMode, "pid": s.Pid, "ipc": s.Ipc, "userns": s.UsernsMode} {
			if mode == "host" {
				p.HostNamespaces = append(p.HostNamespaces, name+": "+ns)
			}
		}
		for _, v := range s.Volumes {
			if m, ok := bindMount(name, v); ok {
				p.HostPaths = append(p.HostPaths, m)
			}
		}
		for _, d := range s.Devices {
			switch d := d.(type) {
			case string:
				host, _, _ := strings.Cut(d, ":")
				p.Devices = append(p.Devices, name+": "+host)
			case map[string]any:
				p.Devices = append(p.Devices, fmt.Sprintf("%s: %v", name, d["source"]))
			}
		}
		for _, c := range s.CapAdd {
			p.Capabilities = append(p.Capabilities, name+": "+c)
		}
		for _, port := range s.Ports {
			if pp, ok := pinnedPort(name, port); ok {
				p.Ports = append(p.Ports, pp)
			}
		}
	}
	slices.Sort(p.HostNamespaces)
	return nil
}

// bindMount reads a compose volume entry; named volumes are not host
// paths.
func bindMount(service string, v any) (HostPathMount, bool) {
	switch v := v.(type) {
	case string:
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			return HostPathMount{}, false
		}
		src := parts[0]
		if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "~") && !strings.HasPrefix(src, "$") {
			return HostPathMount{}, false // a named volume
		}
		ro := len(parts) > 2 && slices.Contains(strings.Split(parts[2], ","), "ro")
		return HostPathMount{Service: service, Source: src, Target: parts[1], ReadOnly: ro}, true
	case map[string]any:
		if t, _ := v["type"].(string); t != "bind" {
			return HostPathMount{}, false
		}
		src, _ := v["source"].(string)
		dst, _ := v["target"].(string)
		ro, _ := v["read_only"].(bool)
		return HostPathMount{Service: service, Source: src, Target: dst, ReadOnly: ro}, true
	}
	return HostPathMount{}, false
}

// pinnedPort reads a compose port entry that names a host port.
func pinnedPort(service string, v any) (PublishedPortSpec, bool) {
	switch v := v.(type) {
	case string:
		spec, proto, _ := strings.Cut(v, "/")
		parts := strings.Split(spec, ":")
		if len(parts) < 2 {
			return PublishedPortSpec{}, false // container port only: Docker picks an ephemeral one
		}
		target, _ := strconv.Atoi(parts[len(parts)-1])
		host, _ := strconv.Atoi(parts[len(parts)-2])
		ip := ""
		if len(parts) > 2 {
			ip = strings.Join(parts[:len(parts)-2], ":")
		}
		return PublishedPortSpec{Service: service, Target: target, Protocol: cmpOr(proto, "tcp"), Host: host, HostIP: ip}, true
	case map[string]any:
		target, _ := v["target"].(int)
		var host int
		switch h := v["published"].(type) {
		case int:
			host = h
		case string:
			host, _ = strconv.Atoi(h)
		}
		proto, _ := v["protocol"].(string)
		ip, _ := v["host_ip"].(string)
		return PublishedPortSpec{Service: service, Target: target, Protocol: cmpOr(proto, "tcp"), Host: host, HostIP: ip}, true
	}
	return PublishedPortSpec{}, false
}

// manifestComposeFiles lists the compose files the bundle's stackhub
// steps deploy, in the order they first appear.
func manifestComposeFiles(m *manifest.Manifest) []string {
	var files []string
	seen := map[string]bool{}
	for _, action := range m.ActionNames() {
		for _, s := range m.Actions[action] {
			if s.Mixin != "stackhub" {
				continue
			}
			var list []string
			switch v := s.Data["compose"].(type) {
			case string:
				list = []string{v}
			case []any:
				for _, x := range v {
					if str, ok := x.(string); ok {
						list = append(list, str)
					}
				}
			}
			for _, f := range list {
				if f != "" && !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	return files
}
