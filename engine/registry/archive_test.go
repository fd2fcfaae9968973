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

	"github.com/stackhub/stackhub/engine"
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

// TestExtractRefusesEntriesOutside: an archive with one entry that climbs
// out of it, or is absolute, is refused whole, and nothing is written
// outside (nor left inside) the extraction folder.
func TestExtractRefusesEntriesOutside(t *testing.T) {
	for _, name := range []string{"../evil", "bundle/../../evil", "/tmp/evil", "..", `..\evil`} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			for _, n := range []string{"bundle.json", name} {
				require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: 4}))
				_, err := tw.Write([]byte("evil"))
				require.NoError(t, err)
			}
			require.NoError(t, tw.Close())
			require.NoError(t, gz.Close())
			file := filepath.Join(t.TempDir(), "x.tgz")
			require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o600))

			_, err := extract(file)
			require.ErrorIs(t, err, engine.ErrInvalid)
			assert.Contains(t, err.Error(), "points outside the archive")
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "extraction left files behind")
			assert.NoFileExists(t, filepath.Join(filepath.Dir(tmp), "evil"))
			assert.NoFileExists(t, "/tmp/evil")
		})
	}
}
