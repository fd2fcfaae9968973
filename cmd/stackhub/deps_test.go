package main_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeTestProvidesItsDeps: the README's test command installs (or
// names) the Debian packages the tests need before running them, so that
// it passes on a fresh machine; the README lists them.
func TestMakeTestProvidesItsDeps(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	for _, target := range []string{"test", "test-integration"} {
		m := regexp.MustCompile(`(?m)^` + target + `:([^#\n]*)`).FindSubmatch(mk)
		require.NotNil(t, m, "Makefile has no %s target", target)
		assert.Contains(t, strings.Fields(string(m[1])), "deps", "make %s installs its deps first", target)
	}

	// Missing packages are installed (shown here without running apt-get),
	// each named.
	cmd := exec.Command("sh", "../../.ci/deps", "stackhub-no-such-command:stackhub-no-such-package", "sh:dash")
	cmd.Env = append(os.Environ(), "DEPS_DRY_RUN=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "apt-get install -y stackhub-no-such-package\n", "only the missing package")

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, pkg := range []string{"docker-registry", "debootstrap", "make deps", "root"} {
		assert.True(t, strings.Contains(string(readme), pkg), "the README lists what make test needs: %s", pkg)
	}
	assert.False(t, strings.Contains(string(readme), "unit, then end-to-end"), "make test is one go test run")
}
