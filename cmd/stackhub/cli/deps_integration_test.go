//go:build integration

package cli_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below that publish to a registry run in parallel with each
// other (two at a time on two cores: go test's -parallel is GOMAXPROCS).
// Each has its own data folder and its own registry on a free port, its
// bundle images carry that registry's address, and it removes only the
// images of its registry; their bundles use the exec mixin and create
// nothing in Docker but unnamed invocation containers, removed after each
// run. TestCompatStoredSets stays serial: it builds testdata/compat/deps/mydb
// in place, the folder the others copy.

// startRegistry runs testdata/registry/run.sh (Debian's docker-registry on
// a free loopback port) until the test ends and returns its address.
func startRegistry(t *testing.T) string {
	addr, _ := startStoppableRegistry(t)
	return addr
}

// startStoppableRegistry is startRegistry that also returns a func that
// stops the registry early.
func startStoppableRegistry(t *testing.T) (string, func()) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/docker-registry"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("/usr/bin/docker-registry is missing: apt-get install docker-registry (the dependency tests need it)")
		}
		t.Skip("/usr/bin/docker-registry is missing: apt-get install docker-registry to run the dependency tests")
	}
	cmd := exec.Command("sh", filepath.Join("..", "..", "..", "testdata", "registry", "run.sh"))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	// The registry's own access log shares stdout: the address is the
	// line that is nothing but 127.0.0.1:PORT.
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if line := strings.TrimSpace(lines.Text()); strings.HasPrefix(line, "127.0.0.1:") && !strings.Contains(line, " ") {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return line, stop
		}
	}
	t.Fatalf("the registry did not start: %v", lines.Err())
	return "", stop
}

// copyBundle copies testdata/compat/<name> into a temp folder, pointing
// references at registry, and returns the folder.
func copyBundle(t *testing.T, name, registry string) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "testdata", "compat", name)
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	yaml := filepath.Join(dst, "porter.yaml")
	data, err := os.ReadFile(yaml)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(yaml, []byte(strings.ReplaceAll(string(data), "localhost:5000", registry)), 0o644))
	return dst
}

// TestCompatDependencies publishes a bundle to a real registry and runs a
// bundle that requires it: the dependency is installed first as
// <parent>-<alias> with the manifest's and --param values, its outputs reach
// the parent through templates and parameter sources, and uninstall
// --delete removes both.
func TestCompatDependencies(t *testing.T) {
	t.Parallel()
	c := newCompat(t)
	reg := startRegistry(t)
	db := copyBundle(t, "deps/mydb", reg)
	app := filepath.Join(copyBundle(t, "deps/app", reg), "porter.yaml")
	c.ok("publish", "-f", filepath.Join(db, "porter.yaml"), "--insecure-registry")

	assert.Contains(t, c.ok("lint", "-f", app), "Bundle validation was successful")
	data, err := os.ReadFile(app)
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "porter.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(string(data), "database: wordpress", "size: big", 1)), 0o644))
	out, _, code := c.run("lint", "-f", bad)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, out, "error(porter-103) - Dependency error\nThe dependency db sets parameter size, but "+reg+"/compat-mydb:v0.1.0 does not define it")

	assert.Contains(t, c.fails("install", "-f", app, "--insecure-registry", "--param", "cache#size=1"),
		`parameter "cache#size" names dependency "cache", which bundle compat-deps does not require`)
	assert.Contains(t, c.fails("install", "-f", app, "--insecure-registry", "--param", "db#nope=1"),
		`--param sets parameter "nope" of dependency db, but bundle compat-mydb has no such parameter`)
	c.fails("show", "compat-deps-db") // refused before anything ran

	out = c.ok("install", "-f", app, "--insecure-registry", "--param", "db#database=bigdb")
	assert.Contains(t, out, "dependency db: running install on installation compat-deps-db")
	assert.Contains(t, out, "creating database bigdb", "--param db#database wins over the manifest's value")
	assert.Contains(t, out, "use the database")
	assert.Less(t, strings.Index(out, "creating database"), strings.Index(out, "use the database"), "the dependency runs first")
	assert.Equal(t, "param=db://bigdb@mydb template=db://bigdb@mydb dep=compat-mydb", c.output("compat-deps", "summary"))
	assert.Equal(t, "dep-s3cret", c.output("compat-deps-db", "password"))

	var dep map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("show", "compat-deps-db", "-o", "json")), &dep))
	assert.Equal(t, map[string]any{"sh.porter.parentInstallation": "/compat-deps"}, dep["labels"])
	assert.Equal(t, reg+"/compat-mydb:v0.1.0", dep["status"].(map[string]any)["bundleReference"])

	assert.Contains(t, c.ok("install", "-f", app, "--insecure-registry", "--force"),
		"dependency db: installation compat-deps-db is already installed, skipping its install")

	out = c.ok("invoke", "-f", app, "--action", "status", "--insecure-registry")
	assert.Contains(t, out, "dependency db: running status on installation compat-deps-db")
	assert.Contains(t, out, "database wordpress is up")
	assert.Contains(t, out, "app is up on db://bigdb@mydb")
	assert.Less(t, strings.Index(out, "database wordpress is up"), strings.Index(out, "app is up on db://bigdb@mydb"), "custom actions run on the dependency first, with the manifest's values as Porter passes them")

	out = c.ok("upgrade", "-f", app, "--insecure-registry")
	assert.Contains(t, out, "dependency db: running upgrade on installation compat-deps-db")
	assert.Equal(t, "param=db://wordpress@mydb/v2 template=db://wordpress@mydb/v2 dep=0.1.0", c.output("compat-deps", "summary"),
		"upgrade runs with the manifest's value again and the dependency's new output")

	out = c.ok("uninstall", "-f", app, "--insecure-registry", "--delete")
	assert.Contains(t, out, "app removed")
	assert.Contains(t, out, "dropping database")
	assert.Less(t, strings.Index(out, "app removed"), strings.Index(out, "dropping database"), "the root uninstalls first")
	assert.Contains(t, c.fails("show", "compat-deps"), "Installation not found")
	assert.Contains(t, c.fails("show", "compat-deps-db"), "Installation not found")
}

