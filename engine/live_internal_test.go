package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOursSkipsOtherInstances: projects of another StackHub on the same
// Docker (another prefix, even one that extends this one) are not this
// instance's unmanaged projects.
func TestOursSkipsOtherInstances(t *testing.T) {
	e := &Engine{cfg: Config{Prefix: "stackhub"}}
	tests := []struct {
		name, project, installation string
		want                        bool
	}{
		{name: "this prefix", project: "stackhub-blog", installation: "blog", want: true},
		{name: "another prefix", project: "e2e1a2b3c-blog", installation: "blog"},
		{name: "a prefix that extends this one", project: "stackhub-dev-blog", installation: "blog"},
		{name: "that one seen from the longer prefix", project: "stackhub-dev-blog", installation: "dev-blog", want: true},
		{name: "no installation label", project: "stackhub-blog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ContainerState{Name: tt.project, Project: tt.project, Labels: map[string]string{}}
			if tt.installation != "" {
				c.Labels[LabelInstallation] = tt.installation
			}
			assert.Equal(t, tt.want, e.ours(tt.project, []ContainerState{c}))
		})
	}
}

func TestDirectAddr(t *testing.T) {
	web := ContainerState{ID: "c1", State: "running", Addrs: []string{"172.18.0.2", "172.19.0.5"},
		Ports: []PublishedPort{{Port: 9001, Protocol: "tcp", Private: 8080}, {Port: 9002, Protocol: "udp", Private: 53}, {Port: 9003, Protocol: "tcp"}}}
	stopped := web
	stopped.State = "exited"
	noAddr := web
	noAddr.Addrs = nil
	tests := []struct {
		name string
		cs   []ContainerState
		port int
		want string
	}{
		{"running container publishing the port", []ContainerState{web}, 9001, "172.18.0.2:8080"},
		{"another host port", []ContainerState{web}, 9100, ""},
		{"udp port", []ContainerState{web}, 9002, ""},
		{"container port unknown", []ContainerState{web}, 9003, ""},
		{"stopped container", []ContainerState{stopped}, 9001, ""},
		{"no network address (host network)", []ContainerState{noAddr}, 9001, ""},
		{"no containers", nil, 9001, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, directAddr(tt.cs, tt.port))
		})
	}
}

// TestLiveSetReportsAddressChanges: the event watch tells the proxy to
// read its routes again only when what they depend on changed.
func TestLiveSetReportsAddressChanges(t *testing.T) {
	l := newLiveState()
	web := ContainerState{ID: "c1", State: "running", Health: "starting", Addrs: []string{"172.18.0.2"}, Ports: []PublishedPort{{Port: 9001, Private: 8080}}}
	assert.True(t, l.set("p", []ContainerState{web}), "first seen")
	healthy := web
	healthy.Health = "healthy"
	assert.False(t, l.set("p", []ContainerState{healthy}), "health alone changes no address")
	moved := healthy
	moved.Addrs = []string{"172.18.0.3"}
	assert.True(t, l.set("p", []ContainerState{moved}), "another address")
	stopped := moved
	stopped.State = "exited"
	assert.True(t, l.set("p", []ContainerState{stopped}), "stopped")
	assert.False(t, l.set("p", []ContainerState{stopped}))
	assert.False(t, l.set("p", nil), "a stopped container leaving changes no route")
}
