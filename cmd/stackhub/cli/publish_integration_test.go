//go:build integration

package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScriptPublish runs testdata/script-publish: `stackhub catalog
// publish` (what `make publish` runs) against Debian's docker-registry on
// loopback, then a real `stackhub serve` installs a published app by its
// registry reference.
func TestScriptPublish(t *testing.T) {
	bin := os.Getenv("STACKHUB_BIN")
	if bin == "" {
		t.Fatal("STACKHUB_BIN is not set: run `make build test-images` and pass STACKHUB_BIN=$PWD/bin/stackhub")
	}
	catalog, err := filepath.Abs("../../../testdata/bundles")
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	// Publishing and installing tag invocation images into the registry's
	// name; they go with it.
	t.Cleanup(func() {
		out, _ := exec.Command("docker", "images", "-q", "--filter", "reference="+reg+"/*").Output()
		if ids := splitFields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
		}
	})
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script-publish",
		Setup: func(env *testscript.Env) error {
			setHome(env)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			port := ln.Addr().(*net.TCPAddr).Port
			_ = ln.Close()
			prefix := fmt.Sprintf("shpub%d", port)
			env.Setenv("ADDR", fmt.Sprintf("127.0.0.1:%d", port))
			env.Setenv("STACKHUB_SERVER", fmt.Sprintf("http://127.0.0.1:%d", port))
			env.Setenv("STACKHUB_ADMIN_PASSWORD", scriptPassword)
			env.Setenv("STACKHUB_RUNTIME_BINARY", bin)
			env.Setenv("STACKHUB_LOG_LEVEL", "warn")
			env.Setenv("CATALOG", catalog)
			env.Setenv("REGISTRY", reg)
			env.Setenv("PREFIX", prefix)
			env.Setenv("STACKHUB_LANG", "en")
			env.Defer(func() { removeProjects(prefix) })
			return nil
		},
	})
}
