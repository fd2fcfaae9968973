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
