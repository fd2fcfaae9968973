package cli_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/stackhub/stackhub/cmd/stackhub/cli"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/service"
	"github.com/stackhub/stackhub/service/servicetest"
)

// scriptPassword is the admin's password on the scripts' test services.
const scriptPassword = "script-admin-pw"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"stackhub": func() { os.Exit(cli.Main()) },
		// stackhub-wait-ready waits up to 60 s for $STACKHUB_SERVER/health.
		"stackhub-wait-ready": func() { os.Exit(waitReady()) },
	})
}

func waitReady() int {
	url := os.Getenv("STACKHUB_SERVER") + "/health"
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return 0
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "stackhub did not answer on", url)
	return 1
}

// TestScript runs the CLI's acceptance scripts against a real service
// (real routes, auth and SQLite store) over a fake engine.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", Setup: fakeServiceSetup})
}

// fakeServiceSetup gives a script its own service over the fake engine
// ($STACKHUB_SERVER, $ADMIN_PASSWORD) and keeps its files in $WORK.
func fakeServiceSetup(env *testscript.Env) error {
	setHome(env)
	url, stop, err := startFakeService(env.T(), env.WorkDir)
	if err != nil {
		return err
	}
	env.Defer(stop)
	env.Setenv("STACKHUB_SERVER", url)
	env.Setenv("STACKHUB_LANG", "en")
	env.Setenv("ADMIN_PASSWORD", scriptPassword)
	return nil
}

// setHome keeps every script's config, credentials and data in $WORK (as
// root the default data folder would be the host's /var/lib/stackhub).
func setHome(env *testscript.Env) {
	env.Setenv("STACKHUB_DATA", filepath.Join(env.WorkDir, ".data", "stackhub"))
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
	env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, ".data"))
}

func startFakeService(t testscript.T, dir string) (string, func(), error) {
	// testscript.T has no context; the cleanup func returned ends the service.
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, ".service.db"), slog.New(slog.DiscardHandler)) //nolint:forbidigo // see above
	if err != nil {
		return "", nil, err
	}
	srv := service.New(service.Config{DataDir: dir, AdminPassword: scriptPassword}, servicetest.NewEngine(), store, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background()) //nolint:forbidigo // cancelled by the returned cleanup func
	done := make(chan error, 1)
	go func() { done <- srv.Listen(ctx, addr) }()
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr, func() {
		cancel()
		if err := <-done; err != nil {
			_ = err // the service stopped because we asked it to
		}
		_ = store.Close()
	}, nil
}
