// Package runtipi reads Runtipi app store apps: one folder per app (under
// apps/ in a store checkout) holding config.json (the store metadata and
// the install form), docker-compose.yml and metadata/ (logo.jpg,
// description.md). It fills an importers.Spec; the shared conversion does
// the rest.
package runtipi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/stackhub/stackhub/engine/catalog/importers"
)

// Store is the format's name on the command line.
const Store = "runtipi"

// categories maps Runtipi's categories to StackHub's ("featured" is a
// store shelf, not a category, and is skipped).
var categories = map[string]string{
	"network": "networking", "media": "media", "development": "developer-tools",
	"automation": "smart-home", "social": "communication", "utilities": "productivity",
	"photography": "media", "security": "security", "books": "media", "data": "storage",
	"music": "media", "finance": "business", "gaming": "media", "ai": "productivity",
}

// formField is one field of the install form Runtipi shows.
type formField struct {
	Type        string          `json:"type"`
	Label       string          `json:"label"`
	Hint        string          `json:"hint"`
	EnvVariable string          `json:"env_variable"`
	Required    bool            `json:"required"`
	Min         *int            `json:"min"`
	Max         *int            `json:"max"`
	Default     json.RawMessage `json:"default"`
	Encoding    string          `json:"encoding"`
}

// config is config.json.
type config struct {
	ID                     string      `json:"id"`
	Name                   string      `json:"name"`
	Available              *bool       `json:"available"`
	Port                   int         `json:"port"`
	Exposable              bool        `json:"exposable"`
	Version                string      `json:"version"`
	TipiVersion            int         `json:"tipi_version"`
	Categories             []string    `json:"categories"`
	Description            string      `json:"description"`
	ShortDesc              string      `json:"short_desc"`
	Author                 string      `json:"author"`
	Source                 string      `json:"source"`
	Website                string      `json:"website"`
	FormFields             []formField `json:"form_fields"`
	SupportedArchitectures []string    `json:"supported_architectures"`
	NoGUI                  bool        `json:"no_gui"`
	UID                    *int        `json:"uid"`
	GID                    *int        `json:"gid"`
}

// Import converts every app of a Runtipi store checkout (or the one app
// whose folder root is).
func Import(ctx context.Context, root string) (*importers.Report, error) {
	dirs, err := importers.Folders(root, "config.json", "apps")
	if err != nil {
		return nil, err
	}
	return importers.ImportAll(ctx, Store, root, dirs, Read), nil
}

