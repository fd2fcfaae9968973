package importers

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stores' golden tests take -update; accepting it here too lets one
// command refresh them all: go test ./engine/catalog/importers/... -update
var _ = flag.Bool("update", false, "unused here: this package has no golden files")

func TestVarsRewrite(t *testing.T) {
	v := Vars{
		Replace:     map[string]string{"APP_PORT": "${STACKHUB_PORT_PORT}", "PUID": "1000"},
		Keep:        map[string]bool{"DB_PASSWORD": true},
		Unsupported: map[string]string{"INTERNAL_IP": "no LAN address"},
	}
	tests := []struct {
		in, want, problem string
	}{
		{"${APP_PORT}:80", "${STACKHUB_PORT_PORT}:80", ""},
		{"uid=$PUID", "uid=1000", ""},
		{"${PUID:-99}", "1000", ""},
		{"pw=${DB_PASSWORD}", "pw=${DB_PASSWORD}", ""},
		{"cost $$5", "cost $$5", ""},
		{"${OTHER:-x}", "${OTHER:-x}", ""},
		{"${OTHER}", "${OTHER}", "OTHER"},
		{"$OTHER", "$OTHER", "OTHER"},
		{"${OTHER:?needed}", "${OTHER:?needed}", "OTHER"},
		{"ip=${INTERNAL_IP}", "ip=${INTERNAL_IP}", "no LAN address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			problems := map[string]string{}
			assert.Equal(t, tt.want, v.rewrite(tt.in, problems))
			if tt.problem == "" {
				assert.Empty(t, problems)
			} else {
				require.Len(t, problems, 1)
				assert.Contains(t, sortedProblems(problems)[0], tt.problem)
			}
		})
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in      any
		want    portSpec
		wantErr string
	}{
		{"8080:80", portSpec{published: "8080", target: 80}, ""},
		{"127.0.0.1:8080:80/udp", portSpec{published: "8080", hostIP: "127.0.0.1", protocol: "udp", target: 80}, ""},
		{"${STACKHUB_PORT_PORT}:3000", portSpec{published: "${STACKHUB_PORT_PORT}", target: 3000}, ""},
		{"9000", portSpec{target: 9000}, ""},
		{map[string]any{"target": 8384, "published": "8384", "protocol": "tcp"}, portSpec{published: "8384", target: 8384}, ""},
		{"6881-6889:6881-6889", portSpec{}, "port range"},
		{"80:http", portSpec{}, "no numeric container port"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(fmtAny(tt.in), "/", "_"), func(t *testing.T) {
			got, err := parsePort(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "map"
}

func TestBundleName(t *testing.T) {
	for in, want := range map[string]string{
		"syncthing": "syncthing", "Home Assistant": "home-assistant", "uptime_kuma": "uptime-kuma",
		"--x--": "x", "ÄÖ": "", strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		assert.Equal(t, want, BundleName(in), in)
	}
}

// spec is a minimal app whose compose file is given.
func spec(t *testing.T, compose string) *Spec {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data", "conf"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "conf", "app.ini"), []byte("x=1\n"), 0o644))
	return &Spec{
		Store: "test", ID: "demo", Dir: dir, Name: "demo",
		Title: Text{En: "Demo", Zh: "演示"}, Description: Text{En: "A demo.", Zh: "演示。"},
		Category: "devops", Homepage: "https://example.org", AppVersion: "1.2.3",
		Compose: []byte(compose),
		Vars:    Vars{Replace: map[string]string{"APP_DATA_DIR": "/@data"}},
		Data:    []DataRoot{{Prefix: "/@data", Label: "${APP_DATA_DIR}", Seed: dir}},
	}
}

func TestConvertRefusals(t *testing.T) {
	tests := []struct {
		name, compose, reason string
	}{
		{"host network", "services:\n  web:\n    image: x:1\n    network_mode: host\n", "host networking"},
		{"devices", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    devices: ['/dev/dri:/dev/dri']\n", "host devices"},
		{"no port", "services:\n  web:\n    image: x:1\n", "publishes no port"},
		{"build only", "services:\n  web:\n    build: .\n    ports: ['80:80']\n", "built from source"},
		{"replicas", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    deploy: {replicas: 3}\n", "3 replicas"},
		{"shipped file", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    volumes: ['${APP_DATA_DIR}/data/conf:/etc/app']\n", "ships with files"},
		{"nested", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    volumes: ['${APP_DATA_DIR}/a:/a', '${APP_DATA_DIR}/a/b:/b']\n", "one inside it"},
		{"unknown variable", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    environment: {HOST: '${BITCOIN_IP}'}\n", "${BITCOIN_IP}"},
		{"data dir outside a mount", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    command: ['--dir', '${APP_DATA_DIR}/x']\n", "outside a volume mount"},
		{"external network", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    networks: [proxy]\nnetworks:\n  proxy: {external: true}\n", "external network proxy"},
		{"compose secrets", "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n    secrets: [pw]\nsecrets:\n  pw: {file: ./pw}\n", "compose secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Convert(t.Context(), spec(t, tt.compose))
			assert.False(t, res.Converted)
			assert.Nil(t, res.Bundle)
			assert.Contains(t, strings.Join(res.Reasons, "\n"), tt.reason)
		})
	}
}

func TestConvertRewrites(t *testing.T) {
	s := spec(t, `services:
  web:
    image: x:1
    container_name: demo-web
    network_mode: bridge
    privileged: true
    ports: ["8080:80", "127.0.0.1:53:53/udp"]
    volumes:
      - ${APP_DATA_DIR}/data/db:/var/lib/db
      - ./data/cache:/cache:ro
      - /var/run/docker.sock:/var/run/docker.sock
  worker:
    image: x:1
    environment: {WEB: demo-web}
    volumes: ["${APP_DATA_DIR}/data/db:/shared"]
`)
	s.WebPublished = "8080"
	res := Convert(t.Context(), s)
	require.True(t, res.Converted, "%v", res.Reasons)
	compose := string(res.Bundle.Files[ComposeFile])
	porter := string(res.Bundle.Files["porter.yaml"])
	// Binds of the data folder become named volumes, shared where the
	// source was shared; the Docker socket stays a bind.
	assert.Contains(t, compose, "- data-db:/var/lib/db")
	assert.Contains(t, compose, "- data-db:/shared")
	assert.Contains(t, compose, "- data-cache:/cache:ro")
	assert.Contains(t, compose, "/var/run/docker.sock:/var/run/docker.sock")
	// Ports move to the step; container_name becomes an alias.
	assert.NotContains(t, compose, "8080")
	assert.NotContains(t, compose, "container_name")
	assert.NotContains(t, compose, "network_mode")
	assert.Contains(t, compose, "- demo-web")
	assert.Contains(t, porter, "name: port\n          service: web\n          target: 80\n")
	assert.Contains(t, porter, "name: web-53-udp")
	assert.Contains(t, porter, "hostIP: 127.0.0.1")
	warnings := strings.Join(res.Warnings, "\n")
	assert.Contains(t, warnings, "privileged")
	assert.Contains(t, warnings, "Docker socket")
	assert.Contains(t, warnings, "host port 53")
	require.NoError(t, Check(res.Bundle))
}

func TestWriteKeepsExistingBundles(t *testing.T) {
	s := spec(t, "services:\n  web:\n    image: x:1\n    ports: ['80:80']\n")
	out := t.TempDir()
	mine := filepath.Join(out, "demo", "notes.txt")
	require.NoError(t, os.MkdirAll(filepath.Dir(mine), 0o755))
	require.NoError(t, os.WriteFile(mine, []byte("mine"), 0o644))

	r := &Report{Store: "test", Results: []Result{Convert(t.Context(), s)}}
	require.NoError(t, Write(r, WriteOptions{Dir: out}))
	assert.False(t, r.Results[0].Converted)
	assert.Contains(t, r.Results[0].Reasons[0], "pass --replace")
	assert.FileExists(t, mine)
	assert.NoFileExists(t, filepath.Join(out, "demo", "porter.yaml"))

	r = &Report{Store: "test", Results: []Result{Convert(t.Context(), s)}}
	require.NoError(t, Write(r, WriteOptions{Dir: out, Replace: true}))
	assert.True(t, r.Results[0].Converted)
	assert.FileExists(t, filepath.Join(out, "demo", "porter.yaml"))
	assert.NoFileExists(t, mine)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary folder is left behind")
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[any]int64{"256M": 256 << 20, "1g": 1 << 30, "512mb": 512 << 20, 2048: 2048, "1.5G": 3 << 29, "x": 0, nil: 0} {
		assert.Equal(t, want, parseBytes(in), "%v", in)
	}
}

func TestConvertPublishesAPortOnce(t *testing.T) {
	res := Convert(t.Context(), spec(t, "services:\n  web:\n    image: x:1\n    ports: ['8080:80', '127.0.0.1:8081:80', '80/udp']\n"))
	require.True(t, res.Converted, "%v", res.Reasons)
	porter := string(res.Bundle.Files["porter.yaml"])
	assert.NotContains(t, porter, "name: web-80\n", "80/tcp is declared once, as port")
	assert.Equal(t, 4, strings.Count(porter, "target: 80\n"), "install and upgrade declare 80/tcp and 80/udp")
	assert.Contains(t, porter, "name: web-80-udp")
}
