package mixin

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackageComments checks that every package under mixin/ that this
// team owns has exactly one package comment.
func TestPackageComments(t *testing.T) {
	for _, dir := range []string{".", "compose", "compose/composetest", "ports", "schema"} {
		t.Run(dir, func(t *testing.T) {
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			n := 0
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
					continue
				}
				f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.PackageClauseOnly|parser.ParseComments)
				require.NoError(t, err)
				if f.Doc != nil {
					n++
				}
			}
			assert.Equal(t, 1, n, "package comments in %s", dir)
		})
	}
}
