// Package umbrel reads Umbrel app store apps: one folder per app at the
// root of a store checkout, holding umbrel-app.yml (the store metadata)
// and docker-compose.yml, whose app_proxy service tells Umbrel's proxy
// which service and port serve the web interface. It fills an
// importers.Spec; the shared conversion does the rest.
package umbrel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/catalog/importers"
)

// Store is the format's name on the command line.
const Store = "umbrel"

// categories maps Umbrel's categories to StackHub's.
var categories = map[string]string{
	"files": "storage", "bitcoin": "business", "finance": "business", "crypto": "business",
	"media": "media", "networking": "networking", "social": "communication",
	"automation": "smart-home", "developer": "developer-tools", "ai": "productivity",
	"gaming": "media",
}

// GalleryURL is where Umbrel's store keeps app icons, by app ID.
const GalleryURL = "https://getumbrel.github.io/umbrel-apps-gallery/%s/icon.svg"

// manifest is umbrel-app.yml.
type manifest struct {
	ManifestVersion       any      `yaml:"manifestVersion"`
	ID                    string   `yaml:"id"`
	Category              string   `yaml:"category"`
	Name                  string   `yaml:"name"`
	Version               string   `yaml:"version"`
	Tagline               string   `yaml:"tagline"`
	Description           string   `yaml:"description"`
	Developer             string   `yaml:"developer"`
	Website               string   `yaml:"website"`
	Repo                  string   `yaml:"repo"`
	Port                  int      `yaml:"port"`
	Gallery               []string `yaml:"gallery"`
	Icon                  string   `yaml:"icon"`
	Path                  string   `yaml:"path"`
	Dependencies          []string `yaml:"dependencies"`
	DefaultUsername       string   `yaml:"defaultUsername"`
	DefaultPassword       string   `yaml:"defaultPassword"`
	DeterministicPassword bool     `yaml:"deterministicPassword"`
	TorOnlyMode           bool     `yaml:"torOnlyMode"`
	Submitter             string   `yaml:"submitter"`
}

type composeFile struct {
	Services map[string]struct {
		Environment any `yaml:"environment"`
	} `yaml:"services"`
}

// Import converts every app of an Umbrel store checkout (or the one app
// whose folder root is).
func Import(ctx context.Context, root string) (*importers.Report, error) {
	dirs, err := importers.Folders(root, "umbrel-app.yml")
	if err != nil {
		return nil, err
	}
	return importers.ImportAll(ctx, Store, root, dirs, Read), nil
}

