package porter_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/porter"
)

// docBundle is a bundle.json with a sensitive, a typed, a file and two
// internal parameters.
const docBundle = `{"name":"mybuns","version":"0.1.2",
"parameters":{
  "password":{"definition":"password-parameter"},
  "log_level":{"definition":"log_level-parameter"},
  "config":{"definition":"config-parameter"},
  "porter-debug":{"definition":"porter-debug-parameter"},
  "stackhub-context":{"definition":"stackhub-context-parameter"}},
"definitions":{
  "password-parameter":{"type":"string","writeOnly":true},
  "log_level-parameter":{"type":"integer","default":5},
  "config-parameter":{"type":"string","contentEncoding":"base64"},
  "porter-debug-parameter":{"type":"boolean","$comment":"porter-internal"},
  "stackhub-context-parameter":{"type":"string","$comment":"porter-internal"}}}`

// docAt is a fixed time plus n seconds.
func docAt(n int) time.Time {
	return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
}

func docTimePtr(n int) *time.Time {
	t := docAt(n)
	return &t
}

func docInstallation() *engine.Installation {
	return &engine.Installation{
		ID: "01HZX0MYBUNS", Name: "mybuns", Namespace: "dev", App: "mybuns", BundleVersion: "0.1.2",
		BundleDigest: "sha256:inst", Reference: "localhost:5000/mybuns:v0.1.2", Status: engine.StatusRunning,
		ContainerName: "stackhub-mybuns", Ports: map[string]int{"port": 9001},
		Parameters: map[string]string{"password": "supersecret", "log_level": "11"},
		Labels:     map[string]string{"team": "red"}, ParameterSets: []string{"mybuns"}, CredentialSets: []string{"mybuns"},
		LastAction: "install", LastRunID: "run-1", Created: docAt(0), Modified: docAt(10), Installed: docTimePtr(10),
	}
}

func docRun(action string) *engine.Run {
	return &engine.Run{
		ID: "run-1", Installation: "mybuns", Namespace: "dev", Revision: "rev-1", Action: action,
		BundleRef: "localhost:5000/mybuns:v0.1.2", BundleDigest: "sha256:run", Bundle: []byte(docBundle),
		Parameters: map[string]any{"password": "supersecret", "log_level": 11, "config": "aGk=", "porter-debug": false,
			"stackhub-context": `{"ports":{}}`},
		Created: docAt(1),
	}
}

func docResults(statuses ...string) []*engine.Result {
	var out []*engine.Result
	for i, s := range statuses {
		out = append(out, &engine.Result{ID: "result-" + s, RunID: "run-1", Status: s, Created: docAt(2 + 5*i)})
	}
	return out
}

// TestPorterInstallationJSON pins the whole document, field names and all,
// against porter-compat.md 7.3.
func TestPorterInstallationJSON(t *testing.T) {
	doc := porter.NewInstallation(docInstallation(), docRun("install"), docResults("running", "succeeded"),
		porter.DocOptions{Resolve: true, StackHub: true})
	got, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.JSONEq(t, `{
	  "schemaType": "Installation", "schemaVersion": "1.0.2",
	  "id": "01HZX0MYBUNS", "name": "mybuns", "namespace": "dev",
	  "bundle": {"repository": "localhost:5000/mybuns", "version": "0.1.2"},
	  "custom": {}, "labels": {"team": "red"},
	  "credentialSets": ["mybuns"], "parameterSets": ["mybuns"],
	  "parameters": {"log_level": "11", "password": "*******"},
	  "status": {
	    "runId": "run-1", "action": "install", "resultId": "result-succeeded", "resultStatus": "succeeded",
	    "created": "2024-05-01T12:00:00Z", "modified": "2024-05-01T12:00:10Z",
	    "installed": "2024-05-01T12:00:10Z", "uninstalled": null,
	    "bundleReference": "localhost:5000/mybuns:v0.1.2", "bundleVersion": "0.1.2", "bundleDigest": "sha256:run"
	  },
	  "_calculated": {
	    "resolvedParameters": [
	      {"name": "config", "type": "file", "sensitive": false, "value": "aGk="},
	      {"name": "log_level", "type": "integer", "sensitive": false, "value": 11},
	      {"name": "password", "type": "string", "sensitive": true, "value": "*******"}
	    ],
	    "displayInstallationState": "installed",
	    "displayInstallationStatus": "succeeded"
	  },
	  "stackhub": {"app": "mybuns", "status": "running", "containerName": "stackhub-mybuns", "ports": {"port": 9001}}
	}`, string(got))
}

