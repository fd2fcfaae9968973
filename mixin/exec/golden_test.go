package exec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// assertGolden compares got with testdata/name, rewriting it under -update.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdataPath, name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test -update")
	assert.Equal(t, string(want), got)
}

// outputsText renders every file of dir as "== name ==\nvalue\n".
func outputsText(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		v, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		b.WriteString("== " + n + " ==\n" + string(v) + "\n")
	}
	return b.String()
}

// testMixin returns a mixin whose outputs go to a temp dir, running in a
// fresh temp working directory.
func testMixin(t *testing.T, stdin string) (*Mixin, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	work := t.TempDir()
	t.Chdir(work)
	var stdout, stderr bytes.Buffer
	m := New(strings.NewReader(stdin), &stdout, &stderr)
	m.OutputsDir = filepath.Join(work, "porter", "outputs")
	return m, &stdout, &stderr, work
}
