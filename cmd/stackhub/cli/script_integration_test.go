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

// TestScriptIntegration runs the scripts of testdata/script-integration
// against a real `stackhub serve` on the real Docker Engine. The served
// bundles need the static stackhub binary ($STACKHUB_BIN, built by make).
func TestScriptIntegration(t *testing.T) {
	bin := os.Getenv("STACKHUB_BIN")
	if bin == "" {
		t.Fatal("STACKHUB_BIN is not set: run `make build test-images` and pass STACKHUB_BIN=$PWD/bin/stackhub")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("no Docker daemon answers: %v: %s", err, out)
	}
	catalog, err := filepath.Abs("../../../testdata/bundles")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script-integration",
		Setup: func(env *testscript.Env) error {
			setHome(env)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			port := ln.Addr().(*net.TCPAddr).Port
			_ = ln.Close()
			prefix := fmt.Sprintf("shscript%d", port)
			env.Setenv("ADDR", fmt.Sprintf("127.0.0.1:%d", port))
			env.Setenv("STACKHUB_SERVER", fmt.Sprintf("http://127.0.0.1:%d", port))
			env.Setenv("STACKHUB_ADMIN_PASSWORD", scriptPassword)
			env.Setenv("STACKHUB_RUNTIME_BINARY", bin)
			env.Setenv("CATALOG", catalog)
			env.Setenv("PREFIX", prefix)
			env.Setenv("STACKHUB_LANG", "en")
			env.Defer(func() { removeProjects(prefix) })
			return nil
		},
	})
}

// removeProjects removes whatever a failed script left behind.
func removeProjects(prefix string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name=^"+prefix+"-").Output()
	if len(out) > 0 {
		args := append([]string{"rm", "-f", "-v"}, splitFields(string(out))...)
		_ = exec.Command("docker", args...).Run()
	}
	out, _ = exec.Command("docker", "network", "ls", "-q", "--filter", "name=^"+prefix+"-").Output()
	if len(out) > 0 {
		_ = exec.Command("docker", append([]string{"network", "rm"}, splitFields(string(out))...)...).Run()
	}
	out, _ = exec.Command("docker", "volume", "ls", "-q", "--filter", "name=^"+prefix+"-").Output()
	if len(out) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, splitFields(string(out))...)...).Run()
	}
}

func splitFields(s string) []string {
	var out []string
	field := ""
	for _, r := range s {
		if r == '\n' || r == ' ' || r == '\t' {
			if field != "" {
				out = append(out, field)
			}
			field = ""
			continue
		}
		field += string(r)
	}
	if field != "" {
		out = append(out, field)
	}
	return out
}