func TestNewPorterInstallation(t *testing.T) {
	tests := []struct {
		name    string
		inst    func(*engine.Installation)
		run     *engine.Run
		results []*engine.Result
		opts    porter.DocOptions
		check   func(t *testing.T, doc *porter.Installation)
	}{
		{
			name: "show masks sensitive values", run: docRun("install"), results: docResults("running", "succeeded"),
			opts: porter.DocOptions{Resolve: true},
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, porter.MaskedValue, doc.Parameters["password"])
				assert.Equal(t, "11", doc.Parameters["log_level"])
				require.Len(t, doc.Calculated.ResolvedParameters, 3)
				assert.Equal(t, porter.MaskedValue, doc.Calculated.ResolvedParameters[2].Value)
				assert.Nil(t, doc.StackHub, "stackhub facts only when asked")
			},
		},
		{
			name: "reveal shows them, as porter does", run: docRun("install"), results: docResults("running", "succeeded"),
			opts: porter.DocOptions{Resolve: true, Reveal: true},
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "supersecret", doc.Parameters["password"])
				require.Len(t, doc.Calculated.ResolvedParameters, 3)
				assert.Equal(t, porter.Parameter{Name: "password", Type: "string", Sensitive: true, Value: "supersecret"},
					doc.Calculated.ResolvedParameters[2])
			},
		},
		{
			name: "list leaves parameters out", run: docRun("install"), results: docResults("running", "succeeded"),
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Nil(t, doc.Parameters)
				assert.Nil(t, doc.Calculated.ResolvedParameters)
				assert.Equal(t, "succeeded", doc.Calculated.DisplayInstallationStatus)
			},
		},
		{
			name: "without a run every parameter is masked",
			inst: func(i *engine.Installation) {
				i.LastRunID, i.Installed, i.Status, i.LastAction = "", nil, engine.StatusInstalling, "install"
			},
			opts: porter.DocOptions{Resolve: true, Reveal: false},
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, map[string]any{"password": porter.MaskedValue, "log_level": porter.MaskedValue}, doc.Parameters)
				assert.Nil(t, doc.Calculated.ResolvedParameters)
				assert.Empty(t, doc.Status.RunID)
				assert.Equal(t, "defined", doc.Calculated.DisplayInstallationState)
				assert.Equal(t, "installing", doc.Calculated.DisplayInstallationStatus, "a queued install")
			},
		},
		{
			name: "an upgrade running", run: docRun("upgrade"), results: docResults("running"),
			inst: func(i *engine.Installation) { i.Status = engine.StatusUpgrading },
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "upgrade", doc.Status.Action)
				assert.Equal(t, "running", doc.Status.ResultStatus)
				assert.Equal(t, "upgrading", doc.Calculated.DisplayInstallationStatus)
			},
		},
		{
			name: "a custom action running", run: docRun("bump"), results: docResults("running"),
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "running bump", doc.Calculated.DisplayInstallationStatus)
			},
		},
		{
			name: "a failed uninstall", run: docRun("uninstall"), results: docResults("running", "failed"),
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "installed", doc.Calculated.DisplayInstallationState)
				assert.Equal(t, "failed", doc.Calculated.DisplayInstallationStatus)
			},
		},
		{
			name: "uninstalled", run: docRun("uninstall"), results: docResults("running", "succeeded"),
			inst: func(i *engine.Installation) { i.Uninstalled, i.Status = docTimePtr(20), engine.StatusUninstalled },
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "uninstalled", doc.Calculated.DisplayInstallationState)
				assert.Equal(t, "succeeded", doc.Calculated.DisplayInstallationStatus)
				assert.False(t, doc.Uninstalled, "the desired-state flag, not the record's state")
			},
		},
		{
			name: "installed again after an uninstall", run: docRun("install"), results: docResults("running", "succeeded"),
			inst: func(i *engine.Installation) { i.Uninstalled, i.Installed = docTimePtr(5), docTimePtr(30) },
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, "installed", doc.Calculated.DisplayInstallationState)
			},
		},
		{
			name: "a catalog app has no bundle reference",
			inst: func(i *engine.Installation) { i.Reference, i.LastRunID = "", "" },
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, map[string]string{}, doc.Bundle)
				assert.Equal(t, "sha256:inst", doc.Status.BundleDigest)
				assert.Equal(t, "install", doc.Status.Action, "the installation's last action without a run")
			},
		},
		{
			name: "stackhub facts", opts: porter.DocOptions{StackHub: true},
			inst: func(i *engine.Installation) {
				i.Status, i.Reason, i.Ports, i.LastRunID = engine.StatusFailed, "container web exited", nil, ""
			},
			check: func(t *testing.T, doc *porter.Installation) {
				assert.Equal(t, &porter.StackHubFacts{App: "mybuns", Status: engine.StatusFailed, Reason: "container web exited",
					ContainerName: "stackhub-mybuns", Ports: map[string]int{}}, doc.StackHub)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := docInstallation()
			if tt.inst != nil {
				tt.inst(inst)
			}
			doc := porter.NewInstallation(inst, tt.run, tt.results, tt.opts)
			assert.Equal(t, "Installation", doc.SchemaType)
			assert.Equal(t, porter.SchemaVersion, doc.SchemaVersion)
			tt.check(t, doc)
		})
	}
}

