package enginetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

// StoreContract runs the behaviour every engine.Store must have against a
// fresh store per subtest. newStore must return an empty, ready store; the
// contract closes it.
func StoreContract(t *testing.T, newStore func(t *testing.T) engine.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s engine.Store)
	}{
		{"InstallationRoundTrip", testInstallationRoundTrip},
		{"InstallationConflictAndNotFound", testInstallationConflictAndNotFound},
		{"ListInstallationsSortedPerNamespace", testListInstallations},
		{"DeleteInstallationCascades", testDeleteInstallation},
		{"Runs", testRuns},
		{"Results", testResults},
		{"Outputs", testOutputs},
		{"LeasePorts", testLeasePorts},
		{"LeasePortsAllOrNothing", testLeasePortsAtomic},
		{"LeasePortsConcurrentDisjoint", testLeasePortsConcurrent},
		{"LeasePortsConcurrentSamePort", testLeasePortsSamePort},
		{"Jobs", testJobs},
		{"JobEvents", testJobEvents},
		{"Sets", testSets},
		{"PruneHistory", testPruneHistory},
		{"Domains", testDomains},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

// at returns a fixed UTC time plus n seconds, so stored times compare exactly.
func at(n int) time.Time {
	return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
}

func newInstallation(ns, name string) *engine.Installation {
	installed := at(5)
	return &engine.Installation{
		ID:            "id-" + ns + "-" + name,
		Name:          name,
		Namespace:     ns,
		App:           "redmine",
		BundleVersion: "5.1.0",
		BundleDigest:  "sha256:abc",
		Status:        engine.StatusInstalling,
		Reason:        "queued",
		ContainerName: "stackhub-" + name,
		Ports:         map[string]int{"port": 9001, "db_port": 9002},
		Parameters:    map[string]string{"admin_email": "a@example.com"},
		Labels:        map[string]string{engine.LabelParentInstallation: "/blog"},
		ParameterSets: []string{"prod"},
		Containerless: true,
		LastAction:    "install",
		LastRunID:     "run-1",
		JobID:         "job-1",
		Created:       at(0),
		Modified:      at(1),
		Installed:     &installed,
	}
}

func testInstallationRoundTrip(t *testing.T, s engine.Store) {
	ctx := t.Context()
	want := newInstallation("", "redmine")
	require.NoError(t, s.CreateInstallation(ctx, want))

	got, err := s.GetInstallation(ctx, "", "redmine")
	require.NoError(t, err)
	assertInstallation(t, want, got)

	got.Status = engine.StatusRunning
	got.Reason = ""
	got.Ports = map[string]int{"port": 9005}
	got.Parameters = nil
	got.Labels = map[string]string{"team": "red"}
	got.ParameterSets, got.CredentialSets, got.Containerless = nil, []string{"creds"}, false
	got.Modified = at(10)
	got.Installed = nil
	uninstalled := at(11)
	got.Uninstalled = &uninstalled
	require.NoError(t, s.UpdateInstallation(ctx, got))

	again, err := s.GetInstallation(ctx, "", "redmine")
	require.NoError(t, err)
	assertInstallation(t, got, again)
	assert.Equal(t, want.ID, again.ID, "update keeps the ID")
	assert.True(t, want.Created.Equal(again.Created), "update keeps Created")
}

func assertInstallation(t *testing.T, want, got *engine.Installation) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Namespace, got.Namespace)
	assert.Equal(t, want.App, got.App)
	assert.Equal(t, want.BundleVersion, got.BundleVersion)
	assert.Equal(t, want.BundleDigest, got.BundleDigest)
	assert.Equal(t, want.Status, got.Status)
	assert.Equal(t, want.Reason, got.Reason)
	assert.Equal(t, want.ContainerName, got.ContainerName)
	assert.Equal(t, want.Ports, got.Ports)
	assert.Equal(t, want.Parameters, got.Parameters)
	assert.Equal(t, want.Labels, got.Labels)
	assert.Equal(t, want.ParameterSets, got.ParameterSets)
	assert.Equal(t, want.CredentialSets, got.CredentialSets)
	assert.Equal(t, want.Containerless, got.Containerless)
	assert.Equal(t, want.LastAction, got.LastAction)
	assert.Equal(t, want.LastRunID, got.LastRunID)
	assert.Equal(t, want.JobID, got.JobID)
	assert.True(t, want.Created.Equal(got.Created), "created %v, want %v", got.Created, want.Created)
	assert.True(t, want.Modified.Equal(got.Modified), "modified %v, want %v", got.Modified, want.Modified)
	assertTimePtr(t, "installed", want.Installed, got.Installed)
	assertTimePtr(t, "uninstalled", want.Uninstalled, got.Uninstalled)
}

