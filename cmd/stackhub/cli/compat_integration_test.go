//go:build integration

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/cmd/stackhub/cli"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/docker"
)

// compat runs `stackhub bundle ...` in-process against one data folder.
type compat struct {
	t   *testing.T
	env map[string]string
}

func newCompat(t *testing.T) *compat {
	t.Helper()
	dk, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, dk.Ping(t.Context()), "the compatibility suite needs a running Docker Engine")
	dk.Close()
	bin := os.Getenv("STACKHUB_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "stackhub")
		cmd := exec.Command("go", "build", "-o", bin, "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	return &compat{t: t, env: map[string]string{
		"STACKHUB_DATA": t.TempDir(), "STACKHUB_RUNTIME_BINARY": bin, "STACKHUB_CONFIG": "/dev/null",
	}}
}

// with returns a copy of c reporting to t, with env k=v set.
func (c *compat) with(t *testing.T, k, v string) *compat {
	env := map[string]string{k: v}
	for ek, ev := range c.env {
		if ek != k {
			env[ek] = ev
		}
	}
	return &compat{t: t, env: env}
}

// on returns c reporting to the subtest t.
func (c *compat) on(t *testing.T) *compat { return &compat{t: t, env: c.env} }

func (c *compat) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	f := &cli.Factory{IO: cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(k string) string {
		if v, ok := c.env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}}
	code = cli.Run(c.t.Context(), f, append([]string{"bundle"}, args...))
	return out.String(), errOut.String(), code
}

func (c *compat) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	require.Equal(c.t, 0, code, "stackhub bundle %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	return out
}

func (c *compat) fails(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	require.NotEqual(c.t, 0, code, "stackhub bundle %s should fail\nstdout:\n%s", strings.Join(args, " "), out)
	return errOut
}

func (c *compat) output(inst, name string) string {
	c.t.Helper()
	return c.ok("outputs", "show", name, "-i", inst)
}

// removeShpcImages removes, after the test, the bundle images of the
// fixtures named shpc-<fixture> (any registry).
func removeShpcImages(t *testing.T, fixtures ...string) {
	t.Helper()
	removeImages(t, func(tag string) bool {
		for _, f := range fixtures {
			if strings.Contains(tag, "/shpc-"+f+":") {
				return true
			}
		}
		return false
	})
}

// removeImages removes, after the test, the bundle images with a tag that
// match accepts.
func removeImages(t *testing.T, match func(tag string) bool) {
	t.Helper()
	t.Cleanup(func() {
		dk, err := docker.New()
		if err != nil {
			return
		}
		defer dk.Close()
		ctx := context.WithoutCancel(t.Context())
		imgs, err := dk.ImagesWithLabel(ctx, engine.LabelBundleDigest)
		if err != nil {
			t.Logf("list bundle images: %v", err)
			return
		}
		for _, img := range imgs {
			for _, tag := range img.Tags {
				if match(tag) {
					if err := dk.RemoveImageTag(ctx, tag); err != nil {
						t.Logf("remove %s: %v", tag, err)
					}
				}
			}
		}
	})
}

func bundleFile(name string) string {
	return filepath.Join("..", "..", "..", "testdata", "compat", name, "porter.yaml")
}