func TestPorterBundle(t *testing.T) {
	tests := []struct {
		ref  string
		want map[string]string
	}{
		{"localhost:5000/mybuns:v0.1.2", map[string]string{"repository": "localhost:5000/mybuns", "version": "0.1.2"}},
		{"localhost:5000/mybuns:latest", map[string]string{"repository": "localhost:5000/mybuns", "tag": "latest"}},
		{"ghcr.io/org/mybuns@sha256:0123", map[string]string{"repository": "ghcr.io/org/mybuns", "digest": "sha256:0123"}},
		{"archive:/srv/mybuns.tgz", map[string]string{}},
		{"", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			inst := docInstallation()
			inst.Reference = tt.ref
			assert.Equal(t, tt.want, porter.NewInstallation(inst, nil, nil, porter.DocOptions{}).Bundle)
		})
	}
}

func TestSortPorterInstallations(t *testing.T) {
	docs := []*porter.Installation{
		{Name: "old", Status: porter.InstallationStatus{Modified: docAt(1)}},
		{Name: "new", Status: porter.InstallationStatus{Modified: docAt(9)}},
		{Name: "tie-a", Status: porter.InstallationStatus{Modified: docAt(5)}},
		{Name: "tie-b", Status: porter.InstallationStatus{Modified: docAt(5)}},
	}
	porter.SortInstallations(docs)
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	assert.Equal(t, []string{"new", "tie-a", "tie-b", "old"}, names)
}

func TestNewPorterRun(t *testing.T) {
	tests := []struct {
		name        string
		results     []*engine.Result
		reveal      bool
		wantStarted time.Time
		wantStopped *time.Time
		wantStatus  string
		wantSecret  any
	}{
		{name: "no result yet", wantStarted: docAt(1), wantSecret: porter.MaskedValue},
		{name: "running", results: docResults("running"), wantStarted: docAt(2), wantStatus: "running", wantSecret: porter.MaskedValue},
		{name: "succeeded", results: docResults("running", "succeeded"), wantStarted: docAt(2), wantStopped: docTimePtr(7),
			wantStatus: "succeeded", wantSecret: porter.MaskedValue},
		{name: "failed, revealed", results: docResults("running", "failed"), reveal: true, wantStarted: docAt(2),
			wantStopped: docTimePtr(7), wantStatus: "failed", wantSecret: "supersecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := porter.NewRun(docRun("install"), tt.results, tt.reveal)
			assert.Equal(t, "run-1", r.ID)
			assert.Equal(t, "localhost:5000/mybuns:v0.1.2", r.Bundle)
			assert.Equal(t, "0.1.2", r.Version)
			assert.Equal(t, "install", r.Action)
			assert.Equal(t, tt.wantStarted, r.Started)
			assert.Equal(t, tt.wantStopped, r.Stopped)
			assert.Equal(t, tt.wantStatus, r.Status)
			assert.Equal(t, map[string]any{"password": tt.wantSecret, "log_level": 11, "config": "aGk="}, r.Parameters,
				"internal parameters left out")
		})
	}
}

// newDocEngine is an engine over a real SQLite store and inert fakes.
func newDocEngine(t *testing.T) (*engine.Engine, engine.Store) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	eng, err := engine.New(engine.Config{Namespace: "dev", RuntimeBinary: bin}, engine.Deps{
		Store: store, Docker: &enginetest.DockerFunc{}, Runtime: &enginetest.BundleRuntimeFunc{},
		Converter: &enginetest.BundleConverterFunc{}, Catalog: &enginetest.CatalogFunc{},
	})
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	return eng, store
}