func assertTimePtr(t *testing.T, what string, want, got *time.Time) {
	t.Helper()
	if want == nil {
		assert.Nil(t, got, what)
		return
	}
	if assert.NotNil(t, got, what) {
		assert.True(t, want.Equal(*got), "%s %v, want %v", what, *got, *want)
	}
}

func testInstallationConflictAndNotFound(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.CreateInstallation(ctx, newInstallation("", "redmine")))

	dup := newInstallation("", "redmine")
	dup.ID = "another-id"
	err := s.CreateInstallation(ctx, dup)
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "redmine")

	other := newInstallation("team", "redmine")
	require.NoError(t, s.CreateInstallation(ctx, other), "the same name in another namespace is fine")

	_, err = s.GetInstallation(ctx, "", "wordpress")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetInstallation(ctx, "nope", "redmine")
	require.ErrorIs(t, err, engine.ErrNotFound)

	err = s.UpdateInstallation(ctx, newInstallation("", "wordpress"))
	require.ErrorIs(t, err, engine.ErrNotFound)
	err = s.DeleteInstallation(ctx, "", "wordpress")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testListInstallations(t *testing.T, s engine.Store) {
	ctx := t.Context()
	list, err := s.ListInstallations(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, list)

	for _, n := range []string{"wordpress", "gitea", "redmine"} {
		inst := newInstallation("", n)
		require.NoError(t, s.CreateInstallation(ctx, inst))
	}
	require.NoError(t, s.CreateInstallation(ctx, newInstallation("team", "zabbix")))

	list, err = s.ListInstallations(ctx, "")
	require.NoError(t, err)
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	assert.Equal(t, []string{"gitea", "redmine", "wordpress"}, names)

	list, err = s.ListInstallations(ctx, "team")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "zabbix", list[0].Name)
}

func testDeleteInstallation(t *testing.T, s engine.Store) {
	ctx := t.Context()
	for _, n := range []string{"redmine", "gitea"} {
		require.NoError(t, s.CreateInstallation(ctx, newInstallation("", n)))
		run := &engine.Run{ID: "run-" + n, Installation: n, Action: "install", Created: at(1)}
		require.NoError(t, s.InsertRun(ctx, run))
		require.NoError(t, s.InsertResult(ctx, &engine.Result{ID: "res-" + n, RunID: run.ID, Status: engine.ResultSucceeded, Created: at(2)}))
		require.NoError(t, s.InsertOutput(ctx, &engine.Output{Name: "url", Installation: n, RunID: run.ID, Value: []byte("x"), Created: at(2)}))
	}
	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{
		{Port: 9001, Protocol: "tcp", Installation: "redmine", Name: "port"},
		{Port: 9002, Protocol: "tcp", Installation: "gitea", Name: "port"},
	}))

	require.NoError(t, s.DeleteInstallation(ctx, "", "redmine"))

	_, err := s.GetInstallation(ctx, "", "redmine")
	require.ErrorIs(t, err, engine.ErrNotFound)
	runs, err := s.ListRuns(ctx, "", "redmine")
	require.NoError(t, err)
	assert.Empty(t, runs)
	_, err = s.GetRun(ctx, "run-redmine")
	require.ErrorIs(t, err, engine.ErrNotFound)
	results, err := s.ListResults(ctx, "run-redmine")
	require.NoError(t, err)
	assert.Empty(t, results)
	outs, err := s.ListOutputs(ctx, "", "redmine")
	require.NoError(t, err)
	assert.Empty(t, outs)
	outs, err = s.ListRunOutputs(ctx, "run-redmine")
	require.NoError(t, err)
	assert.Empty(t, outs)
	leases, err := s.ListPortLeases(ctx)
	require.NoError(t, err)
	assert.Equal(t, []engine.PortLease{{Port: 9002, Protocol: "tcp", Installation: "gitea", Name: "port"}}, leases)

	// The other installation is untouched.
	runs, err = s.ListRuns(ctx, "", "gitea")
	require.NoError(t, err)
	assert.Len(t, runs, 1)
	outs, err = s.ListOutputs(ctx, "", "gitea")
	require.NoError(t, err)
	assert.Len(t, outs, 1)
}

