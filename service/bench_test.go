package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/service"
)

// benchApps is how many installations the status benchmarks read: the
// target is getAllAppInfo p99 <= 2 ms at 100 apps.
const benchApps = 100

const (
	benchBootstrapToken = "bench-bootstrap-token-0123456789"
	benchStoredToken    = "bench-stored-token-0123456789abc"
)

// newBenchServer builds the real stack the status endpoints run on: the
// fiber app over a real engine.Engine over a real SQLite file holding
// benchApps running installations. Docker is a fake that reports every
// project's containers running and healthy, and counts the calls a request
// makes (there must be none: status comes from the event-fed live state).
func newBenchServer(b *testing.B) (*service.Server, *atomic.Int64) {
	b.Helper()
	ctx := b.Context()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "stackhub.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })

	var all []engine.ContainerState
	now := time.Now().UTC()
	for i := range benchApps {
		name := fmt.Sprintf("app%03d", i)
		inst := &engine.Installation{
			Name: name, App: "hello-db", BundleVersion: "1.0.0", Status: engine.StatusRunning,
			ContainerName: "bench-" + name, Ports: map[string]int{"port": 24001 + 2*i, "db_port": 24002 + 2*i},
			Parameters: map[string]string{"APP_TITLE": "Hello DB", "DB_USER": "app"},
			LastAction: "install", Installed: &now,
		}
		require.NoError(b, store.CreateInstallation(ctx, inst))
		for _, svc := range []string{"web", "db"} {
			all = append(all, engine.ContainerState{
				ID: name + svc, Name: "bench-" + name + "-" + svc, Project: "bench-" + name, Service: svc,
				State: "running", Health: "healthy",
			})
		}
	}
	var dockerCalls atomic.Int64
	docker := &enginetest.DockerFunc{
		ManagedContainersFunc: func(context.Context) ([]engine.ContainerState, error) { return all, nil },
		ProjectContainersFunc: func(_ context.Context, project string) ([]engine.ContainerState, error) {
			dockerCalls.Add(1)
			return nil, nil
		},
	}
	eng, err := engine.New(engine.Config{Prefix: "bench", RuntimeBinary: "/bin/true"}, engine.Deps{
		Store: store, Docker: docker, Runtime: &enginetest.BundleRuntimeFunc{},
		Converter: &enginetest.BundleConverterFunc{}, Catalog: &enginetest.CatalogFunc{},
	})
	require.NoError(b, err)
	require.NoError(b, eng.Start(ctx))
	b.Cleanup(eng.Close)
	// Wait until the watcher has the listing, so the benchmark measures the
	// steady state.
	require.Eventually(b, func() bool {
		list, err := eng.List(ctx)
		return err == nil && len(list) == benchApps
	}, 5*time.Second, time.Millisecond)

	s := service.New(service.Config{DataDir: b.TempDir(), APIToken: benchBootstrapToken, AdminPassword: "bench-pw-0123"},
		porter.WithDocs(eng), store, nil)
	require.NoError(b, s.EnsureAdmin(ctx))
	require.NoError(b, store.CreateToken(ctx, hashHex(benchStoredToken), "admin", "bench"))
	return s, &dockerCalls
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// BenchmarkStatus drives the status endpoints through fiber's full handler
// chain (request id, auth, user context, handler, JSON) in process, calling
// the fasthttp handler directly, so the profile shows our per-request work
// rather than the loopback network or app.Test's pipe and HTTP parsing.
//
//	go test ./service -run '^$' -bench BenchmarkStatus -benchmem -cpuprofile /tmp/cpu.out
func BenchmarkStatus(b *testing.B) {
	s, dockerCalls := newBenchServer(b)
	handler := s.App().Handler()
	for _, bc := range []struct{ name, path, token string }{
		{"getAllAppInfo/bootstrap-token", "/getAllAppInfo", benchBootstrapToken},
		{"getAllAppInfo/stored-token", "/getAllAppInfo", benchStoredToken},
		{"getAppInfo/bootstrap-token", "/getAppInfo?appName=app042", benchBootstrapToken},
	} {
		b.Run(bc.name, func(b *testing.B) {
			before := dockerCalls.Load()
			b.ReportAllocs()
			var fc fasthttp.RequestCtx
			for b.Loop() {
				fc.Request.Reset()
				fc.Response.Reset()
				fc.Request.Header.SetMethod("GET")
				fc.Request.SetRequestURI(bc.path)
				fc.Request.Header.Set("Authorization", "Bearer "+bc.token)
				fc.Request.Header.Set("Accept-Language", "en")
				handler(&fc)
				if code := fc.Response.StatusCode(); code != 200 {
					b.Fatalf("HTTP %d: %s", code, fc.Response.Body())
				}
			}
			if n := dockerCalls.Load() - before; n != 0 {
				b.Fatalf("status requests made %d Docker calls", n)
			}
		})
	}
}

// benchCatalogApps is how many catalog apps the catalog benchmark lists
// and searches: the target is p99 <= 5 ms at 1,000 apps.
const benchCatalogApps = 1000

// BenchmarkCatalog drives GET /api/v1/apps through the full handler chain
// over a real engine whose catalog holds benchCatalogApps apps: a default
// page, a search in each language, a category page sorted by title.
//
//	go test ./service -run '^$' -bench BenchmarkCatalog -benchmem
func BenchmarkCatalog(b *testing.B) {
	ctx := b.Context()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "stackhub.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	apps := make([]engine.App, 0, benchCatalogApps)
	for i := range benchCatalogApps {
		c := catalog.Categories[i%len(catalog.Categories)]
		apps = append(apps, engine.App{Name: fmt.Sprintf("app%04d", i), Version: "1.0.0", Source: "builtin",
			Ports: []engine.PortSpec{{Name: "port", Service: "web", Target: 8080, Protocol: "tcp"}},
			Meta: catalog.Meta{Title: catalog.Text{En: fmt.Sprintf("App %d", i), Zh: fmt.Sprintf("应用 %d", i)},
				Description: catalog.Text{En: "Does " + c + " things for number " + fmt.Sprint(i), Zh: "用于" + c + "的应用"},
				Category:    c, Keywords: []string{"kw" + fmt.Sprint(i%13), c}, Icon: "icon.svg", AppVersion: "1.0"}})
	}
	eng, err := engine.New(engine.Config{Prefix: "bench", RuntimeBinary: "/bin/true"}, engine.Deps{
		Store: store, Docker: &enginetest.DockerFunc{}, Runtime: &enginetest.BundleRuntimeFunc{},
		Converter: &enginetest.BundleConverterFunc{},
		Catalog:   &enginetest.CatalogFunc{ListFunc: func(context.Context) ([]engine.App, error) { return apps, nil }},
	})
	require.NoError(b, err)
	b.Cleanup(eng.Close)
	s := service.New(service.Config{DataDir: b.TempDir(), APIToken: benchBootstrapToken, AdminPassword: "bench-pw-0123"},
		porter.WithDocs(eng), store, nil)
	require.NoError(b, s.EnsureAdmin(ctx))
	handler := s.App().Handler()
	for _, bc := range []struct{ name, path string }{
		{"list", "/api/v1/apps"},
		{"search-en", "/api/v1/apps?q=things+kw7"},
		{"search-zh", "/api/v1/apps?q=%E5%BA%94%E7%94%A8&page=3"},
		{"category-by-title", "/api/v1/apps?category=media&sort=title&per_page=200"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var fc fasthttp.RequestCtx
			for b.Loop() {
				fc.Request.Reset()
				fc.Response.Reset()
				fc.Request.Header.SetMethod("GET")
				fc.Request.SetRequestURI(bc.path)
				fc.Request.Header.Set("Authorization", "Bearer "+benchBootstrapToken)
				handler(&fc)
				if code := fc.Response.StatusCode(); code != 200 {
					b.Fatalf("HTTP %d: %s", code, fc.Response.Body())
				}
			}
		})
	}
}
