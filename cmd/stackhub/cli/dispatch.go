package cli

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/stackhub/stackhub/mixin"
	"github.com/stackhub/stackhub/mixin/exec"
	"github.com/stackhub/stackhub/runtime"
)

// role picks what the binary does from the name it was called by: inside a
// bundle image the Porter layout links every entry point to this binary.
func role(argv0 string) func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	base := filepath.Base(argv0)
	dir := filepath.ToSlash(filepath.Dir(argv0))
	switch {
	case base == "run" && strings.HasSuffix(dir, "/cnab/app"):
		return runtime.Main
	case base == "porter-runtime" || base == "stackhub-bundle-runtime":
		return runtime.Main
	case base == "stackhub-runtime" || base == "stackhub-mixin" || (base == "stackhub" && strings.HasSuffix(dir, "mixins/stackhub")):
		return mixin.Main
	case base == "exec-runtime" || (base == "exec" && strings.HasSuffix(dir, "mixins/exec")):
		return exec.Main
	}
	return nil
}
