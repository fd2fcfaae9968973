package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteTGZIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, "blob")
	require.NoError(t, os.WriteFile(blob, []byte("layer bytes"), 0o600))
	files := func() []archiveFile {
		return []archiveFile{
			{Name: "relocation-mapping.json", Data: []byte(`{}`)},
			{Name: "artifacts/layout/blobs/sha256/abc", Path: blob},
			{Name: "bundle.json", Data: []byte(`{"name":"hello"}`)},
		}
	}
	var a, b bytes.Buffer
	require.NoError(t, writeTGZ(&a, gzip.BestCompression, files()))
	// A later mtime on the blob must not change a byte.
	require.NoError(t, os.Chtimes(blob, timeNowPlus(), timeNowPlus()))
	require.NoError(t, writeTGZ(&b, gzip.BestCompression, files()))
	assert.Equal(t, sha256.Sum256(a.Bytes()), sha256.Sum256(b.Bytes()))

	gz, err := gzip.NewReader(&a)
	require.NoError(t, err)
	assert.True(t, gz.ModTime.IsZero() || gz.ModTime.Unix() == 0)
	assert.Empty(t, gz.Name)
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		assert.Equal(t, int64(0), h.ModTime.Unix(), h.Name)
		assert.Zero(t, h.Uid)
		if h.Typeflag == tar.TypeDir {
			assert.Equal(t, int64(0o755), h.Mode, h.Name)
		} else {
			assert.Equal(t, int64(0o644), h.Mode, h.Name)
		}
	}
	assert.Equal(t, []string{
		"artifacts/", "artifacts/layout/", "artifacts/layout/blobs/", "artifacts/layout/blobs/sha256/",
		"artifacts/layout/blobs/sha256/abc", "bundle.json", "relocation-mapping.json",
	}, names)
}

func timeNowPlus() time.Time { return time.Now().Add(time.Hour) }
