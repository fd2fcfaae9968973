//go:build integration

package restic_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/restic"
)

// exercise runs the adapter through what the engine asks of it: two
// backups of a folder (the second adds only what changed), list, read a
// staged file back, restore the first, delete.
func exercise(t *testing.T, r *restic.Restic) {
	t.Helper()
	ctx := t.Context()
	src := t.TempDir()
	bulk := make([]byte, 2<<20)
	_, _ = rand.Read(bulk)
	require.NoError(t, os.WriteFile(filepath.Join(src, "bulk"), bulk, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "value"), []byte("first"), 0o644))
	req := engine.BackupRequest{Installation: "shbk-app", Paths: []string{src}, Files: map[string][]byte{"installation.json": []byte(`{"app":"x"}`)},
		Tags: map[string]string{engine.TagApp: "x", engine.TagVersion: "1.0"}}
	first, err := r.Backup(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "shbk-app", first.Installation)
	assert.Equal(t, "x", first.Tags[engine.TagApp])
	assert.Greater(t, first.Added, int64(2<<20)*9/10)

	require.NoError(t, os.WriteFile(filepath.Join(src, "value"), []byte("second"), 0o644))
	second, err := r.Backup(ctx, req)
	require.NoError(t, err)
	assert.Less(t, second.Added*20, first.Added, "the second backup adds only what changed")

	list, err := r.List(ctx, "shbk-app")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, first.ID, list[0].ID)

	rec, err := r.ReadFile(ctx, first.ID, "installation.json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"app":"x"}`, string(rec))

	dst := t.TempDir()
	require.NoError(t, r.Restore(ctx, first.ID, src, dst))
	got, err := os.ReadFile(filepath.Join(dst, src, "value"))
	require.NoError(t, err)
	assert.Equal(t, "first", string(got))
	got, err = os.ReadFile(filepath.Join(dst, src, "bulk"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(bulk, got))

	require.NoError(t, r.Delete(ctx, first.ID))
	list, err = r.List(ctx, "shbk-app")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, second.ID, list[0].ID)
}

func testLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func TestLocalFolder(t *testing.T) {
	dir := t.TempDir()
	r, err := restic.New(restic.Options{Dir: filepath.Join(dir, "backups")}, testLog())
	require.NoError(t, err)
	exercise(t, r)

	// Retention: of three backups, keep the last two.
	src := t.TempDir()
	for i := range 2 {
		require.NoError(t, os.WriteFile(filepath.Join(src, "n"), []byte(fmt.Sprint(i)), 0o644))
		_, err := r.Backup(t.Context(), engine.BackupRequest{Installation: "shbk-app", Paths: []string{src}})
		require.NoError(t, err)
	}
	before, err := r.List(t.Context(), "shbk-app")
	require.NoError(t, err)
	require.Len(t, before, 3)
	removed, err := r.Forget(t.Context(), "shbk-app", engine.KeepPolicy{Last: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{before[0].ID}, removed, "the oldest goes")
	after, err := r.List(t.Context(), "shbk-app")
	require.NoError(t, err)
	assert.Equal(t, []string{before[1].ID, before[2].ID}, []string{after[0].ID, after[1].ID})

	st, err := os.Stat(r.KeyPath())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	// Another key cannot open it.
	other, err := restic.New(restic.Options{Dir: filepath.Join(dir, "other"), Repository: r.Target()}, testLog())
	require.NoError(t, err)
	_, err = other.List(t.Context(), "shbk-app")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wrong password")
	// A key others can read is refused.
	require.NoError(t, os.Chmod(r.KeyPath(), 0o644))
	_, err = restic.New(restic.Options{Dir: filepath.Join(dir, "backups")}, testLog())
	require.Error(t, err)
	assert.Contains(t, engine.HintOf(err), "chmod 600")
}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits until something accepts on the port.
func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

// writeKey writes an ed25519 private key (OpenSSH format, 0600) and
// returns its authorized_keys line.
func writeKey(t *testing.T, path string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return string(ssh.MarshalAuthorizedKey(sp))
}

// TestSFTP runs Debian's sshd on a loopback port with a key made for the
// test and backs up to a folder over SFTP.
func TestSFTP(t *testing.T) {
	sshd := "/usr/sbin/sshd"
	_, err := os.Stat(sshd)
	require.NoError(t, err, "this test needs Debian's openssh-server (make deps installs it)")
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	hostKey := filepath.Join(dir, "host_key")
	writeKey(t, hostKey)
	clientKey := filepath.Join(dir, "client_key")
	authorized := writeKey(t, clientKey)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(authorized), 0o600))
	port := freePort(t)
	conf := filepath.Join(dir, "sshd_config")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join([]string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		// The test folder is under /tmp (mode 1777), which StrictModes refuses.
		"StrictModes no",
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"Subsystem sftp internal-sftp",
		"",
	}, "\n")), 0o600))
	require.NoError(t, os.MkdirAll("/run/sshd", 0o755), "sshd's privilege separation folder")
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd: %s", errOut.String())
		}
	})
	waitListening(t, port)

	repo := filepath.Join(dir, "remote", "repo")
	r, err := restic.New(restic.Options{
		Dir:        filepath.Join(dir, "backups"),
		Repository: "sftp:root@127.0.0.1:" + repo,
		Extended: []string{fmt.Sprintf("sftp.command=ssh -i %s -p %d -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 -s sftp",
			clientKey, port)},
	}, testLog())
	require.NoError(t, err)
	exercise(t, r)
	_, err = os.Stat(filepath.Join(repo, "config"))
	require.NoError(t, err, "the repository is where the SFTP target says")

	// With sshd gone the target is unreachable, and the error says why.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	cold, err := restic.New(restic.Options{
		Dir:        filepath.Join(dir, "cold"),
		Repository: "sftp:root@127.0.0.1:" + repo,
		Extended: []string{fmt.Sprintf("sftp.command=ssh -i %s -p %d -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 -s sftp",
			clientKey, port)},
	}, testLog())
	require.NoError(t, err)
	_, err = cold.List(t.Context(), "shbk-app")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unable to start the sftp session")
	assert.Contains(t, engine.HintOf(err), "reachable")
}

// s3Server is the S3-compatible server binary: $STACKHUB_S3_SERVER, or
// the one `make s3-server` builds.
func s3Server(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("STACKHUB_S3_SERVER")
	if bin == "" {
		bin = "../../.cache/bin/versitygw"
	}
	abs, err := filepath.Abs(bin)
	require.NoError(t, err)
	_, err = os.Stat(abs)
	require.NoError(t, err, "this test needs an S3-compatible server: run `make s3-server` (Versity's S3 gateway, built from the Go module proxy)")
	return abs
}

// TestS3 starts Versity's S3 gateway over a folder on a loopback port and
// backs up to a bucket on it, as to any S3-compatible storage.
func TestS3(t *testing.T) {
	bin := s3Server(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "gateway")
	require.NoError(t, os.MkdirAll(root, 0o700))
	port := freePort(t)
	const access, secret = "shbk-access", "shbk-secret-key-for-tests"
	cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", fmt.Sprintf("127.0.0.1:%d", port), "posix", root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("s3 gateway: %s", out.String())
		}
	})
	waitListening(t, port)

	target := fmt.Sprintf("s3:http://127.0.0.1:%d/shbk-bucket/stackhub", port)
	r, err := restic.New(restic.Options{Dir: filepath.Join(dir, "backups"), Repository: target,
		Env: []string{"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret}}, testLog())
	require.NoError(t, err)
	exercise(t, r)
	_, err = os.Stat(filepath.Join(root, "shbk-bucket", "stackhub", "config"))
	require.NoError(t, err, "the repository is in the bucket")

	// Wrong credentials: refused, with the server's reason.
	bad, err := restic.New(restic.Options{Dir: filepath.Join(dir, "bad"), Repository: target,
		Env: []string{"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=wrong"}}, testLog())
	require.NoError(t, err)
	_, err = bad.List(t.Context(), "shbk-app")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "signature we calculated does not match")
}