func testRuns(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.CreateInstallation(ctx, newInstallation("", "redmine")))
	first := &engine.Run{
		ID: "run-1", Installation: "redmine", Revision: "01", Action: "install",
		BundleRef: "localhost/redmine:v1", BundleDigest: "sha256:1", Bundle: []byte(`{"name":"redmine"}`),
		Parameters: map[string]any{"port": float64(9001), "debug": true, "email": "a@example.com"},
		Created:    at(1),
	}
	second := &engine.Run{ID: "run-2", Installation: "redmine", Revision: "02", Action: "upgrade", Created: at(2)}
	require.NoError(t, s.InsertRun(ctx, first))
	require.NoError(t, s.InsertRun(ctx, second))
	require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: "run-x", Installation: "gitea", Action: "install", Created: at(3)}))

	err := s.InsertRun(ctx, &engine.Run{ID: "run-1", Installation: "redmine", Action: "install", Created: at(4)})
	require.ErrorIs(t, err, engine.ErrConflict)

	got, err := s.GetRun(ctx, "run-1")
	require.NoError(t, err)
	assert.Equal(t, first.Installation, got.Installation)
	assert.Equal(t, first.Revision, got.Revision)
	assert.Equal(t, first.Action, got.Action)
	assert.Equal(t, first.BundleRef, got.BundleRef)
	assert.Equal(t, first.BundleDigest, got.BundleDigest)
	assert.Equal(t, first.Bundle, got.Bundle)
	assert.Equal(t, first.Parameters, got.Parameters)
	assert.True(t, first.Created.Equal(got.Created))

	_, err = s.GetRun(ctx, "run-404")
	require.ErrorIs(t, err, engine.ErrNotFound)

	runs, err := s.ListRuns(ctx, "", "redmine")
	require.NoError(t, err)
	require.Len(t, runs, 2)
	assert.Equal(t, "run-2", runs[0].ID, "newest first")
	assert.Equal(t, "run-1", runs[1].ID)

	runs, err = s.ListRuns(ctx, "", "nothing")
	require.NoError(t, err)
	assert.Empty(t, runs)
}

func testResults(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: "run-1", Installation: "redmine", Action: "install", Created: at(0)}))
	for i, st := range []string{engine.ResultPending, engine.ResultRunning, engine.ResultSucceeded} {
		require.NoError(t, s.InsertResult(ctx, &engine.Result{
			ID: fmt.Sprintf("res-%d", i), RunID: "run-1", Status: st, Message: "step " + st, Created: at(i + 1),
		}))
	}
	results, err := s.ListResults(ctx, "run-1")
	require.NoError(t, err)
	require.Len(t, results, 3)
	var states []string
	for _, r := range results {
		states = append(states, r.Status)
		assert.Equal(t, "run-1", r.RunID)
	}
	assert.Equal(t, []string{engine.ResultPending, engine.ResultRunning, engine.ResultSucceeded}, states, "oldest first")
	assert.Equal(t, "step running", results[1].Message)
	assert.True(t, at(2).Equal(results[1].Created))

	results, err = s.ListResults(ctx, "run-404")
	require.NoError(t, err)
	assert.Empty(t, results)
}