// TestCompat's subtests run in parallel (two at a time: go test's -parallel
// is GOMAXPROCS) on one data folder, which the store shares as two
// processes would. Each installs its own fixture under its own installation
// name, builds in its own bundle folder and removes only its own images.
// creds is not parallel: it sets COMPAT_TOKEN in the test process's
// environment, and it runs before the parallel ones resume.
func TestCompat(t *testing.T) {
	c := newCompat(t)

	t.Run("params", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("params")
		cfg := filepath.Join(t.TempDir(), "cfg.txt")
		require.NoError(t, os.WriteFile(cfg, []byte("hi"), 0o644))
		errOut := c.fails("install", "-f", f)
		assert.Contains(t, errOut, `Error: parameter "password" is required for install`)
		out := c.ok("install", "-f", f, "--param", "password=s3cret", "--param", "config-file="+cfg, "--param", "log-level=7")
		assert.Contains(t, out, "the password is *******", "sensitive values are masked")
		assert.NotContains(t, out, "s3cret")
		assert.Equal(t, `color=red level=7 ratio=0.5 debug=false tags=["a","b"] cfg={"name":"alice"} name=alice file=hi upgrade=unset`, c.output("compat-params", "summary"))
		assert.Contains(t, c.fails("upgrade", "-f", f, "--param", "color=purple"), "Error: invalid value for parameter color: purple is not one of the allowed values [red green blue]")
		assert.Contains(t, c.fails("upgrade", "-f", f, "--param", "log-level=12"), "Error: invalid value for parameter log-level: 12 is greater than the maximum 11")
		c.ok("upgrade", "-f", f, "--param", "color=green")
		assert.Equal(t, `color=green level=7 ratio=0.5 debug=false tags=["a","b"] cfg={"name":"alice"} name=x file=hi upgrade=up`, c.output("compat-params", "summary"),
			"--param values persist across upgrades; applyTo limits upgrade-only")
		c.ok("uninstall", "-f", f)
		var doc map[string]any
		shown := c.ok("show", "compat-params", "-o", "json")
		require.NoError(t, json.Unmarshal([]byte(shown), &doc))
		calc := doc["_calculated"].(map[string]any)
		assert.Equal(t, "uninstalled", calc["displayInstallationState"])
		assert.Equal(t, "succeeded", calc["displayInstallationStatus"])
		assert.Equal(t, "*******", doc["parameters"].(map[string]any)["password"], "sensitive values are masked")
		assert.NotContains(t, shown, "s3cret")
		assert.Contains(t, c.ok("show", "compat-params", "-o", "json", "--show-secrets"), `"password": "s3cret"`)

		// porter installation runs list: newest first, one entry per run.
		var runs []map[string]any
		listed := c.ok("installation", "runs", "list", "compat-params", "-o", "json")
		require.NoError(t, json.Unmarshal([]byte(listed), &runs))
		require.Len(t, runs, 3)
		for i, action := range []string{"uninstall", "upgrade", "install"} {
			assert.Equal(t, action, runs[i]["action"])
			assert.Equal(t, "succeeded", runs[i]["status"])
			assert.Equal(t, "0.1.0", runs[i]["version"])
			assert.NotEmpty(t, runs[i]["id"])
			started, err := time.Parse(time.RFC3339Nano, runs[i]["started"].(string))
			require.NoError(t, err)
			stopped, ok := runs[i]["stopped"].(string)
			require.True(t, ok, "a finished run has stopped")
			end, err := time.Parse(time.RFC3339Nano, stopped)
			require.NoError(t, err)
			assert.False(t, end.Before(started), "stopped %s before started %s", end, started)
		}
		assert.Equal(t, "*******", runs[2]["parameters"].(map[string]any)["password"])
		assert.NotContains(t, listed, "s3cret")
		assert.Contains(t, c.ok("installation", "runs", "list", "compat-params", "-o", "json", "--show-secrets"), `"password": "s3cret"`)
		plain := c.ok("installation", "runs", "list", "compat-params")
		assert.Regexp(t, `(?m)^Run ID\s+Action\s+Started\s+Stopped\s+Status$`, plain)
		assert.Regexp(t, `(?m)^\S+\s+install\s+\S+\s+\S+\s+succeeded$`, plain)
		c.ok("installation", "delete", "compat-params")
	})

	t.Run("creds", func(t *testing.T) {
		c := c.on(t)
		f := bundleFile("creds")
		assert.Contains(t, c.fails("install", "-f", f), "Error: bundle requires credential for token")
		kube := filepath.Join(t.TempDir(), "kubeconfig")
		require.NoError(t, os.WriteFile(kube, []byte("kube-content"), 0o644))
		set := filepath.Join(t.TempDir(), "creds.yaml")
		require.NoError(t, os.WriteFile(set, []byte("schemaType: CredentialSet\nschemaVersion: 1.0.1\nname: mycreds\ncredentials:\n"+
			"  - name: token\n    source: {env: COMPAT_TOKEN}\n  - name: kubeconfig\n    source: {path: "+kube+"}\n"), 0o644))
		assert.Contains(t, c.fails("install", "-f", f, "--cred-set", set), "environment variable COMPAT_TOKEN is not defined")
		t.Setenv("COMPAT_TOKEN", "tok-123")
		out := c.ok("install", "-f", f, "--cred-set", set)
		assert.Contains(t, out, "token is *******")
		assert.Equal(t, "len=7 kube=kube-content", c.output("compat-creds", "seen"))
		assert.Contains(t, c.fails("uninstall", "-f", f), "Error: bundle requires credential for token", "creds are not remembered")
		c.ok("uninstall", "-f", f, "--cred", "token=other")
	})

	t.Run("outputs", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("outputs")
		c.ok("install", "-f", f)
		assert.Equal(t, `["sally","wei"]`, c.output("compat-outputs", "users"))
		assert.Equal(t, "sally", c.output("compat-outputs", "first"))
		assert.Equal(t, "TestA\nTestC", c.output("compat-outputs", "failed"))
		assert.Equal(t, "report of install\n", c.output("compat-outputs", "report"))
		assert.Equal(t, "from a file\n", c.output("compat-outputs", "fromfile"))
		var outs []map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.ok("outputs", "list", "-i", "compat-outputs", "-o", "json")), &outs))
		for _, o := range outs {
			if o["name"] == "secret" {
				assert.Equal(t, true, o["sensitive"])
				assert.Equal(t, "hunter2", o["value"])
			}
		}
		plain := c.ok("outputs", "list", "-i", "compat-outputs")
		assert.Contains(t, plain, "******")
		assert.NotContains(t, plain, "hunter2")
		c.ok("upgrade", "-f", f)
		assert.Equal(t, "wei", c.output("compat-outputs", "first"))
		assert.Contains(t, c.ok("logs", "-i", "compat-outputs"), "execution completed successfully!")
		c.ok("uninstall", "-f", f)
	})

	t.Run("state, custom actions and parameter sources", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("state")
		assert.Contains(t, c.fails("invoke", "-f", f, "--action", "status"), "Error: could not find installation /compat-state: Installation not found")
		assert.Contains(t, c.ok("invoke", "-f", f, "--action", "dry-run"), "DRYRUN nothing to do", "stateless actions need no installation")
		c.ok("install", "-f", f)
		assert.Equal(t, "1", c.output("compat-state", "count"))
		assert.Contains(t, c.ok("invoke", "-f", f, "--action", "status"), "STATUS count=1")
		c.ok("invoke", "-f", f, "--action", "bump")
		assert.Equal(t, "2", c.output("compat-state", "count"))
		out := c.ok("upgrade", "-f", f)
		assert.Contains(t, out, "previous endpoint: http://example.test/1", "parameter source from the install's output")
		assert.Equal(t, "3", c.output("compat-state", "count"), "state survives install, custom action and upgrade")
		assert.Contains(t, c.ok("uninstall", "-f", f), "STATUS count=3 endpoint=http://example.test/3")
		assert.Contains(t, c.fails("upgrade", "-f", f), "Error: The installation cannot be upgraded, because it is not installed.")
		c.ok("installation", "delete", "compat-state")
	})

	t.Run("templates", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		c.ok("install", "-f", bundleFile("alpha"), "--param", "who=ana")
		assert.Equal(t, "hola ana from compat-alpha ${NOT_A_TEMPLATE}", c.output("compat-alpha", "said"))
		assert.Contains(t, c.fails("install", "-f", bundleFile("alpha")), "Error: The installation has already been successfully installed")
		c.ok("uninstall", "-f", bundleFile("alpha"))

		errOut := c.fails("install", "-f", bundleFile("missingvar"))
		assert.Contains(t, errOut, "container exit code: 1")
		logs := c.ok("logs", "-i", "compat-missingvar")
		assert.Contains(t, logs, `missing variable "bundle.custom.nothere"`)
		assert.Contains(t, c.fails("installation", "delete", "compat-missingvar"),
			"Error: it is unsafe to delete an installation when the last action wasn't a successful uninstall; if you are sure it should be deleted, retry the last command with the --force flag")
		c.ok("installation", "delete", "compat-missingvar", "--force")
	})

	t.Run("dockerfile template and ignoreError", func(t *testing.T) {
		t.Parallel()
		// The classic builder here; the BuildKit subtest below covers BuildKit.
		c := c.with(t, "STACKHUB_BUILDER", "classic")
		f := bundleFile("dockerfile")
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(filepath.Dir(f), ".cnab")) })
		c.ok("build", "-f", f)
		assert.Contains(t, c.ok("build", "-f", f), "Bundle is up-to-date!")
		c.ok("install", "-f", f)
		assert.Equal(t, "app 1.2.3 by nonroot secret-file=absent user=65532", c.output("compat-dockerfile", "built"))
		c.ok("upgrade", "-f", f)
		assert.Contains(t, c.fails("uninstall", "-f", f), "container exit code: 1")
		c.ok("installation", "delete", "compat-dockerfile", "--force")
	})

	t.Run("debug for one invocation", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("debug")
		removeShpcImages(t, "debug")
		out := c.ok("install", "-f", f, "--debug")
		assert.Contains(t, out, "=== Step Template ===")
		assert.Contains(t, out, "HELLO shpc-debug debug=true")
		out = c.ok("upgrade", "-f", f)
		assert.NotContains(t, out, "=== Step Template ===", "--debug does not stick to the next action")
		assert.Contains(t, out, "HELLO shpc-debug debug=false")
		assert.NotContains(t, c.ok("show", "shpc-debug", "-o", "json"), "porter-debug")
		assert.Contains(t, c.ok("uninstall", "-f", f, "--debug"), "=== Step Template ===")
		c.ok("installation", "delete", "shpc-debug")
	})

	t.Run("upgrade --force-upgrade", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("forceupgrade")
		removeShpcImages(t, "forceupgrade")
		assert.Contains(t, c.fails("install", "-f", f, "--param", "break-install=true"), "container exit code: 1")
		errOut := c.fails("upgrade", "-f", f)
		assert.Contains(t, errOut, "Error: The installation cannot be upgraded, because it is not installed.")
		assert.Contains(t, errOut, "--force-upgrade")
		c.ok("upgrade", "-f", f, "--force-upgrade")
		assert.Equal(t, "upgraded", c.output("shpc-forceupgrade", "phase"))
		c.ok("uninstall", "-f", f)
		c.ok("installation", "delete", "shpc-forceupgrade")
	})

	t.Run("a --param overrides a set entry without resolving it", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("precedence")
		removeShpcImages(t, "precedence")
		set := filepath.Join(filepath.Dir(f), "params.yaml")
		assert.Contains(t, c.fails("install", "-f", f, "-p", set), "environment variable SHPC_COMPAT_UNSET_GREETING is not defined")
		c.ok("install", "-f", f, "-p", set, "--param", "greeting=hi")
		assert.Equal(t, "hi from eu", c.output("shpc-precedence", "said"))
		c.ok("uninstall", "-f", f, "-p", set, "--param", "greeting=bye")
		c.ok("installation", "delete", "shpc-precedence")
	})

	t.Run("@file values in parameter sets", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("setfiles")
		removeShpcImages(t, "setfiles")
		set := filepath.Join(filepath.Dir(f), "sets", "params.yaml")
		c.ok("install", "-f", f, "-p", set)
		assert.Equal(t, `name=from-a-file cfg={"name":"from-a-file","size":3} upload=uploaded bytes note=@kept-as-text`, c.output("shpc-setfiles", "seen"),
			"object and file parameters read @FILE relative to the set file; other types keep the text")
		c.ok("uninstall", "-f", f, "-p", set)
		c.ok("installation", "delete", "shpc-setfiles")
	})

	t.Run("invalid JSON in an @file", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("badjson")
		dir := filepath.Dir(f)
		bad := filepath.Join(dir, "bad.json")
		assert.Contains(t, c.fails("install", "-f", f, "--param", "cfg=@"+bad),
			"Error: file "+bad+" for parameter cfg does not contain valid JSON: unexpected end of JSON input")
		assert.Contains(t, c.fails("install", "-f", f, "-p", filepath.Join(dir, "params.yaml")),
			"file "+bad+" for parameter cfg does not contain valid JSON: unexpected end of JSON input")
	})

	t.Run("experimental schema 1.2.0: persistent parameters", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("persistent")
		removeShpcImages(t, "persistent")
		for _, args := range [][]string{{"lint", "-f", f}, {"install", "-f", f, "--param", "region=eu"}} {
			errOut := c.fails(args...)
			assert.Contains(t, errOut, "the schema version is 1.2.0 but the supported schema version is", args[0])
			assert.Contains(t, errOut, "--experimental persistent-parameters", args[0])
		}
		assert.Contains(t, c.ok("lint", "-f", f, "--experimental", "persistent-parameters"), "Bundle validation was successful")
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte("experimental: [persistent-parameters]\n"), 0o644))
		withFile := &compat{t: t, env: map[string]string{}}
		for k, v := range c.env {
			withFile.env[k] = v
		}
		withFile.env["STACKHUB_CONFIG"] = cfg
		assert.Contains(t, withFile.ok("lint", "-f", f), "Bundle validation was successful")

		exp := &compat{t: t, env: map[string]string{}}
		for k, v := range c.env {
			exp.env[k] = v
		}
		exp.env["PORTER_EXPERIMENTAL"] = "persistent-parameters"
		exp.ok("install", "-f", f, "--param", "region=eu")
		installed := exp.output("shpc-persistent", "seen")
		assert.Regexp(t, `^token=generated-\d+ region=eu$`, installed)
		exp.ok("upgrade", "-f", f)
		assert.Equal(t, installed, exp.output("shpc-persistent", "seen"), "the token made by install is kept for upgrade")
		assert.Contains(t, exp.ok("invoke", "-f", f, "--action", "report"), "SEEN "+installed)
		exp.ok("upgrade", "-f", f, "--param", "region=ap")
		assert.Equal(t, strings.Replace(installed, "region=eu", "region=ap", 1), exp.output("shpc-persistent", "seen"))
		exp.ok("uninstall", "-f", f)
		exp.ok("installation", "delete", "shpc-persistent")
	})

	t.Run("experimental schema 1.3.0: files downloaded at build", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("filesources")
		removeShpcImages(t, "filesources")
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(filepath.Dir(f), ".cnab")) })
		ln, err := net.Listen("tcp", "127.0.0.1:34501")
		require.NoError(t, err)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/greeting.txt" {
				_, _ = w.Write([]byte("hello from the web"))
				return
			}
			http.NotFound(w, r)
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })

		assert.Contains(t, c.fails("build", "-f", f), "--experimental file-sources")
		assert.Contains(t, c.fails("build", "-f", f, "--experimental", "file-sources"), "file downloads are not allowed")
		out := c.ok("build", "-f", f, "--experimental", "file-sources", "--allow-file-downloads")
		assert.Contains(t, out, "Building bundle ===>")
		_, err = os.Stat(filepath.Join(filepath.Dir(f), "downloaded"))
		assert.True(t, os.IsNotExist(err), "downloads go into the image, not into the bundle folder")
		exp := &compat{t: t, env: map[string]string{}}
		for k, v := range c.env {
			exp.env[k] = v
		}
		exp.env["PORTER_EXPERIMENTAL"] = "file-sources"
		exp.env["PORTER_ALLOW_FILE_DOWNLOADS"] = "true"
		exp.ok("install", "-f", f)
		assert.Equal(t, "hello from the web", exp.output("shpc-filesources", "got"))
		exp.ok("uninstall", "-f", f)
		exp.ok("installation", "delete", "shpc-filesources")
	})

	t.Run("a Dockerfile template written for BuildKit", func(t *testing.T) {
		t.Parallel()
		c := c.on(t)
		f := bundleFile("buildkit")
		removeShpcImages(t, "buildkit")
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(filepath.Dir(f), ".cnab")) })
		errOut := c.fails("build", "-f", f, "--builder", "classic")
		assert.Contains(t, errOut, "template.Dockerfile: line 7: RUN --mount=type=cache,target=/var/cache/shpc-compat: RUN --mount=type=cache needs BuildKit, and this image is built with the classic builder")
		out := c.ok("build", "-f", f)
		assert.Contains(t, out, "building with the Engine's built-in BuildKit", "this machine's Docker 20.10 offers BuildKit as builder version 2")
		assert.Contains(t, out, "template.Dockerfile line 1: # syntax=docker/dockerfile-upstream:1.4.0 ignored")
		assert.Contains(t, out, "template.Dockerfile line 6: COPY --link rewritten to COPY")
		assert.Contains(t, out, "Building bundle ===>")
		c.ok("install", "-f", f)
		assert.Equal(t, "made in a cache mount copied=present cache-dir-in-image=absent", c.output("shpc-buildkit", "built"),
			"RUN --mount=type=cache is honoured: what the step wrote in the cache is not in the image")
		c.ok("uninstall", "-f", f)
		c.ok("installation", "delete", "shpc-buildkit")
	})
}
