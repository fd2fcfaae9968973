package service

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

// archiveServer is a server with an import folder and an engine that
// records the archive path of each install.
func archiveServer(t *testing.T, uploadLimit int64) (s *Server, dataDir, importDir string, got func() []string) {
	t.Helper()
	dataDir, importDir = t.TempDir(), t.TempDir()
	var mu sync.Mutex
	var archives []string
	eng := okEngine()
	eng.InstallFunc = func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
		mu.Lock()
		defer mu.Unlock()
		archives = append(archives, o.Archive)
		return redmine(engine.StatusInstalling, ""), nil
	}
	s = New(Config{DataDir: dataDir, APIToken: testToken, BodyLimit: 4096, ImportDir: importDir, UploadLimit: uploadLimit},
		eng, newMemUsers(), slog.New(slog.DiscardHandler))
	return s, dataDir, importDir, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), archives...)
	}
}

// upload sends data as the multipart field "archive" named filename.
func upload(t *testing.T, s *Server, filename string, data []byte) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("note", "ignored"))
	w, err := mw.CreateFormFile(uploadField, filename)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, uploadRoute, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := s.App().Test(req, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{status: res.StatusCode, body: b}
}

func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	}))
	return out
}

func TestUploadArchive(t *testing.T) {
	// 3 MiB passes fasthttp's in-memory cap (1 MiB): it is streamed.
	s, dataDir, _, got := archiveServer(t, 4<<20)
	data := bytes.Repeat([]byte("bundle!"), 3<<20/7)
	res := upload(t, s, "../../../etc/cron.d/evil.tgz", data)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var up apitype.Upload
	require.NoError(t, json.Unmarshal(res.body, &up))
	assert.Equal(t, int64(len(data)), up.Size)
	assert.Equal(t, "evil.tgz", up.Name, "only the base name is kept, for display")
	assert.Regexp(t, `^[0-9a-f]{32}$`, up.ID)
	// The client's name never became a path.
	assert.Equal(t, []string{filepath.Join(uploadsDir, up.ID+".tgz")}, filesUnder(t, dataDir))
	stored, err := os.ReadFile(filepath.Join(dataDir, uploadsDir, up.ID+".tgz"))
	require.NoError(t, err)
	assert.Equal(t, data, stored)

	res = do(t, s, request{method: "POST", target: "/api/v1/installations", body: `{"upload":"` + up.ID + `"}`, ctype: "application/json"})
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	assert.Equal(t, []string{filepath.Join(dataDir, uploadsDir, up.ID+".tgz")}, got())
	assert.Empty(t, filesUnder(t, dataDir), "an installed upload is removed")

	for _, id := range []string{"0123456789abcdef0123456789abcdef", "../stackhub.db", up.ID + "/../x", "/etc/passwd"} {
		res = do(t, s, request{method: "POST", target: "/api/v1/installations", body: `{"upload":"` + id + `"}`, ctype: "application/json"})
		assert.Equal(t, http.StatusNotFound, res.status, "%s: %s", id, res.body)
		assert.Contains(t, string(res.body), "does not exist", id)
	}
	assert.Len(t, got(), 1, "the engine saw no bad upload")
}