func testOutputs(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: "run-1", Installation: "redmine", Action: "install", Created: at(0)}))
	require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: "run-2", Installation: "redmine", Action: "upgrade", Created: at(5)}))
	outs := []*engine.Output{
		{Name: "url", Installation: "redmine", RunID: "run-1", ResultID: "res-1", Value: []byte("http://host:9001"), Created: at(1)},
		{Name: "password", Installation: "redmine", RunID: "run-1", ResultID: "res-1", Sensitive: true, Value: []byte("s3cret"), Created: at(1)},
		{Name: "url", Installation: "redmine", RunID: "run-2", ResultID: "res-2", Value: []byte("http://host:9005"), Created: at(6)},
	}
	for _, o := range outs {
		require.NoError(t, s.InsertOutput(ctx, o))
	}

	latest, err := s.ListOutputs(ctx, "", "redmine")
	require.NoError(t, err)
	byName := map[string]*engine.Output{}
	for _, o := range latest {
		byName[o.Name] = o
	}
	require.Len(t, byName, 2, "one value per output name")
	assert.Equal(t, "http://host:9005", string(byName["url"].Value), "the latest value wins")
	assert.Equal(t, "run-2", byName["url"].RunID)
	assert.True(t, byName["password"].Sensitive)
	assert.Equal(t, "s3cret", string(byName["password"].Value))
	assert.Equal(t, "res-1", byName["password"].ResultID)

	run1, err := s.ListRunOutputs(ctx, "run-1")
	require.NoError(t, err)
	require.Len(t, run1, 2)
	for _, o := range run1 {
		assert.Equal(t, "run-1", o.RunID)
	}
	assert.Equal(t, "http://host:9001", string(outputNamed(run1, "url").Value))

	none, err := s.ListOutputs(ctx, "", "gitea")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func outputNamed(outs []*engine.Output, name string) *engine.Output {
	for _, o := range outs {
		if o.Name == name {
			return o
		}
	}
	return &engine.Output{}
}

func testLeasePorts(t *testing.T, s engine.Store) {
	ctx := t.Context()
	leases, err := s.ListPortLeases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases)

	require.NoError(t, s.LeasePorts(ctx, nil), "leasing nothing is fine")
	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{
		{Port: 9001, Protocol: "tcp", Installation: "redmine", Name: "port"},
		{Port: 9002, Protocol: "tcp", Installation: "redmine", Name: "db_port"},
	}))
	// The same number over another protocol is another port.
	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{{Port: 9001, Protocol: "udp", Installation: "gitea", Name: "dns"}}))
	// Leasing again to the holder is idempotent.
	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{{Port: 9001, Protocol: "tcp", Installation: "redmine", Name: "port"}}))

	err = s.LeasePorts(ctx, []engine.PortLease{{Port: 9002, Protocol: "tcp", Installation: "gitea", Name: "port"}})
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "9002", "the error names the port")
	assert.Contains(t, err.Error(), "redmine", "the error names the holder")

	leases, err = s.ListPortLeases(ctx)
	require.NoError(t, err)
	sortLeases(leases)
	assert.Equal(t, []engine.PortLease{
		{Port: 9001, Protocol: "tcp", Installation: "redmine", Name: "port"},
		{Port: 9001, Protocol: "udp", Installation: "gitea", Name: "dns"},
		{Port: 9002, Protocol: "tcp", Installation: "redmine", Name: "db_port"},
	}, leases)

	require.NoError(t, s.ReleasePorts(ctx, "redmine"))
	require.NoError(t, s.ReleasePorts(ctx, "redmine"), "releasing twice is fine")
	leases, err = s.ListPortLeases(ctx)
	require.NoError(t, err)
	assert.Equal(t, []engine.PortLease{{Port: 9001, Protocol: "udp", Installation: "gitea", Name: "dns"}}, leases)

	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{{Port: 9002, Protocol: "tcp", Installation: "gitea", Name: "port"}}),
		"a released port can be leased again")
}

