package service

import (
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

func toPermissionsDTO(p *engine.Permissions) *apitype.Permissions {
	if p == nil {
		return nil
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	out := &apitype.Permissions{DockerSocket: p.DockerSocket, Privileged: nonNil(p.Privileged), HostNamespaces: nonNil(p.HostNamespaces),
		HostPaths: make([]apitype.HostPath, 0, len(p.HostPaths)), Ports: make([]apitype.PublishedPort, 0, len(p.Ports)),
		Devices: nonNil(p.Devices), Capabilities: nonNil(p.Capabilities), PrivilegedRequests: nonNil(p.PrivilegedRequests()),
		Incomplete: p.Incomplete}
	for _, h := range p.HostPaths {
		out.HostPaths = append(out.HostPaths, apitype.HostPath(h))
	}
	for _, pp := range p.Ports {
		out.Ports = append(out.Ports, apitype.PublishedPort(pp))
	}
	return out
}
