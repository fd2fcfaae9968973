package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		ref  string
		want imageRef
	}{
		{ref: "nginx", want: imageRef{repository: "nginx"}},
		{ref: "nginx:1.25", want: imageRef{repository: "nginx", tag: "1.25"}},
		{ref: "localhost:5000/app", want: imageRef{repository: "localhost:5000/app"}},
		{ref: "localhost:5000/app:v1", want: imageRef{repository: "localhost:5000/app", tag: "v1"}},
		{ref: "reg/app@sha256:abc", want: imageRef{repository: "reg/app", digest: "sha256:abc"}},
		{ref: "reg:5000/app:v1@sha256:abc", want: imageRef{repository: "reg:5000/app", tag: "v1", digest: "sha256:abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			assert.Equal(t, tt.want, parseImageRef(tt.ref))
		})
	}
}

func TestInstallerImage(t *testing.T) {
	tests := []struct {
		name       string
		image      bundleImage
		relocation map[string]string
		want       string
	}{
		{name: "no digest", image: bundleImage{Image: "reg/app:porter-1"}, want: "reg/app:porter-1"},
		{name: "pinned", image: bundleImage{ImageType: "docker", Image: "reg/app:porter-1", ContentDigest: "sha256:a"}, want: "reg/app@sha256:a"},
		{
			name:       "relocated",
			image:      bundleImage{ImageType: "docker", Image: "reg/app:porter-1", ContentDigest: "sha256:a"},
			relocation: map[string]string{"reg/app@sha256:a": "other/app@sha256:a"},
			want:       "other/app@sha256:a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bundleFile{InvocationImages: []bundleImage{tt.image}}
			assert.Equal(t, tt.want, installerImage(b, tt.relocation))
		})
	}
}

func TestObjectSecrets(t *testing.T) {
	v := map[string]any{"user": "admin", "auth": map[string]any{"pw": "hunter2", "n": 42.0}, "list": []any{"a"}}
	got := objectSecrets(v)
	assert.ElementsMatch(t, []string{
		`{"auth":{"n":42,"pw":"hunter2"},"list":["a"],"user":"admin"}`,
		"admin",
		`{"n":42,"pw":"hunter2"}`,
		"hunter2",
		"42",
		`["a"]`,
		"a",
	}, got)
	assert.Empty(t, objectSecrets("plain"))
}

func TestPathsHost(t *testing.T) {
	p := Paths{Root: "/tmp/root"}
	assert.Equal(t, "/tmp/root/cnab/app/x.txt", p.Host("x.txt"))
	assert.Equal(t, "/tmp/root/porter/state.tgz", p.StateArchive())
	assert.Equal(t, "/tmp/root/cnab/app/mixins/exec/runtimes/exec-runtime", p.MixinRuntime("exec"))
	assert.Equal(t, "/cnab/app/porter.yaml", Paths{Root: "/"}.Manifest())
	assert.Equal(t, "/cnab/bundle.json", Paths{}.Bundle())
}
