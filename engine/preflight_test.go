package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
)

const gb = 1 << 30

// roomy is a host every built-in app fits on.
var roomy = struct {
	info engine.EngineInfo
	st   engine.ServerStatus
}{
	info: engine.EngineInfo{NCPU: 8, MemTotal: 32 * gb, Architecture: "x86_64", RootDir: "/var/lib/docker"},
	st: engine.ServerStatus{MemoryTotal: 32 * gb, MemoryUsed: 4 * gb,
		Disks: []engine.DiskUsage{{Mount: "/", Total: 500 * gb, Used: 100 * gb}, {Mount: "/boot", Total: gb, Used: gb / 2}}},
}

func statuses(r *engine.PreflightReport) map[string]string {
	out := map[string]string{}
	for _, c := range r.Checks {
		out[c.Check] = c.Status
	}
	return out
}

func TestPreflightPasses(t *testing.T) {
	eng := newHostEngine(t, roomy.info, roomy.st)
	r, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "nextcloud"})
	require.NoError(t, err)
	assert.True(t, r.OK)
	require.NoError(t, r.Err())
	assert.Equal(t, map[string]string{"name": "ok", "cpu": "ok", "memory": "ok", "disk": "ok", "architecture": "ok", "ports": "ok",
		"images": "skip"}, statuses(r), "this Docker fake cannot ask registries")
	assert.Len(t, r.Ports, 2)
	assert.Equal(t, "nextcloud", r.Name)
	for _, c := range r.Checks {
		if c.Check == "disk" {
			assert.Contains(t, c.Message, "409600 MB free at /var/lib/docker", "the disk of Docker's data, not /boot")
		}
	}
	// Nothing was leased or recorded.
	_, err = eng.Get(t.Context(), "nextcloud")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func TestPreflightRefusesWithEveryReason(t *testing.T) {
	small := engine.EngineInfo{NCPU: 1, MemTotal: 2 * gb, Architecture: "s390x"}
	st := engine.ServerStatus{MemoryTotal: 2 * gb, MemoryUsed: gb, Disks: []engine.DiskUsage{{Mount: "/", Total: 10 * gb, Used: 9 * gb}}}
	eng := newHostEngine(t, small, st)

	r, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "gitlab"})
	require.NoError(t, err)
	assert.False(t, r.OK)
	assert.Equal(t, map[string]string{"name": "ok", "cpu": "warn", "memory": "fail", "disk": "fail", "architecture": "fail", "ports": "ok",
		"images": "skip"}, statuses(r))

	// An install is refused with all three reasons and their hints, and
	// leaves nothing behind.
	_, err = eng.Install(t.Context(), engine.InstallOptions{App: "gitlab"})
	require.ErrorIs(t, err, engine.ErrConflict)
	var pe *engine.PreflightError
	require.ErrorAs(t, err, &pe)
	assert.Len(t, pe.Report.Failures(), 3)
	assert.Contains(t, err.Error(), "needs 4096 MB of memory, the host has 2048 MB")
	assert.Contains(t, err.Error(), "needs 20480 MB of disk")
	assert.Contains(t, err.Error(), "built for amd64, arm64, the host is s390x")
	hint := engine.HintOf(err)
	assert.Contains(t, hint, "more memory")
	assert.Contains(t, hint, "free disk space")
	assert.Contains(t, hint, "amd64 or arm64 host")
	_, err = eng.Get(t.Context(), "gitlab")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func TestPreflightOneReasonKeepsItsMessage(t *testing.T) {
	info := roomy.info
	info.Architecture = "aarch64"
	eng := newHostEngine(t, info, roomy.st)
	r, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "gitlab"})
	require.NoError(t, err)
	assert.Equal(t, "ok", statuses(r)["architecture"], "aarch64 is arm64")

	st := roomy.st
	st.MemoryUsed = st.MemoryTotal - gb // 1 GB free of 32
	eng = newHostEngine(t, roomy.info, st)
	r, err = eng.Preflight(t.Context(), engine.InstallOptions{App: "gitlab"})
	require.NoError(t, err)
	assert.True(t, r.OK, "little free memory warns but does not refuse")
	assert.Equal(t, "warn", statuses(r)["memory"])

	info = roomy.info
	info.MemTotal = gb
	eng = newHostEngine(t, info, roomy.st)
	_, err = eng.Install(t.Context(), engine.InstallOptions{App: "gitlab", Name: "git"})
	require.ErrorIs(t, err, engine.ErrConflict)
	var pe *engine.PreflightError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "the app needs 4096 MB of memory, the host has 1024 MB in all", pe.Report.Failures()[0].Message)
	assert.Equal(t, "the app needs 4096 MB of memory, the host has 1024 MB in all", err.Error())
	assert.Equal(t, "install it on a host with more memory (or give Docker's VM more)", engine.HintOf(err))

	// Asked to, the install goes ahead all the same.
	inst, err := eng.Install(t.Context(), engine.InstallOptions{App: "gitlab", Name: "git", SkipPreflight: true})
	require.NoError(t, err)
	assert.Equal(t, "git", inst.Name)
}

