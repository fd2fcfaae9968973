// Package casaos reads CasaOS app store apps: one folder per app (under
// Apps/ in a store checkout) holding a docker-compose.yml whose x-casaos
// extension carries the store metadata, plus icon.png. It fills an
// importers.Spec; the shared conversion does the rest.
package casaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/catalog/importers"
)

// Store is the format's name on the command line.
const Store = "casaos"

// categories maps CasaOS store categories (lower-cased) to StackHub's.
var categories = map[string]string{
	"analytics": "analytics", "backup": "storage", "blog": "cms", "chat": "communication",
	"cloud": "storage", "collaboration": "collaboration", "communication": "communication",
	"dashboard": "monitoring", "database": "database", "developer": "developer-tools",
	"documents": "productivity", "downloader": "media", "education": "education",
	"entertainment": "media", "file sync": "storage", "finance": "business", "gallery": "media",
	"games": "media", "home automation": "smart-home", "media": "media", "monitoring": "monitoring",
	"music": "media", "network": "networking", "notes": "productivity", "photos": "media",
	"proxy": "networking", "security": "security", "utilities": "productivity", "video": "media",
	"web": "cms", "ai": "productivity", "personal": "productivity", "tools": "productivity",
}

// storeInfo is the app-level x-casaos block.
type storeInfo struct {
	Architectures []string          `yaml:"architectures"`
	Main          string            `yaml:"main"`
	Author        string            `yaml:"author"`
	Developer     string            `yaml:"developer"`
	Category      string            `yaml:"category"`
	Description   map[string]string `yaml:"description"`
	Tagline       map[string]string `yaml:"tagline"`
	Title         map[string]string `yaml:"title"`
	Icon          string            `yaml:"icon"`
	PortMap       string            `yaml:"port_map"`
	Index         string            `yaml:"index"`
	Scheme        string            `yaml:"scheme"`
	StoreAppID    string            `yaml:"store_app_id"`
	Tips          struct {
		BeforeInstall map[string]string `yaml:"before_install"`
	} `yaml:"tips"`
}

type composeFile struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image string `yaml:"image"`
		// Some apps keep port_map and index in the main service's block.
		Info struct {
			PortMap string `yaml:"port_map"`
		} `yaml:"x-casaos"`
	} `yaml:"services"`
	Info *storeInfo `yaml:"x-casaos"`
}

// Import converts every app of a CasaOS store checkout (or the one app
// whose folder root is).
func Import(ctx context.Context, root string) (*importers.Report, error) {
	dirs, err := importers.Folders(root, "docker-compose.yml", "Apps")
	if err != nil {
		return nil, err
	}
	return importers.ImportAll(ctx, Store, root, dirs, Read), nil
}

// Read describes one CasaOS app folder.
func Read(dir string) (*importers.Spec, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		return nil, fmt.Errorf("read app: %w", err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		return nil, fmt.Errorf("its docker-compose.yml does not parse: %w", err)
	}
	if cf.Info == nil {
		return nil, fmt.Errorf("its docker-compose.yml has no x-casaos block: it is not a CasaOS store app")
	}
	info := cf.Info
	id := cf.Name
	if id == "" {
		id = info.StoreAppID
	}
	if id == "" {
		id = strings.ToLower(filepath.Base(dir))
	}
	s := &importers.Spec{
		Store: Store, ID: id, Dir: dir, Name: importers.BundleName(id),
		Architectures: info.Architectures, Author: info.Author, Developer: info.Developer,
		Main: info.Main, Compose: raw,
	}
	s.Title = text(info.Title)
	if s.Title.En == "" && s.Title.Zh == "" {
		s.Title = importers.Text{En: id}
	}
	var note string
	s.Description, s.Tagline = text(info.Description), text(info.Tagline)
	if s.Description.En == "" && s.Description.Zh == "" {
		s.Description = s.Tagline
	}
	for _, t := range []struct {
		text *importers.Text
		what string
	}{{&s.Title, "title"}, {&s.Description, "description"}} {
		if *t.text, note = t.text.Fill(); note != "" {
			s.Notes = append(s.Notes, fmt.Sprintf("%s (%s)", note, t.what))
		}
	}
	s.Tagline, _ = s.Tagline.Fill()
	s.Category, note = importers.Category(categories, Store, importers.NonEmpty(info.Category)...)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	if info.Category != "" {
		s.Keywords = []string{strings.ToLower(info.Category)}
	}
	if main, ok := cf.Services[info.Main]; ok {
		s.AppVersion = importers.ImageTag(main.Image)
		s.Homepage = importers.ImagePage(main.Image)
	}
	if _, err := os.Stat(filepath.Join(dir, "icon.png")); err == nil {
		s.Icon = "icon.png"
	} else {
		s.IconURL = info.Icon
	}
	if t := text(info.Tips.BeforeInstall); t.En != "" || t.Zh != "" {
		t, _ = t.Fill()
		pw := strings.NewReplacer("${default_pwd}", "the generated password (output default_pwd)", "$default_pwd", "the generated password (output default_pwd)")
		t.En, t.Zh = pw.Replace(t.En), pw.Replace(t.Zh)
		s.Tips = append(s.Tips, t)
	}
	s.Vars = importers.Vars{
		Replace: map[string]string{
			"PUID": "1000", "PGID": "1000", "AppID": id,
			"default_pwd": "${DEFAULT_PWD}",
			"WEBUI_PORT":  "${STACKHUB_PORT_PORT}",
		},
		Keep: map[string]bool{"TZ": true, "DEFAULT_PWD": true},
	}
	portMap := info.PortMap
	if portMap == "" {
		portMap = cf.Services[info.Main].Info.PortMap
	}
	s.WebPublished = s.Vars.Rewrite(portMap)
	s.Data = []importers.DataRoot{
		{Prefix: "/DATA/AppData/" + id, Label: "/DATA/AppData/$AppID"},
		{Prefix: "/DATA", Label: "/DATA", Shared: true},
	}
	if importers.Uses(raw, "TZ") {
		s.Params = append(s.Params, importers.TimeZone())
	}
	if importers.Uses(raw, "default_pwd") {
		s.Secrets = append(s.Secrets, importers.Secret{Name: "default_pwd", Length: 16, Alphabet: "alnum",
			Description: "Password CasaOS calls $default_pwd, the app's initial login password", Show: true})
	}
	if info.Scheme == "https" {
		s.Warnings = append(s.Warnings, "the web interface speaks HTTPS on its port")
	}
	return s, nil
}

// text picks en_us and zh_cn (or any en_*/zh_* variant) from a CasaOS
// locale map.
func text(in map[string]string) importers.Text {
	// The store's guide writes en_us, its apps often en_US.
	m := make(map[string]string, len(in))
	for k, v := range in {
		m[strings.ToLower(k)] = v
	}
	var t importers.Text
	for _, k := range []string{"en_us", "en_gb", "en"} {
		if v := strings.TrimSpace(m[k]); v != "" && t.En == "" {
			t.En = v
		}
	}
	for _, k := range []string{"zh_cn", "zh_tw", "zh"} {
		if v := strings.TrimSpace(m[k]); v != "" && t.Zh == "" {
			t.Zh = v
		}
	}
	for k, v := range m {
		switch {
		case t.En == "" && strings.HasPrefix(k, "en"):
			t.En = strings.TrimSpace(v)
		case t.Zh == "" && strings.HasPrefix(k, "zh"):
			t.Zh = strings.TrimSpace(v)
		}
	}
	return t
}
