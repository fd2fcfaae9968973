//go:build integration

package cli_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScriptSSH runs the scripts that reach a host over ssh (node add
// --ssh) against Debian's sshd on a loopback port. The "new host" is this
// machine as seen through sshd, with a stand-in docker first in its PATH
// that records what it was asked to run ($WORK/docker.log).
func TestScriptSSH(t *testing.T) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("this test needs Debian's openssh-server and openssh-client (make deps installs them): %v", err)
		}
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script-ssh",
		Setup: func(env *testscript.Env) error {
			if err := fakeServiceSetup(env); err != nil {
				return err
			}
			port, stopSSHD, err := startSSHD(env.WorkDir)
			if err != nil {
				return err
			}
			env.Defer(stopSSHD)
			env.Setenv("SSH_PORT", strconv.Itoa(port))
			env.Setenv("SSH_KEY", filepath.Join(env.WorkDir, ".ssh-test", "client"))
			return nil
		},
	})
}

// startSSHD starts sshd on a free loopback port, accepting a key made for
// the test, with PATH starting at dir/.ssh-test/bin (the stand-in docker).
func startSSHD(dir string) (int, func(), error) {
	d := filepath.Join(dir, ".ssh-test")
	bin := filepath.Join(d, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return 0, nil, err
	}
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(d, k)).CombinedOutput(); err != nil {
			return 0, nil, fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(d, "client.pub"))
	if err != nil {
		return 0, nil, err
	}
	if err := os.WriteFile(filepath.Join(d, "authorized_keys"), pub, 0o600); err != nil {
		return 0, nil, err
	}
	// The stand-in docker: records its arguments; "fails" when
	// $WORK/join-fails exists, as docker does for a host already in a swarm.
	docker := "#!/bin/sh\n" +
		"if [ -e " + filepath.Join(dir, "join-fails") + " ]; then echo 'Error response from daemon: This node is already part of a swarm.' >&2; exit 1; fi\n" +
		"echo \"$@\" >> " + filepath.Join(dir, "docker.log") + "\n" +
		"echo 'This node joined a swarm as a worker.'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(docker), 0o755); err != nil {
		return 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	conf := filepath.Join(d, "sshd_config")
	if err := os.WriteFile(conf, []byte(strings.Join([]string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(d, "host"),
		"AuthorizedKeysFile " + filepath.Join(d, "authorized_keys"),
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"StrictModes no", // the work folder is under /tmp
		"PidFile " + filepath.Join(d, "sshd.pid"),
		"SetEnv PATH=" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"",
	}, "\n")), 0o600); err != nil {
		return 0, nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return 0, nil, fmt.Errorf("sshd's privilege separation folder: %w", err)
	}
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", conf)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.Close()
			return port, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return 0, nil, fmt.Errorf("sshd did not listen on port %d: %s", port, errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
