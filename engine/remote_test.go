package engine

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/manifest"
)

func TestParseBundleReference(t *testing.T) {
	tests := []struct {
		name, ref, want string
		warn            bool
		wantErr         bool
	}{
		{name: "tagged", ref: "localhost:5000/hello:v0.1.0", want: "localhost:5000/hello:v0.1.0"},
		{name: "version tag gets v", ref: "localhost:5000/hello:1.2.3", want: "localhost:5000/hello:v1.2.3", warn: true},
		{name: "two-part version", ref: "reg.lan/apps/hello:0.1", want: "reg.lan/apps/hello:v0.1", warn: true},
		{name: "plain number tag kept", ref: "127.0.0.1:5000/plain:1", want: "127.0.0.1:5000/plain:1"},
		{name: "latest kept", ref: "reg.lan/hello:latest", want: "reg.lan/hello:latest"},
		{name: "digest only", ref: "127.0.0.1:5000/hello@sha256:" + sixtyFourHex, want: "127.0.0.1:5000/hello@sha256:" + sixtyFourHex},
		{name: "no tag", ref: "localhost:5000/hello", wantErr: true},
		{name: "empty", ref: "", wantErr: true},
		{name: "spaces", ref: "local host/hello:v1", wantErr: true},
		{name: "double slash", ref: "localhost:5000//hello:v1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warning, err := ParseBundleReference(tt.ref)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.warn, warning != "", warning)
		})
	}
}

const sixtyFourHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestInvocationImageForPublishedReference(t *testing.T) {
	inv := invocationImage{Image: "127.0.0.1:5000/hello@sha256:" + sixtyFourHex, ContentDigest: "sha256:" + sixtyFourHex}
	assert.Equal(t, "127.0.0.1:5000/hello:sh-"+sixtyFourHex, localInvocationTag(inv))
	assert.Equal(t, "127.0.0.1:5000/hello:porter-", InvocationImageFor("127.0.0.1:5000/hello:v0.1.0")[:len("127.0.0.1:5000/hello:porter-")])
}

func TestPinInvocationImage(t *testing.T) {
	in := []byte(`{"name":"hello","invocationImages":[{"image":"localhost:5000/hello:porter-x","imageType":"docker"}],"custom":{"a":1}}`)
	out, err := pinInvocationImage(in, "127.0.0.1:5000/hello@sha256:"+sixtyFourHex, "sha256:"+sixtyFourHex)
	require.NoError(t, err)
	inv, err := invocationOf(out)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:5000/hello@sha256:"+sixtyFourHex, inv.Image)
	assert.Equal(t, "sha256:"+sixtyFourHex, inv.ContentDigest)
	assert.Equal(t, "docker", inv.ImageType)
	assert.Contains(t, string(out), `"custom":{"a":1}`)
}

func TestCompressionLevel(t *testing.T) {
	for _, name := range []string{"", "NoCompression", "BestSpeed", "BestCompression", "DefaultCompression", "HuffmanOnly"} {
		_, err := CompressionLevel(name)
		require.NoError(t, err, name)
	}
	_, err := CompressionLevel("Fast")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestPublishOptionsValidate(t *testing.T) {
	o := PublishOptions{Archive: "x.tgz"}
	require.ErrorIs(t, o.Validate(), ErrInvalid)
	o = PublishOptions{Archive: "x.tgz", Reference: "r/x:v1", Tag: "a:b"}
	require.ErrorIs(t, o.Validate(), ErrInvalid)
}

func TestRelocationFile(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want map[string]string
	}{
		{"catalog bundle", fstest.MapFS{"porter.yaml": {Data: []byte("name: x")}}, nil},
		{"empty map", fstest.MapFS{"relocation-mapping.json": {Data: []byte("{}")}}, nil},
		{"null map", fstest.MapFS{"relocation-mapping.json": {Data: []byte("null")}}, nil},
		{"relocated", fstest.MapFS{"relocation-mapping.json": {Data: []byte(`{"a/b:1":"r.example/b@sha256:00"}`)}},
			map[string]string{"/cnab/app/relocation-mapping.json": `{"a/b:1":"r.example/b@sha256:00"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, relocationFile(tt.fsys))
		})
	}
}

func TestRequiresPrivileged(t *testing.T) {
	tests := []struct {
		name, required string
		docker, priv   bool
	}{
		{"none", "", false, false},
		{"docker", "required:\n  - docker\n", true, false},
		{"privileged", "required:\n  - docker:\n      privileged: true\n", true, true},
		{"not privileged", "required:\n  - docker:\n      privileged: false\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse([]byte("schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nmixins: [exec]\n"+tt.required+
				"install: []\nupgrade: []\nuninstall: []\n"), "porter.yaml")
			require.NoError(t, err)
			assert.Equal(t, tt.docker, requiresDocker(m))
			assert.Equal(t, tt.priv, requiresPrivileged(m))
		})
	}
}