func testLeasePortsAtomic(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.LeasePorts(ctx, []engine.PortLease{{Port: 9003, Protocol: "tcp", Installation: "redmine", Name: "port"}}))

	// The third lease conflicts, so the first two must not be kept.
	err := s.LeasePorts(ctx, []engine.PortLease{
		{Port: 9001, Protocol: "tcp", Installation: "gitea", Name: "port"},
		{Port: 9002, Protocol: "tcp", Installation: "gitea", Name: "ssh"},
		{Port: 9003, Protocol: "tcp", Installation: "gitea", Name: "db_port"},
	})
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "9003")

	// A batch asking for one port for two installations conflicts too.
	err = s.LeasePorts(ctx, []engine.PortLease{
		{Port: 9010, Protocol: "tcp", Installation: "gitea", Name: "port"},
		{Port: 9010, Protocol: "tcp", Installation: "wordpress", Name: "port"},
	})
	require.ErrorIs(t, err, engine.ErrConflict)

	leases, err := s.ListPortLeases(ctx)
	require.NoError(t, err)
	assert.Equal(t, []engine.PortLease{{Port: 9003, Protocol: "tcp", Installation: "redmine", Name: "port"}}, leases)
}

// testLeasePortsConcurrent has 20 installs race for ports from one small
// range, each picking the lowest free pair and retrying on conflict, the way
// the engine does. Every install must end with its own two ports.
func testLeasePortsConcurrent(t *testing.T, s engine.Store) {
	ctx := t.Context()
	const workers, perWorker, base = 20, 2, 10000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := fmt.Sprintf("app-%02d", w)
			for attempt := 0; attempt < 200; attempt++ {
				leases, err := s.ListPortLeases(ctx)
				if err != nil {
					errs <- err
					return
				}
				used := map[int]bool{}
				for _, l := range leases {
					used[l.Port] = true
				}
				var want []engine.PortLease
				for p := base; len(want) < perWorker; p++ {
					if !used[p] {
						want = append(want, engine.PortLease{Port: p, Protocol: "tcp", Installation: inst, Name: fmt.Sprint("p", len(want))})
					}
				}
				err = s.LeasePorts(ctx, want)
				if err == nil {
					return
				}
				if !errors.Is(err, engine.ErrConflict) {
					errs <- fmt.Errorf("%s: %w", inst, err)
					return
				}
			}
			errs <- fmt.Errorf("%s: no ports after 200 attempts", inst)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "no SQLITE_BUSY or other failure under concurrency")
	}

	leases, err := s.ListPortLeases(ctx)
	require.NoError(t, err)
	require.Len(t, leases, workers*perWorker)
	holders := map[int]string{}
	perInst := map[string]int{}
	for _, l := range leases {
		prev, dup := holders[l.Port]
		require.False(t, dup, "port %d leased to %s and %s", l.Port, prev, l.Installation)
		holders[l.Port] = l.Installation
		perInst[l.Installation]++
	}
	assert.Len(t, perInst, workers)
	for inst, n := range perInst {
		assert.Equal(t, perWorker, n, inst)
	}
}

