package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/build"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/sqlite"
)

func TestPruneImages(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	current, err := build.FileDigest(bin)
	require.NoError(t, err)
	old := time.Now().Add(-48 * time.Hour)
	images := []engine.ImageInfo{
		{ID: "a", Tags: []string{"stackhub/runtime:" + current[:16]}, Labels: map[string]string{engine.LabelRuntime: current}, Created: old},
		{ID: "b", Tags: []string{"stackhub/runtime:0123456789abcdef"}, Labels: map[string]string{engine.LabelRuntime: "sha256:old"}, Created: old},
		{ID: "c", Tags: []string{"localhost:5000/hello:sh-0123456789abcdef", "localhost:5000/hello:porter-0123456789abcdef0123456789abcdef"},
			Labels: map[string]string{engine.LabelRuntime: "sha256:old"}, Created: old},
		{ID: "d", Tags: []string{"r.example/app:sh-" + fmt.Sprintf("%064d", 7), "mine:latest"}, Labels: map[string]string{engine.LabelRuntime: "sha256:old"}, Created: old},
		{ID: "e", Tags: []string{"stackhub/runtime:fedcba9876543210"}, Labels: map[string]string{engine.LabelRuntime: "sha256:other"}, Created: time.Now()},
		{ID: "f", Tags: []string{"localhost:5000/busy:sh-fedcba9876543210"}, Labels: map[string]string{engine.LabelRuntime: "sha256:old"}, Created: old},
	}
	var removed []string
	d := &enginetest.DockerFunc{
		ImagesWithLabelFunc: func(_ context.Context, label string) ([]engine.ImageInfo, error) {
			assert.Equal(t, engine.LabelRuntime, label)
			return images, nil
		},
		RemoveImageTagFunc: func(_ context.Context, tag string) error {
			if tag == "localhost:5000/busy:sh-fedcba9876543210" {
				return fmt.Errorf("image is in use: %w", engine.ErrConflict)
			}
			removed = append(removed, tag)
			return nil
		},
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	e, err := engine.New(engine.Config{RuntimeBinary: bin}, engine.Deps{Docker: d, Store: store,
		Runtime: &enginetest.BundleRuntimeFunc{}, Converter: &enginetest.BundleConverterFunc{}, Catalog: &enginetest.CatalogFunc{}})
	require.NoError(t, err)
	res, err := e.PruneImages(t.Context())
	require.NoError(t, err)
	want := []string{"stackhub/runtime:0123456789abcdef", "localhost:5000/hello:sh-0123456789abcdef",
		"localhost:5000/hello:porter-0123456789abcdef0123456789abcdef"}
	assert.Equal(t, want, removed, "only old images of other binaries, only tags StackHub gave, never a pulled bundle's")
	assert.Equal(t, want, res.Tags)
}

// TestPruneImagesOfManyBinaries: on a host where many StackHub binaries
// came and went within the day, the images of all but the three most
// recent other binaries go once ten minutes old.
func TestPruneImagesOfManyBinaries(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	var images []engine.ImageInfo
	for i := range 6 {
		// Binary i built its runtime i hours ago; binary 5 a minute ago.
		created := time.Now().Add(-time.Duration(i) * time.Hour)
		if i == 5 {
			created = time.Now().Add(-time.Minute)
		}
		images = append(images, engine.ImageInfo{ID: fmt.Sprint(i), Tags: []string{fmt.Sprintf("stackhub/runtime:%016d", i)},
			Labels: map[string]string{engine.LabelRuntime: fmt.Sprintf("sha256:bin%d", i)}, Created: created})
	}
	var removed []string
	d := &enginetest.DockerFunc{
		ImagesWithLabelFunc: func(context.Context, string) ([]engine.ImageInfo, error) { return images, nil },
		RemoveImageTagFunc: func(_ context.Context, tag string) error {
			removed = append(removed, tag)
			return nil
		},
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	e, err := engine.New(engine.Config{RuntimeBinary: bin}, engine.Deps{Docker: d, Store: store,
		Runtime: &enginetest.BundleRuntimeFunc{}, Converter: &enginetest.BundleConverterFunc{}, Catalog: &enginetest.CatalogFunc{}})
	require.NoError(t, err)
	_, err = e.PruneImages(t.Context())
	require.NoError(t, err)
	// Kept: the three most recent other binaries, 0, 5 and 1.
	assert.Equal(t, []string{"stackhub/runtime:0000000000000002", "stackhub/runtime:0000000000000003",
		"stackhub/runtime:0000000000000004"}, removed)
}
