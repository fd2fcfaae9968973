package main_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerUse is what marks a test file as one that talks to the Docker
// Engine: an integration test that mentions Docker, or any test that runs
// the docker command or opens a client on the daemon.
var (
	integrationTag = regexp.MustCompile(`(?m)^//go:build .*\bintegration\b`)
	mentionsDocker = regexp.MustCompile(`(?i)docker`)
	dockerClient   = regexp.MustCompile(`exec\.Command(Context)?\([^,)]*,?\s*"docker"|\bdocker\.New\(|\bcompose\.NewClient\(`)
)

// TestMakeTestSplitsTheDockerPackages: make test runs the packages of
// DOCKER_PKGS one at a time and every other package alongside them. A
// package whose tests use the Docker Engine must be in the list (two of
// them at once would see each other's containers, networks, volumes and
// swarm), and the list names only such packages.
func TestMakeTestSplitsTheDockerPackages(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^DOCKER_PKGS := (.*)$`).FindSubmatch(mk)
	require.NotNil(t, m, "Makefile has no DOCKER_PKGS")
	var listed []string
	for _, p := range strings.Fields(string(m[1])) {
		listed = append(listed, strings.TrimPrefix(p, "./"))
	}

	uses := map[string]bool{}
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if (integrationTag.Match(src) && mentionsDocker.Match(src)) || dockerClient.Match(src) {
			rel, err := filepath.Rel("../..", filepath.Dir(path))
			if err != nil {
				return err
			}
			uses[filepath.ToSlash(rel)] = true
		}
		return nil
	}))

	for pkg := range uses {
		assert.Contains(t, listed, pkg, "the tests of %s use Docker: add ./%s to DOCKER_PKGS in the Makefile", pkg, pkg)
	}
	for _, pkg := range listed {
		assert.True(t, uses[pkg], "DOCKER_PKGS names ./%s, whose tests do not use Docker", pkg)
	}
	assert.True(t, slices.IsSorted(listed), "DOCKER_PKGS is sorted: %v", listed)
}