// testLeasePortsSamePort has 20 installs ask for the same port at once:
// exactly one wins, the others get ErrConflict.
func testLeasePortsSamePort(t *testing.T, s engine.Store) {
	ctx := t.Context()
	const workers = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won       []string
		conflicts int
		others    []error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := fmt.Sprintf("app-%02d", w)
			err := s.LeasePorts(ctx, []engine.PortLease{{Port: 9001, Protocol: "tcp", Installation: inst, Name: "port"}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, inst)
			case errors.Is(err, engine.ErrConflict):
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, others)
	require.Len(t, won, 1)
	assert.Equal(t, workers-1, conflicts)

	leases, err := s.ListPortLeases(ctx)
	require.NoError(t, err)
	require.Len(t, leases, 1)
	assert.Equal(t, won[0], leases[0].Installation)
}

func sortLeases(l []engine.PortLease) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].Port != l[j].Port {
			return l[i].Port < l[j].Port
		}
		return strings.Compare(l[i].Protocol, l[j].Protocol) < 0
	})
}

func testJobs(t *testing.T, s engine.Store) {
	ctx := t.Context()
	jobs := []*engine.Job{
		{ID: "job-1", Installation: "redmine", Action: "install", Status: engine.JobSucceeded, Created: at(1)},
		{ID: "job-2", Installation: "gitea", Action: "install", Status: engine.JobRunning, Created: at(2)},
		{ID: "job-3", Installation: "redmine", Action: "upgrade", Status: engine.JobQueued, Created: at(3)},
	}
	for _, j := range jobs {
		require.NoError(t, s.CreateJob(ctx, j))
	}
	err := s.CreateJob(ctx, &engine.Job{ID: "job-1", Status: engine.JobQueued, Created: at(4)})
	require.ErrorIs(t, err, engine.ErrConflict)

	got, err := s.GetJob(ctx, "job-2")
	require.NoError(t, err)
	assert.Equal(t, "gitea", got.Installation)
	assert.Equal(t, "install", got.Action)
	assert.Equal(t, engine.JobRunning, got.Status)
	assert.True(t, at(2).Equal(got.Created))
	assert.Nil(t, got.Finished)

	finished := at(9)
	got.Status = engine.JobFailed
	got.Message = "image pull failed"
	got.RunID = "run-7"
	got.Finished = &finished
	require.NoError(t, s.UpdateJob(ctx, got))
	again, err := s.GetJob(ctx, "job-2")
	require.NoError(t, err)
	assert.Equal(t, engine.JobFailed, again.Status)
	assert.Equal(t, "image pull failed", again.Message)
	assert.Equal(t, "run-7", again.RunID)
	assertTimePtr(t, "finished", &finished, again.Finished)

	_, err = s.GetJob(ctx, "job-404")
	require.ErrorIs(t, err, engine.ErrNotFound)
	err = s.UpdateJob(ctx, &engine.Job{ID: "job-404", Status: engine.JobFailed})
	require.ErrorIs(t, err, engine.ErrNotFound)

	ids := func(list []*engine.Job) []string {
		var out []string
		for _, j := range list {
			out = append(out, j.ID)
		}
		return out
	}
	all, err := s.ListJobs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"job-3", "job-2", "job-1"}, ids(all), "newest first")

	some, err := s.ListJobs(ctx, engine.JobQueued, engine.JobFailed)
	require.NoError(t, err)
	assert.Equal(t, []string{"job-3", "job-2"}, ids(some))

	none, err := s.ListJobs(ctx, engine.JobRunning)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testJobEvents(t *testing.T, s engine.Store) {
	ctx := t.Context()
	job := &engine.Job{ID: "J1", Installation: "a", Action: "install", Status: engine.JobRunning, Created: at(0)}
	require.NoError(t, s.CreateJob(ctx, job))
	evs := []*engine.JobEvent{
		{Job: "J1", Seq: 2, Type: engine.JobEventLog, Step: "run install", Progress: 30, Line: "pulling", Time: at(2)},
		{Job: "J1", Seq: 1, Type: engine.JobEventStatus, Status: engine.JobRunning, Progress: 5, Time: at(1)},
		{Job: "J2", Seq: 1, Type: engine.JobEventStatus, Status: engine.JobQueued, Time: at(1)},
	}
	for _, ev := range evs {
		require.NoError(t, s.AppendJobEvent(ctx, ev))
	}
	require.ErrorIs(t, s.AppendJobEvent(ctx, evs[0]), engine.ErrConflict, "seq is unique per job")
	got, err := s.ListJobEvents(ctx, "J1")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, *evs[1], *got[0])
	assert.Equal(t, *evs[0], *got[1])
	none, err := s.ListJobEvents(ctx, "nope")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testSets(t *testing.T, s engine.Store) {
	ctx := t.Context()
	_, err := s.GetSet(ctx, "CredentialSet", "", "prod")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteSet(ctx, "CredentialSet", "", "prod"), engine.ErrNotFound)

	first := &engine.SetRecord{Kind: "CredentialSet", Name: "prod", Doc: []byte(`{"name":"prod","credentials":[]}`)}
	require.NoError(t, s.PutSet(ctx, first))
	require.NoError(t, s.PutSet(ctx, &engine.SetRecord{Kind: "CredentialSet", Name: "dev", Doc: []byte(`{"name":"dev"}`)}))
	require.NoError(t, s.PutSet(ctx, &engine.SetRecord{Kind: "ParameterSet", Name: "prod", Doc: []byte(`{"name":"params"}`)}))
	require.NoError(t, s.PutSet(ctx, &engine.SetRecord{Kind: "CredentialSet", Namespace: "team", Name: "prod", Doc: []byte(`{}`)}))

	got, err := s.GetSet(ctx, "CredentialSet", "", "prod")
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"prod","credentials":[]}`, string(got.Doc))
	created := got.Created

	require.NoError(t, s.PutSet(ctx, &engine.SetRecord{Kind: "CredentialSet", Name: "prod", Doc: []byte(`{"name":"prod","v":2}`)}))
	got, err = s.GetSet(ctx, "CredentialSet", "", "prod")
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"prod","v":2}`, string(got.Doc), "replaced")
	assert.True(t, created.Equal(got.Created), "replacing keeps Created")

	list, err := s.ListSets(ctx, "CredentialSet", "")
	require.NoError(t, err)
	require.Len(t, list, 2, "kinds and namespaces are apart")
	assert.Equal(t, "dev", list[0].Name)
	assert.Equal(t, "prod", list[1].Name)

	require.NoError(t, s.DeleteSet(ctx, "CredentialSet", "", "prod"))
	_, err = s.GetSet(ctx, "CredentialSet", "", "prod")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetSet(ctx, "ParameterSet", "", "prod")
	require.NoError(t, err, "the parameter set of the same name stays")
}