// TestCompatDependenciesV2 runs two roots of a schema 1.1.0 bundle whose
// dependency is shared (dependencies v2 sharing): the first install creates
// the shared installation <alias> in its group, the second reuses it, and
// uninstalling a root leaves it for the others.
func TestCompatDependenciesV2(t *testing.T) {
	t.Parallel()
	c := newCompat(t).with(t, "PORTER_EXPERIMENTAL", "dependencies-v2")
	reg := startRegistry(t)
	db := copyBundle(t, "deps/mydb", reg)
	app := filepath.Join(copyBundle(t, "depsv2/app", reg), "porter.yaml")
	// As published first, the database provides no interface: the app's
	// bundle.interface.id refuses it. Then it declares the interface.
	c.ok("publish", "-f", filepath.Join(db, "porter.yaml"), "--insecure-registry")
	assert.Contains(t, c.fails("install", "shpc-app0", "-f", app, "--insecure-registry"),
		"does not provide the interface it requires: it declares no dependencies.provides.interface.id")
	dbYAML := filepath.Join(db, "porter.yaml")
	raw, err := os.ReadFile(dbYAML)
	require.NoError(t, err)
	raw = []byte(strings.Replace(string(raw), "schemaVersion: 1.0.1", "schemaVersion: 1.1.0", 1) +
		"dependencies:\n  provides:\n    interface:\n      id: https://example.test/interfaces/database\n")
	require.NoError(t, os.WriteFile(dbYAML, raw, 0o644))
	c.ok("publish", "-f", dbYAML, "--insecure-registry", "--force")
	removeImages(t, func(tag string) bool { return strings.HasPrefix(tag, reg+"/") }) // this test's registry only

	plain := newCompat(t)
	assert.Contains(t, plain.fails("install", "-f", app, "--insecure-registry"), "--experimental dependencies-v2")

	out := c.ok("install", "shpc-app1", "-f", app, "--insecure-registry")
	assert.Contains(t, out, "dependency shpcdb: running install on installation shpcdb")
	assert.Contains(t, out, "creating database shared")
	assert.Equal(t, "template=db://shared@mydb param=db://shared@mydb", c.output("shpc-app1", "summary"))
	var dep map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("show", "shpcdb", "-o", "json")), &dep))
	assert.Equal(t, map[string]any{"sh.porter.SharingGroup": "shpc-group"}, dep["labels"])

	out = c.ok("install", "shpc-app2", "-f", app, "--insecure-registry")
	assert.Contains(t, out, "dependency shpcdb: shared installation shpcdb (group shpc-group) is already installed, using it")
	assert.NotContains(t, out, "creating database")
	assert.Equal(t, "template=db://shared@mydb param=db://shared@mydb", c.output("shpc-app2", "summary"))

	out = c.ok("uninstall", "shpc-app1", "-f", app, "--insecure-registry", "--delete")
	assert.Contains(t, out, "dependency shpcdb: installation shpcdb is shared (group shpc-group), skipping uninstall")
	assert.NotContains(t, out, "dropping database")
	assert.Contains(t, c.ok("show", "shpcdb"), "shpcdb", "the shared installation stays for the other roots")
	c.ok("uninstall", "shpc-app2", "-f", app, "--insecure-registry", "--delete")
	assert.Contains(t, c.ok("uninstall", "shpcdb", "-f", filepath.Join(db, "porter.yaml"), "--delete"), "dropping database")
}

