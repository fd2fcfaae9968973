package main_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryPackageHasOneDocComment walks the repository: each package has
// exactly one package comment, saying what it owns.
func TestEveryPackageHasOneDocComment(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dirs := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin" || d.Name() == "out") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			dirs[filepath.Dir(p)] = append(dirs[filepath.Dir(p)], p)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for dir, files := range dirs {
		rel, _ := filepath.Rel(root, dir)
		var documented []string
		for _, f := range files {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.PackageClauseOnly|parser.ParseComments)
			require.NoError(t, err)
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				documented = append(documented, filepath.Base(f))
			}
		}
		assert.Len(t, documented, 1, "package %s: want exactly one file with a package comment, have %v", rel, documented)
	}
}