func testPruneHistory(t *testing.T, s engine.Store) {
	ctx := t.Context()
	inst := newInstallation("", "blog")
	inst.LastRunID, inst.JobID = "run-0", ""
	require.NoError(t, s.CreateInstallation(ctx, inst))
	// run-0 is the installation's last run (an old one, as after a custom
	// action that records no run); run-1 holds the only value of the
	// generated password; the newest runs each write "port".
	for i := range 8 {
		require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: fmt.Sprintf("run-%d", i), Installation: "blog", Action: "upgrade", Created: at(i)}))
	}
	require.NoError(t, s.InsertOutput(ctx, &engine.Output{Name: "password", Installation: "blog", RunID: "run-1", Value: []byte("s3cret"), Created: at(1)}))
	for i := 2; i < 8; i++ {
		require.NoError(t, s.InsertOutput(ctx, &engine.Output{Name: "port", Installation: "blog", RunID: fmt.Sprintf("run-%d", i), Value: []byte(fmt.Sprint(9000 + i)), Created: at(i)}))
	}
	require.NoError(t, s.InsertRun(ctx, &engine.Run{ID: "other-run", Installation: "wiki", Action: "install", Created: at(0)}))
	for i := range 6 {
		done := at(i + 1)
		job := &engine.Job{ID: fmt.Sprintf("job-%d", i), Installation: "blog", Action: "upgrade", Status: engine.JobSucceeded, Created: at(i), Finished: &done}
		if i == 5 {
			job.Status, job.Finished = engine.JobRunning, nil
		}
		require.NoError(t, s.CreateJob(ctx, job))
		require.NoError(t, s.AppendJobEvent(ctx, &engine.JobEvent{Job: job.ID, Seq: 1, Type: engine.JobEventLog, Line: "x", Time: at(i)}))
	}

	st, err := s.PruneHistory(ctx, "", "blog", 3)
	require.NoError(t, err)
	assert.Equal(t, engine.PruneStats{Runs: 3, Jobs: 3}, st)

	runs, err := s.ListRuns(ctx, "", "blog")
	require.NoError(t, err)
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"run-7", "run-6", "run-5", "run-1", "run-0"}, ids)
	outs, err := s.ListOutputs(ctx, "", "blog")
	require.NoError(t, err)
	got := map[string]string{}
	for _, o := range outs {
		got[o.Name] = string(o.Value)
	}
	assert.Equal(t, map[string]string{"password": "s3cret", "port": "9007"}, got, "latest outputs survive")
	_, err = s.GetRun(ctx, "other-run")
	require.NoError(t, err, "other installations are untouched")

	jobs, err := s.ListJobs(ctx)
	require.NoError(t, err)
	ids = ids[:0]
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	assert.Equal(t, []string{"job-5", "job-4", "job-3"}, ids)
	evs, err := s.ListJobEvents(ctx, "job-0")
	require.NoError(t, err)
	assert.Empty(t, evs, "events go with their job")

	_, err = s.PruneHistory(ctx, "", "blog", 0)
	require.ErrorIs(t, err, engine.ErrInvalid)
}