// recordRun stores a run of action created at second n with results.
func recordRun(t *testing.T, store engine.Store, id, action string, n int, statuses ...string) {
	t.Helper()
	run := docRun(action)
	run.ID, run.Revision, run.Created = id, "rev-"+id, docAt(n)
	require.NoError(t, store.InsertRun(t.Context(), run))
	for i, s := range statuses {
		require.NoError(t, store.InsertResult(t.Context(), &engine.Result{ID: id + "-" + s, RunID: id, Status: s, Created: docAt(n + 1 + i)}))
	}
}

func TestPorterDocumentFromStore(t *testing.T) {
	eng, store := newDocEngine(t)
	inst := docInstallation()
	inst.LastRunID = "run-b"
	require.NoError(t, store.CreateInstallation(t.Context(), inst))
	recordRun(t, store, "run-a", "install", 1, "running", "succeeded")
	recordRun(t, store, "run-b", "upgrade", 10, "running", "failed")

	doc, err := porter.NewDocs(eng.Records()).Document(t.Context(), inst, porter.DocOptions{Resolve: true})
	require.NoError(t, err)
	assert.Equal(t, "run-b", doc.Status.RunID)
	assert.Equal(t, "upgrade", doc.Status.Action)
	assert.Equal(t, "run-b-failed", doc.Status.ResultID)
	assert.Equal(t, "failed", doc.Calculated.DisplayInstallationStatus)
	require.Len(t, doc.Calculated.ResolvedParameters, 3)
	assert.Equal(t, porter.MaskedValue, doc.Calculated.ResolvedParameters[2].Value)
	assert.InDelta(t, 11, doc.Calculated.ResolvedParameters[1].Value, 0, "typed values survive the store")

	t.Run("a run the store lost is left out", func(t *testing.T) {
		lost := docInstallation()
		lost.LastRunID = "gone"
		doc, err := porter.NewDocs(eng.Records()).Document(t.Context(), lost, porter.DocOptions{Resolve: true})
		require.NoError(t, err)
		assert.Empty(t, doc.Status.RunID)
		assert.Nil(t, doc.Calculated.ResolvedParameters)
	})

	t.Run("documents sort newest modified first, without parameters", func(t *testing.T) {
		older := docInstallation()
		older.Name, older.Modified = "older", docAt(5)
		docs, err := porter.NewDocs(eng.Records()).Documents(t.Context(), []*engine.Installation{older, inst}, porter.DocOptions{Resolve: true})
		require.NoError(t, err)
		require.Len(t, docs, 2)
		assert.Equal(t, "mybuns", docs[0].Name)
		assert.Equal(t, "older", docs[1].Name)
		assert.Nil(t, docs[0].Parameters)
		assert.Nil(t, docs[0].Calculated.ResolvedParameters)
	})
}

func TestPorterRuns(t *testing.T) {
	eng, store := newDocEngine(t)
	inst := docInstallation()
	require.NoError(t, store.CreateInstallation(t.Context(), inst))
	recordRun(t, store, "run-a", "install", 1, "running", "succeeded")
	recordRun(t, store, "run-b", "bump", 10, "running", "failed")
	recordRun(t, store, "run-c", "upgrade", 20, "running")

	runs, err := porter.NewDocs(eng.Records()).Runs(t.Context(), inst, false)
	require.NoError(t, err)
	got, err := json.Marshal(runs)
	require.NoError(t, err)
	params := `{"config":"aGk=","log_level":11,"password":"*******"}`
	assert.JSONEq(t, `[
	  {"id":"run-c","bundle":"localhost:5000/mybuns:v0.1.2","version":"0.1.2","action":"upgrade","parameters":`+params+`,
	   "started":"2024-05-01T12:00:21Z","stopped":null,"status":"running"},
	  {"id":"run-b","bundle":"localhost:5000/mybuns:v0.1.2","version":"0.1.2","action":"bump","parameters":`+params+`,
	   "started":"2024-05-01T12:00:11Z","stopped":"2024-05-01T12:00:12Z","status":"failed"},
	  {"id":"run-a","bundle":"localhost:5000/mybuns:v0.1.2","version":"0.1.2","action":"install","parameters":`+params+`,
	   "started":"2024-05-01T12:00:02Z","stopped":"2024-05-01T12:00:03Z","status":"succeeded"}
	]`, string(got))

	revealed, err := porter.NewDocs(eng.Records()).Runs(t.Context(), inst, true)
	require.NoError(t, err)
	require.Len(t, revealed, 3)
	assert.Equal(t, "supersecret", revealed[0].Parameters["password"])

	other := docInstallation()
	other.Name = "none"
	none, err := porter.NewDocs(eng.Records()).Runs(t.Context(), other, false)
	require.NoError(t, err)
	assert.Empty(t, none)
}
