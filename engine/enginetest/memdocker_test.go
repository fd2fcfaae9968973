package enginetest

import (
	"maps"
	"sync/atomic"
	"testing"

	"github.com/stackhub/stackhub/engine"
)

func TestMemDockerContract(t *testing.T) {
	var port atomic.Int32
	port.Store(30000)
	DockerContract(t, func(t *testing.T) *DockerHarness {
		d := NewMemDocker()
		return &DockerHarness{
			Docker: d,
			Image:  "any/image:1",
			AddContainer: func(t *testing.T, c ContractContainer) {
				labels := maps.Clone(c.Labels)
				if labels == nil {
					labels = map[string]string{}
				}
				labels[memImageLabel] = c.Image
				st := engine.ContainerState{Name: c.Name, Project: c.Project, Service: c.Service, Labels: labels}
				if c.HostPort != 0 {
					st.Ports = []engine.PublishedPort{{Port: c.HostPort, Protocol: "tcp", Container: c.Name}}
				}
				if c.Volume != "" {
					st.Mounts = []string{c.Volume}
				}
				d.AddContainer(st, c.Running)
			},
			Volumes:  func(t *testing.T, project string) []string { return d.Volumes(project) },
			FreePort: func(t *testing.T) int { return int(port.Add(1)) },
		}
	})
}