func TestUploadTooLarge(t *testing.T) {
	s, dataDir, _, _ := archiveServer(t, 2<<20)
	res := upload(t, s, "big.tgz", bytes.Repeat([]byte("x"), 3<<20))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
	assert.Contains(t, string(res.body), "larger than the upload limit of 2097152 bytes")
	assert.Contains(t, string(res.body), "--upload-limit")
	assert.Empty(t, filesUnder(t, dataDir), "nothing is left of a refused upload")

	// Just under the limit framing-wise but over it in content: refused
	// while copying, and nothing is left either.
	res = upload(t, s, "big.tgz", bytes.Repeat([]byte("x"), 2<<20+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
	assert.Empty(t, filesUnder(t, dataDir))

	// Other routes keep their small limit, streamed bodies included.
	res = do(t, s, request{method: "POST", target: "/api/v1/installations",
		body: `{"app":"redmine","name":"` + strings.Repeat("a", 2<<20) + `"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)

	res = do(t, s, request{method: "POST", target: uploadRoute, body: `{"archive":"x"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Contains(t, string(res.body), "multipart/form-data")
}

// TestImportFolder: only plain names of files in the import folder are
// installed; answers about anything else are the same whether or not the
// path exists.
func TestImportFolder(t *testing.T) {
	s, _, importDir, got := archiveServer(t, 0)
	require.NoError(t, os.WriteFile(filepath.Join(importDir, "hello.tgz"), []byte("archive"), 0o600))
	outside := filepath.Join(t.TempDir(), "secret.tgz")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(importDir, "link.tgz")))
	require.NoError(t, os.Symlink(outside+".missing", filepath.Join(importDir, "dangling.tgz")))
	require.NoError(t, os.Mkdir(filepath.Join(importDir, "sub.tgz"), 0o700))

	install := func(name string) response {
		body, _ := json.Marshal(map[string]string{"archive": name})
		return do(t, s, request{method: "POST", target: "/api/v1/installations", body: string(body), ctype: "application/json"})
	}
	res := install("hello.tgz")
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	assert.Equal(t, []string{filepath.Join(importDir, "hello.tgz")}, got())

	// Pairs whose answers must not differ but for the name echoed.
	pairs := [][2]string{
		{outside, outside + ".missing"},
		{"/etc/passwd", "/etc/no-such-file"},
		{"../" + filepath.Base(filepath.Dir(outside)) + "/secret.tgz", "../nowhere/secret.tgz"},
		{"link.tgz", "dangling.tgz"},
		{"sub.tgz", "missing.tgz"},
		{"hello.tgz/..", "nothing.tgz/.."},
	}
	for _, p := range pairs {
		a, b := install(p[0]), install(p[1])
		assert.GreaterOrEqual(t, a.status, 400, "%s was accepted", p[0])
		assert.Equal(t, a.status, b.status, "%s and %s", p[0], p[1])
		na, _ := json.Marshal(p[0])
		nb, _ := json.Marshal(p[1])
		assert.Equal(t, strings.ReplaceAll(string(a.body), strings.Trim(string(na), `"`), "NAME"),
			strings.ReplaceAll(string(b.body), strings.Trim(string(nb), `"`), "NAME"), "answers differ for %s and %s", p[0], p[1])
	}
	assert.Contains(t, string(install("/etc/passwd").body), "is not a file name in the import folder")
	assert.Contains(t, string(install("link.tgz").body), "the import folder holds no file")
	assert.Len(t, got(), 1, "the engine saw nothing but hello.tgz")

	// Without an import folder, names are refused outright.
	s2 := New(Config{DataDir: t.TempDir(), APIToken: testToken}, okEngine(), newMemUsers(), slog.New(slog.DiscardHandler))
	res = do(t, s2, request{method: "POST", target: "/api/v1/installations", body: `{"archive":"hello.tgz"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Contains(t, string(res.body), "--import-dir")
}

// TestUploadKeepsTheConnection sends an upload as a chunked body (as the
// CLI does: its length is not known ahead) over a real connection, then a
// second request on the same connection: the upload's last chunk must not
// be left for the next request to trip over.
func TestUploadKeepsTheConnection(t *testing.T) {
	s, _, _, _ := archiveServer(t, 4<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = s.Listen(ctx, addr) }()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	require.Eventually(t, func() bool {
		res, err := client.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)

	var dialed atomic.Int32
	client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	client.CloseIdleConnections()
	for i := range 3 {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile(uploadField, "hello.tgz")
		require.NoError(t, err)
		_, _ = fw.Write(bytes.Repeat([]byte("x"), 1000+i))
		require.NoError(t, mw.Close())
		// A reader of unknown length: sent chunked.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/api/v1/uploads", io.MultiReader(&body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := client.Do(req)
		require.NoError(t, err)
		out, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusCreated, res.StatusCode, "upload %d: %s", i, out)
	}
	assert.Equal(t, int32(1), dialed.Load(), "the three uploads shared one connection")
}