// TestCompatApply brings an installation of a published bundle to the
// states installation files describe: install (with a parameter set file),
// up to date, label-only change, parameter change (upgrade), uninstall.
func TestCompatApply(t *testing.T) {
	t.Parallel()
	c := newCompat(t)
	reg := startRegistry(t)
	db := copyBundle(t, "deps/mydb", reg)
	c.ok("publish", "-f", filepath.Join(db, "porter.yaml"), "--insecure-registry")

	dir := t.TempDir()
	doc := filepath.Join(dir, "mydb.yaml")
	write := func(body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(doc, []byte("schemaType: Installation\nschemaVersion: 1.0.2\nname: compat-apply\n"+
			"bundle:\n  repository: "+reg+"/compat-mydb\n  version: 0.1.0\n"+body), 0o644))
	}
	// dbset is a stored set, not a file next to the installation file.
	setFile := filepath.Join(t.TempDir(), "elsewhere.yaml")
	require.NoError(t, os.WriteFile(setFile, []byte("schemaType: ParameterSet\nschemaVersion: 1.0.1\nname: dbset\n"+
		"parameters:\n  - name: database\n    source: {value: fromset}\n"), 0o644))
	c.ok("parameters", "apply", setFile)

	write("parameterSets: [dbset]\nlabels: {team: red}\n")
	assert.Equal(t, "The installation is out-of-sync, running the install action...\n", c.ok("installation", "apply", doc, "--dry-run"))
	assert.Contains(t, c.fails("show", "compat-apply"), "Installation not found", "a dry run runs nothing")

	out := c.ok("installation", "apply", doc, "--insecure-registry")
	assert.Contains(t, out, "The installation is out-of-sync, running the install action...")
	assert.Contains(t, out, "creating database fromset")
	assert.Equal(t, "The installation is already up-to-date.\n", c.ok("installation", "apply", doc))

	write("parameterSets: [dbset]\nlabels: {team: blue}\n")
	assert.Equal(t, "The installation is already up-to-date.\n", c.ok("installation", "apply", doc), "labels never trigger a run")
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("show", "compat-apply", "-o", "json")), &shown))
	assert.Equal(t, map[string]any{"team": "blue"}, shown["labels"])
	assert.Equal(t, []any{"dbset"}, shown["parameterSets"])

	write("parameterSets: [dbset]\nparameters:\n  database: appdb\n")
	assert.Contains(t, c.ok("installation", "apply", doc, "--insecure-registry"), "The installation is out-of-sync, running the upgrade action...")
	assert.Equal(t, "db://appdb@mydb/v2", c.output("compat-apply", "connstr"), "the document's parameters win over its sets")
	assert.Equal(t, "The installation is already up-to-date.\n", c.ok("installation", "apply", doc))

	write("uninstalled: true\nparameters:\n  database: appdb\n")
	out = c.ok("installation", "apply", doc, "--insecure-registry")
	assert.Contains(t, out, "running the uninstall action")
	assert.Contains(t, out, "dropping database appdb")
	assert.Equal(t, "The installation is already up-to-date.\n", c.ok("installation", "apply", doc))

	write("parameterSets: [nosuchset]\n")
	assert.Contains(t, c.fails("installation", "apply", doc), `invalid parameter set: no file for parameter set "nosuchset"`)
	require.NoError(t, os.WriteFile(doc, []byte("schemaType: Installation\nname: compat-apply\nbundle: {repository: "+reg+"/compat-mydb}\n"), 0o644))
	assert.Contains(t, c.fails("installation", "apply", doc), "invalid installation: bundle needs a digest, version or tag")
}

