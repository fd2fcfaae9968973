package service

import "github.com/stackhub/stackhub/engine"

// permissionsDTO is what a bundle asks of the host (engine.Permissions),
// shown in an app's details before it is installed. PrivilegedRequests
// lists what needs an admin's "allow": ["privileged"]; when it is empty an
// operator may install the app.
type permissionsDTO struct {
	DockerSocket       bool               `json:"dockerSocket"`
	Privileged         []string           `json:"privileged"`
	HostNamespaces     []string           `json:"hostNamespaces"`
	HostPaths          []hostPathDTO      `json:"hostPaths"`
	Ports              []publishedPortDTO `json:"ports"`
	Devices            []string           `json:"devices"`
	Capabilities       []string           `json:"capabilities"`
	PrivilegedRequests []string           `json:"privilegedRequests"`
	Incomplete         string             `json:"incomplete,omitempty"`
}

type hostPathDTO struct {
	Service  string `json:"service"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

type publishedPortDTO struct {
	Service  string `json:"service"`
	Target   int    `json:"target"`
	Protocol string `json:"protocol"`
	// Host is the pinned host port; 0: StackHub leases a free one.
	Host   int    `json:"host"`
	HostIP string `json:"hostIP,omitempty"`
}

func toPermissionsDTO(p *engine.Permissions) *permissionsDTO {
	if p == nil {
		return nil
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	out := &permissionsDTO{DockerSocket: p.DockerSocket, Privileged: nonNil(p.Privileged), HostNamespaces: nonNil(p.HostNamespaces),
		HostPaths: make([]hostPathDTO, 0, len(p.HostPaths)), Ports: make([]publishedPortDTO, 0, len(p.Ports)),
		Devices: nonNil(p.Devices), Capabilities: nonNil(p.Capabilities), PrivilegedRequests: nonNil(p.PrivilegedRequests()),
		Incomplete: p.Incomplete}
	for _, h := range p.HostPaths {
		out.HostPaths = append(out.HostPaths, hostPathDTO(h))
	}
	for _, pp := range p.Ports {
		out.Ports = append(out.Ports, publishedPortDTO(pp))
	}
	return out
}