func testDomains(t *testing.T, s engine.Store) {
	ctx := t.Context()
	for _, name := range []string{"blog", "wiki"} {
		require.NoError(t, s.CreateInstallation(ctx, newInstallation("", name)))
	}
	blog := &engine.Domain{Name: "blog.example.org", Installation: "blog", Service: "web", Port: "port", TLS: engine.TLSACME, Created: at(1)}
	require.NoError(t, s.CreateDomain(ctx, blog))
	require.NoError(t, s.CreateDomain(ctx, &engine.Domain{Name: "a.example.org", Installation: "blog", Port: "admin", TLS: engine.TLSSelfSigned, Created: at(2)}))
	require.NoError(t, s.CreateDomain(ctx, &engine.Domain{Name: "wiki.lan", Installation: "wiki", Port: "port", TLS: engine.TLSSelfSigned, Login: true, Created: at(3)}))

	err := s.CreateDomain(ctx, &engine.Domain{Name: "blog.example.org", Installation: "wiki", Port: "port", TLS: engine.TLSACME, Created: at(4)})
	require.ErrorIs(t, err, engine.ErrConflict, "a name routes to one installation")

	all, err := s.ListDomains(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, []string{"a.example.org", "blog.example.org", "wiki.lan"}, []string{all[0].Name, all[1].Name, all[2].Name})
	assert.Equal(t, blog, all[1])
	assert.True(t, all[2].Login, "the login gate is kept")
	assert.False(t, all[1].Login)

	require.NoError(t, s.DeleteDomain(ctx, "a.example.org"))
	require.ErrorIs(t, s.DeleteDomain(ctx, "a.example.org"), engine.ErrNotFound)

	require.NoError(t, s.DeleteInstallation(ctx, "", "blog"))
	all, err = s.ListDomains(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1, "deleting an installation deletes its domains")
	assert.Equal(t, "wiki.lan", all[0].Name)
}