func TestPreflightUnknownHostSkips(t *testing.T) {
	eng := newCatalogEngine(t)
	r, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "redis"})
	require.NoError(t, err)
	assert.True(t, r.OK)
	s := statuses(r)
	assert.Equal(t, "skip", s["cpu"])
	assert.Equal(t, "skip", s["memory"])
	assert.Equal(t, "skip", s["disk"])
}

func TestPreflightBadInput(t *testing.T) {
	eng := newCatalogEngine(t)
	_, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "no-such-app"})
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = eng.Preflight(t.Context(), engine.InstallOptions{App: "Bad Name"})
	require.ErrorIs(t, err, engine.ErrInvalid)
}

// registryDocker is a Docker fake with some images local and a registry
// that knows some others.
type registryDocker struct {
	*enginetest.DockerFunc
	local  map[string]bool
	remote map[string][]string // ref -> architectures
}

func (d *registryDocker) ImageExists(_ context.Context, ref string) (bool, error) {
	return d.local[ref], nil
}

func (d *registryDocker) RemoteImage(_ context.Context, ref string) (engine.RemoteImage, error) {
	archs, ok := d.remote[ref]
	if !ok {
		return engine.RemoteImage{}, errors.New("dial tcp: lookup registry-1.docker.io: no such host")
	}
	return engine.RemoteImage{Ref: ref, Architectures: archs}, nil
}

func TestPreflightImages(t *testing.T) {
	check := func(t *testing.T, d *registryDocker) engine.PreflightCheck {
		t.Helper()
		eng := newEngine(t, engine.NewDirCatalog(bundles.FS), d, roomy.st)
		r, err := eng.Preflight(t.Context(), engine.InstallOptions{App: "wordpress"})
		require.NoError(t, err)
		assert.True(t, r.OK, "image findings only warn")
		for _, c := range r.Checks {
			if c.Check == "images" {
				return c
			}
		}
		require.Fail(t, "no images check")
		return engine.PreflightCheck{}
	}
	dk := func(local []string, remote map[string][]string) *registryDocker {
		l := map[string]bool{}
		for _, r := range local {
			l[r] = true
		}
		return &registryDocker{DockerFunc: infoDocker(roomy.info), local: l, remote: remote}
	}
	const wp, db = "wordpress:6.5-apache", "mariadb:10.11"

	c := check(t, dk([]string{wp, db}, nil))
	assert.Equal(t, engine.PreflightCheck{Check: "images", Status: "ok", Message: "all 2 images are on this host"}, c)

	c = check(t, dk([]string{wp}, map[string][]string{db: {"amd64", "arm64"}}))
	assert.Equal(t, "ok", c.Status)
	assert.Equal(t, "to be pulled: mariadb:10.11", c.Message)

	c = check(t, dk(nil, map[string][]string{db: {"amd64"}}))
	assert.Equal(t, "warn", c.Status)
	assert.Equal(t, "not on this host, and their registry does not answer: wordpress:6.5-apache", c.Message)
	assert.Contains(t, c.Hint, "docker load")

	c = check(t, dk([]string{wp}, map[string][]string{db: {"s390x"}}))
	assert.Equal(t, "warn", c.Status)
	assert.Equal(t, "no amd64 build of: mariadb:10.11 (s390x)", c.Message)
}