var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Read describes one Runtipi app folder.
func Read(dir string) (*importers.Spec, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read app: %w", err)
	}
	var cfg config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("its config.json does not parse: %w", err)
	}
	if cfg.ID == "" {
		cfg.ID = filepath.Base(dir)
	}
	s := &importers.Spec{Store: Store, ID: cfg.ID, Dir: dir, Name: importers.BundleName(cfg.ID),
		AppVersion: cfg.Version, Architectures: cfg.SupportedArchitectures, Author: cfg.Author, Developer: cfg.Author,
		Homepage: cfg.Website, Main: cfg.ID}
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	switch {
	case err == nil:
		s.Compose = raw
	case fileExists(filepath.Join(dir, "docker-compose.json")):
		s.Refuse = append(s.Refuse, "it ships only Runtipi's dynamic compose format (docker-compose.json), which the importer does not read")
	default:
		return nil, fmt.Errorf("it has no docker-compose.yml")
	}
	if cfg.Available != nil && !*cfg.Available {
		s.Refuse = append(s.Refuse, "the store marks it unavailable (available: false)")
	}
	if s.Homepage == "" {
		s.Homepage = cfg.Source
	}
	// Runtipi's store text is English only.
	s.Title, _ = importers.Text{En: importers.FirstNonEmpty(cfg.Name, cfg.ID)}.Fill()
	s.Tagline, _ = importers.Text{En: cfg.ShortDesc}.Fill()
	var note string
	if s.Description, note = (importers.Text{En: importers.FirstNonEmpty(cfg.Description, cfg.ShortDesc, cfg.Name)}).Fill(); note != "" {
		s.Notes = append(s.Notes, note)
	}
	var cats []string
	for _, c := range cfg.Categories {
		if c != "featured" {
			cats = append(cats, c)
		}
	}
	s.Category, note = importers.Category(categories, Store, cats...)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	s.Keywords = cats
	if fileExists(filepath.Join(dir, "metadata", "logo.jpg")) {
		s.Icon = filepath.Join("metadata", "logo.jpg")
	}
	if cfg.UID != nil || cfg.GID != nil {
		s.Warnings = append(s.Warnings, "Runtipi hands the app's data folder to a fixed user and group (uid/gid in config.json); named volumes start owned as the image prepares them")
	}

	s.Vars = importers.Vars{
		Replace: map[string]string{
			"APP_PORT": "${STACKHUB_PORT_PORT}", "APP_ID": cfg.ID, "APP_PROTOCOL": "http", "APP_EXPOSED": "false",
			"APP_DATA_DIR": "/@app-data", "APP_DIR": "/@app-dir", "ROOT_FOLDER_HOST": "/@runtipi",
			"APP_HOST": "${APP_DOMAIN}", "LOCAL_DOMAIN": "${APP_DOMAIN}",
		},
		Keep: map[string]bool{"APP_DOMAIN": true, "TZ": true},
		Unsupported: map[string]string{
			"INTERNAL_IP":       "the server's LAN address, which StackHub does not pass to apps",
			"NETWORK_INTERFACE": "a host network interface",
			"DNS_IP":            "Runtipi's DNS server address",
		},
	}
	s.Data = []importers.DataRoot{
		// Runtipi copies the app's data/ folder into its data folder.
		{Prefix: "/@app-data", Label: "${APP_DATA_DIR}", Seed: dir},
		{Prefix: "/@app-dir", Label: "${APP_DIR}", Seed: dir},
		{Prefix: "/@runtipi", Label: "${ROOT_FOLDER_HOST}", Shared: true},
	}
	s.DropLabels = []string{"traefik.", "runtipi."}
	s.DropNetworks = []string{"tipi_main_network"}
	s.DropDNS = []string{"DNS_IP"}
	s.WebPublished = "${STACKHUB_PORT_PORT}"
	if importers.Uses(raw, "TZ") {
		s.Params = append(s.Params, importers.TimeZone())
	}
	if importers.Uses(raw, "APP_DOMAIN") || importers.Uses(raw, "APP_HOST") || importers.Uses(raw, "LOCAL_DOMAIN") {
		var def any = "localhost"
		s.Params = append(s.Params, importers.Param{Name: "domain", Env: "APP_DOMAIN", Description: "Domain name the app is reached at", Default: def})
	}
	formFields(s, cfg.FormFields)
	return s, nil
}

// formFields turns the install form: random fields into generated
// secrets, password fields into secrets the user may set, the others into
// parameters.
func formFields(s *importers.Spec, fields []formField) {
	for _, f := range fields {
		env := f.EnvVariable
		if !envRE.MatchString(env) {
			s.Refuse = append(s.Refuse, fmt.Sprintf("its form field %q sets the invalid variable %q", f.Label, env))
			continue
		}
		if _, taken := s.Vars.Replace[env]; taken {
			s.Refuse = append(s.Refuse, fmt.Sprintf("its form field %q overrides Runtipi's variable %s", f.Label, env))
			continue
		}
		name := importers.SecretName(env)
		switch f.Type {
		case "random", "password":
			upper := strings.ToUpper(env)
			if upper != env {
				s.Vars.Replace[env] = "${" + upper + "}"
			}
			s.Vars.Keep[upper] = true
			sec := importers.Secret{Name: name, Description: f.Label, Show: f.Type == "password"}
			if f.Type == "random" {
				sec.Length = 32
				if f.Min != nil && *f.Min > 0 {
					sec.Length = *f.Min
				}
				if f.Encoding == "hex" {
					sec.Kind = "hex"
				}
			} else {
				sec.Length = 24
				if f.Max != nil && *f.Max >= 8 && *f.Max < sec.Length {
					sec.Length = *f.Max
				}
			}
			sec.Length = min(max(sec.Length, 8), 1024)
			s.Secrets = append(s.Secrets, sec)
		default:
			s.Vars.Keep[env] = true
			p := importers.Param{Name: name, Env: env, Description: f.Label}
			if f.Type == "boolean" {
				p.Type = "boolean"
			}
			if def := defaultValue(f.Default, p.Type); def != nil {
				p.Default = def
			} else if !f.Required {
				if p.Type == "boolean" {
					p.Default = false
				} else {
					p.Default = ""
				}
			}
			s.Params = append(s.Params, p)
		}
	}
}

func defaultValue(raw json.RawMessage, typ string) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	switch x := v.(type) {
	case bool:
		if typ == "boolean" {
			return x
		}
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		if typ == "boolean" {
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil
			}
			return b
		}
		return x
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
