package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBundlePublishAndArchiveFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"reference with registry", []string{"bundle", "publish", "--reference", "r/x:v1", "--registry", "foo"}, "--reference cannot be combined"},
		{"archive without reference", []string{"bundle", "publish", "-a", "x.tgz"}, "-a needs --reference"},
		{"archive with folder", []string{"bundle", "publish", "-a", "x.tgz", "-r", "r/x:v1", "dir"}, "do not pass a bundle folder"},
		{"archive needs reference", []string{"bundle", "archive", "x.tgz"}, "--reference is required"},
		{"bad compression", []string{"bundle", "archive", "x.tgz", "-r", "r/x:v1", "--compression", "Fast"}, "compression \"Fast\" is not known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &Factory{IO: IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
			code := Run(t.Context(), f, tt.args)
			assert.Equal(t, 2, code, errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
		})
	}
}
