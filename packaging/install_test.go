package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runInstall runs install.sh with args and returns its combined output.
func runInstall(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("sh", append([]string{"install.sh"}, args...)...).CombinedOutput()
	return string(out), err
}

func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stackhub_linux_amd64")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho stackhub\n"), 0o644))
	return p
}

// TestInstallScriptIntoRoot installs into a temporary root (never this
// machine's systemd): binary, unit, enablement, user and config land where
// systemd expects them, and a second run keeps the admin's edited config.
func TestInstallScriptIntoRoot(t *testing.T) {
	root := t.TempDir()
	bin := fakeBinary(t)
	out, err := runInstall(t, "--binary", bin, "--root", root, "--addr", "0.0.0.0:9100")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Installed StackHub into")

	st, err := os.Stat(filepath.Join(root, "usr/local/bin/stackhub"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/stackhub.service"))
	require.NoError(t, err)
	want, err := os.ReadFile("stackhub.service")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(unit), "install.sh embeds packaging/stackhub.service verbatim")
	link, err := os.Readlink(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/stackhub.service"))
	require.NoError(t, err)
	assert.Equal(t, "/etc/systemd/system/stackhub.service", link, "enabled")
	users, err := os.ReadFile(filepath.Join(root, "etc/sysusers.d/stackhub.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(users), "u stackhub - \"StackHub service\" /var/lib/stackhub")
	assert.Contains(t, string(users), "m stackhub docker")
	st, err = os.Stat(filepath.Join(root, "var/lib/stackhub"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	cfgPath := filepath.Join(root, "etc/stackhub/config.yaml")
	cfg, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "addr: 0.0.0.0:9100\n")
	assert.Contains(t, string(cfg), "data: /var/lib/stackhub\n")

	// Again, over an edited config: the binary is replaced, the config kept.
	require.NoError(t, os.WriteFile(cfgPath, []byte("addr: 127.0.0.1:9000\n"), 0o640))
	out, err = runInstall(t, "--binary", bin, "--root", root)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Keeping")
	cfg, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	assert.Equal(t, "addr: 127.0.0.1:9000\n", string(cfg))
}

func TestInstallScriptHelp(t *testing.T) {
	out, err := runInstall(t, "--help")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "install.sh takes a server from nothing"), out)
	assert.Contains(t, out, "--root DIR")
	assert.NotContains(t, out, "set -eu")
}

// TestInstallScriptRefuses: bad input is refused with a reason, before
// anything is written.
func TestInstallScriptRefuses(t *testing.T) {
	bin := fakeBinary(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no binary", nil, "pass --binary PATH or --binary URL"},
		{"missing binary", []string{"--binary", "/nonexistent/stackhub"}, "binary /nonexistent/stackhub does not exist"},
		{"bad addr", []string{"--binary", bin, "--addr", "9000"}, "--addr 9000 is not HOST:PORT"},
		{"wrong digest", []string{"--binary", bin, "--sha256", strings.Repeat("0", 64)}, "refusing it"},
		{"unknown option", []string{"--binary", bin, "--yes"}, "unknown option --yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			out, err := runInstall(t, append(tt.args, "--root", root)...)
			require.Error(t, err, out)
			assert.Contains(t, out, tt.want)
			entries, err := os.ReadDir(root)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is written")
		})
	}
}

// TestUnitIsHardened checks the unit keeps its sandbox.
func TestUnitIsHardened(t *testing.T) {
	unit, err := os.ReadFile("stackhub.service")
	require.NoError(t, err)
	for _, line := range []string{
		"User=stackhub", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=", "StateDirectory=stackhub", "SystemCallFilter=@system-service",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "ExecStart=/usr/local/bin/stackhub serve",
		"WantedBy=multi-user.target",
	} {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(line)+`$`, string(unit))
	}
	// Where systemd's own checker is installed, it must accept every
	// directive (it reads the file only; no systemd state is touched).
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		out, _ := exec.Command(analyze, "verify", "stackhub.service").CombinedOutput()
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line != "" && !strings.Contains(line, "/usr/local/bin/stackhub is not executable") {
				t.Errorf("systemd-analyze verify: %s", line)
			}
		}
	}
}