// TestCompatCopy copies a published bundle to a second registry and
// installs it from there with the first one gone.
func TestCompatCopy(t *testing.T) {
	t.Parallel()
	c := newCompat(t)
	reg1, stop1 := startStoppableRegistry(t)
	reg2 := startRegistry(t)
	db := copyBundle(t, "deps/mydb", reg1)
	c.ok("publish", "-f", filepath.Join(db, "porter.yaml"), "--insecure-registry")

	src, dest := reg1+"/compat-mydb:v0.1.0", reg2+"/mirror/compat-mydb:v0.1.0"
	assert.Contains(t, c.ok("copy", "--source", src, "--destination", reg2+"/mirror"), "Bundle "+dest+" copied successfully, with digest")
	assert.Contains(t, c.fails("copy", "--source", src, "--destination", reg2+"/mirror"),
		"Copy stopped because "+dest+" already exists in the destination registry. To overwrite it, repeat the command with --force specified.")
	c.ok("copy", "--source", src, "--destination", dest, "--force")
	stop1()

	c.ok("install", "compat-copied", "--reference", dest, "--param", "database=mirrored")
	assert.Equal(t, "db://mirrored@mydb", c.output("compat-copied", "connstr"), "installed from the copy with the first registry gone")
}

// TestCompatStoredSets runs a bundle with a stored parameter set named on
// install, and again on upgrade without naming it: the installation's last
// sets are used again, with their current values.
func TestCompatStoredSets(t *testing.T) {
	c := newCompat(t)
	f := filepath.Join("..", "..", "..", "testdata", "compat", "deps", "mydb", "porter.yaml")
	set := func(value string) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "set.yaml")
		require.NoError(t, os.WriteFile(file, []byte("schemaType: ParameterSet\nschemaVersion: 1.0.1\nname: dbset\n"+
			"parameters:\n  - name: database\n    source: {value: "+value+"}\n"), 0o644))
		c.ok("parameters", "apply", file)
	}
	set("fromstore")
	assert.Contains(t, c.fails("install", "-f", f, "--param-set", "nosuchset"), `no parameter set file and no stored parameter set named "nosuchset"`)
	assert.Contains(t, c.ok("install", "-f", f, "--param-set", "dbset"), "creating database fromstore")
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("show", "compat-mydb", "-o", "json")), &shown))
	assert.Equal(t, []any{"dbset"}, shown["parameterSets"])

	set("changed")
	c.ok("upgrade", "-f", f)
	assert.Equal(t, "db://changed@mydb/v2", c.output("compat-mydb", "connstr"), "the stored set named last time is used again")
	c.ok("uninstall", "-f", f, "--delete")
}

// TestCompatDependencyVersions picks a dependency's version from the tags
// of its repository by strategy, within bundle.version.
func TestCompatDependencyVersions(t *testing.T) {
	t.Parallel()
	c := newCompat(t)
	reg := startRegistry(t)
	db := copyBundle(t, "deps/mydb", reg)
	dbYAML := filepath.Join(db, "porter.yaml")
	orig, err := os.ReadFile(dbYAML)
	require.NoError(t, err)
	for _, v := range []string{"0.1.0", "0.1.1", "0.2.0"} {
		require.NoError(t, os.WriteFile(dbYAML, []byte(strings.Replace(string(orig), "version: 0.1.0", "version: "+v, 1)), 0o644))
		c.ok("publish", "-f", dbYAML, "--insecure-registry")
	}
	app := filepath.Join(copyBundle(t, "deps/app", reg), "porter.yaml")
	data, err := os.ReadFile(app)
	require.NoError(t, err)
	data = []byte(strings.Replace(strings.Replace(string(data), "/compat-mydb:v0.1.0", "/compat-mydb", 1), `version: ">=0.1.0"`, `version: ">=0.1.0 <0.2.0"`, 1))
	require.NoError(t, os.WriteFile(app, data, 0o644))

	assert.Contains(t, c.fails("install", "-f", app), "has no tag or digest and the version strategy is exact")
	out := c.ok("install", "-f", app, "--dependencies-version-strategy", "max-minor")
	assert.Contains(t, out, "running install on installation compat-deps-db ("+reg+"/compat-mydb:v0.1.1)", "the highest version within the range")
	out = c.ok("upgrade", "-f", app, "--dependencies-version-strategy", "min")
	assert.Contains(t, out, "running upgrade on installation compat-deps-db ("+reg+"/compat-mydb:v0.1.0)")
	assert.Contains(t, c.fails("upgrade", "-f", app, "--dependencies-version-strategy", "newest"), `unknown dependencies version strategy "newest"`)
	c.ok("uninstall", "-f", app, "--delete")
}