// Read describes one Umbrel app folder.
func Read(dir string) (*importers.Spec, error) {
	data, err := os.ReadFile(filepath.Join(dir, "umbrel-app.yml"))
	if err != nil {
		return nil, fmt.Errorf("read app: %w", err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("its umbrel-app.yml does not parse: %w", err)
	}
	if m.ID == "" {
		m.ID = filepath.Base(dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		return nil, fmt.Errorf("it has no docker-compose.yml")
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		return nil, fmt.Errorf("its docker-compose.yml does not parse: %w", err)
	}
	s := &importers.Spec{Store: Store, ID: m.ID, Dir: dir, Name: importers.BundleName(m.ID), Compose: raw,
		AppVersion: m.Version, Developer: m.Developer, Author: m.Submitter, Homepage: m.Website}
	if s.Homepage == "" {
		s.Homepage = m.Repo
	}
	// Umbrel's store text is English only.
	s.Title, _ = importers.Text{En: importers.FirstNonEmpty(m.Name, m.ID)}.Fill()
	s.Tagline, _ = importers.Text{En: m.Tagline}.Fill()
	var note string
	if s.Description, note = (importers.Text{En: importers.FirstNonEmpty(strings.TrimSpace(m.Description), m.Tagline, m.Name)}).Fill(); note != "" {
		s.Notes = append(s.Notes, note)
	}
	s.Category, note = importers.Category(categories, Store, importers.NonEmpty(m.Category)...)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	if m.Category != "" {
		s.Keywords = []string{m.Category}
	}
	s.IconURL = m.Icon
	if s.IconURL == "" {
		s.IconURL = fmt.Sprintf(GalleryURL, m.ID)
	}

	if len(m.Dependencies) > 0 {
		s.Refuse = append(s.Refuse, fmt.Sprintf("it depends on the Umbrel apps %s, which StackHub does not provide", strings.Join(m.Dependencies, ", ")))
	}
	if m.TorOnlyMode {
		s.Refuse = append(s.Refuse, "it is reachable over Tor only (torOnlyMode), which StackHub does not provide")
	}
	if st, err := os.Stat(filepath.Join(dir, "hooks")); err == nil && st.IsDir() {
		s.Refuse = append(s.Refuse, "it runs Umbrel hook scripts (hooks/) around install and start, which StackHub does not run")
	}
	if _, err := os.Stat(filepath.Join(dir, "exports.sh")); err == nil {
		s.Notes = append(s.Notes, "exports.sh (variables Umbrel passes to apps that depend on this one) is not used")
	}

	s.Vars = importers.Vars{
		Replace: map[string]string{
			"APP_DATA_DIR": "/@app-data", "UMBREL_ROOT": "/@umbrel",
			"DEVICE_DOMAIN_NAME": "${APP_DOMAIN}", "DEVICE_HOSTNAME": "${APP_DOMAIN}",
		},
		Keep: map[string]bool{"APP_SEED": true, "APP_PASSWORD": true, "APP_DOMAIN": true, "TZ": true},
		Unsupported: map[string]string{
			"TOR_PROXY_IP":       "Umbrel's Tor proxy, which StackHub does not provide",
			"TOR_PROXY_PORT":     "Umbrel's Tor proxy, which StackHub does not provide",
			"APP_HIDDEN_SERVICE": "a Tor hidden service, which StackHub does not provide",
		},
	}
	s.Data = []importers.DataRoot{
		// The app's data folder starts as a copy of its store folder.
		{Prefix: "/@app-data", Label: "${APP_DATA_DIR}", Seed: dir},
		{Prefix: "/@umbrel", Label: "${UMBREL_ROOT}", Shared: true},
	}
	if importers.Uses(raw, "APP_SEED") {
		s.Secrets = append(s.Secrets, importers.Secret{Name: "app_seed", Kind: "hex", Length: 64,
			Description: "Per-app secret seed Umbrel calls APP_SEED"})
	}
	if importers.Uses(raw, "APP_PASSWORD") {
		s.Secrets = append(s.Secrets, importers.Secret{Name: "app_password", Length: 24, Alphabet: "alnum",
			Description: "Password Umbrel calls APP_PASSWORD, the app's login password", Show: true})
	}
	if importers.Uses(raw, "APP_DOMAIN") || importers.Uses(raw, "DEVICE_DOMAIN_NAME") || importers.Uses(raw, "DEVICE_HOSTNAME") {
		var def any = "localhost"
		s.Params = append(s.Params, importers.Param{Name: "domain", Env: "APP_DOMAIN", Description: "Host name the app is reached at", Default: def})
	}
	if importers.Uses(raw, "TZ") {
		s.Params = append(s.Params, importers.TimeZone())
	}
	if tip := credentials(m); tip != "" {
		s.Tips = append(s.Tips, importers.Text{En: tip, Zh: tip})
	}
	if m.Path != "" && m.Path != "/" {
		s.Notes = append(s.Notes, fmt.Sprintf("the web interface is at the path %s", m.Path))
	}
	proxy(s, m, cf, string(raw))
	return s, nil
}

// proxy reads the app_proxy service: Umbrel's proxy in front of the web
// service, which StackHub replaces with a leased port on that service.
func proxy(s *importers.Spec, m manifest, cf composeFile, raw string) {
	names := make([]string, 0, len(cf.Services))
	for n := range cf.Services {
		if n != "app_proxy" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	// Umbrel names containers <app-id>_<service>_1 and apps reach each
	// other by those names.
	s.Aliases = map[string][]string{}
	p, ok := cf.Services["app_proxy"]
	env := envMap(p.Environment)
	for _, n := range names {
		alias := m.ID + "_" + n + "_1"
		if strings.Count(raw, alias) > countIf(env["APP_HOST"] == alias) {
			s.Aliases[n] = []string{alias}
		}
	}
	if !ok {
		s.WebPublished = strconv.Itoa(m.Port)
		return
	}
	s.DropServices = []string{"app_proxy"}
	host, port := env["APP_HOST"], env["APP_PORT"]
	target, err := strconv.Atoi(port)
	if err != nil {
		s.Refuse = append(s.Refuse, fmt.Sprintf("its app_proxy names the port %q, which is not a number", port))
		return
	}
	svc := ""
	for _, n := range names {
		if strings.HasSuffix(host, "_"+n+"_1") || strings.HasSuffix(host, "-"+n+"-1") || host == n {
			if len(n) > len(svc) {
				svc = n
			}
		}
	}
	if svc == "" {
		s.Refuse = append(s.Refuse, fmt.Sprintf("its app_proxy points at %q, which is none of its services", host))
		return
	}
	s.WebTarget = &importers.PortRef{Service: svc, Target: target}
	s.Main = svc
	if env["PROXY_AUTH_ADD"] != "false" {
		s.Warnings = append(s.Warnings, "Umbrel puts its own sign-in in front of this app; under StackHub the app is reached directly, with only its own login")
	}
}

func countIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// credentials is the sign-in tip of the manifest's default credentials.
func credentials(m manifest) string {
	switch {
	case m.DeterministicPassword && m.DefaultUsername != "":
		return fmt.Sprintf("Sign in as %s with the password StackHub generated (output app_password).", m.DefaultUsername)
	case m.DeterministicPassword:
		return "Sign in with the password StackHub generated (output app_password)."
	case m.DefaultUsername != "" || m.DefaultPassword != "":
		return fmt.Sprintf("Default login: user %q, password %q. Change the password after the first sign-in.", m.DefaultUsername, m.DefaultPassword)
	}
	return ""
}

// envMap reads a service's environment (map or KEY=value list).
func envMap(v any) map[string]string {
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if val != nil {
				out[k] = fmt.Sprint(val)
			}
		}
	case []any:
		for _, item := range x {
			k, val, _ := strings.Cut(fmt.Sprint(item), "=")
			out[k] = val
		}
	}
	return out
}
