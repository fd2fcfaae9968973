package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/mirror"
)

// Config is StackHub's resolved configuration. Each field is set, in order
// of precedence, by its flag, its STACKHUB_* environment variable, the
// config file, or its default.
type Config struct {
	Addr          string
	DataDir       string
	Catalog       string
	Prefix        string
	PortMin       int
	PortMax       int
	Jobs          int
	History       int
	WaitTimeout   time.Duration
	LogLevel      string
	Lang          string
	RuntimeBinary string
	// RegistryMirror is where app images are pulled from first
	// (engine/mirror syntax).
	RegistryMirror string
	// AllowedRegistries are the registries (HOST[:PORT]) the service may
	// install bundles from by reference, beside the mirrors of
	// RegistryMirror.
	AllowedRegistries []string
	// ImportDir is the folder on the server whose archives admins may
	// install by name; empty: none.
	ImportDir string
	// UploadLimit caps an uploaded bundle archive in bytes.
	UploadLimit int64
	// SignatureKeys maps a registry (HOST[:PORT]) to the public key file
	// its bundles must be signed with.
	SignatureKeys map[string]string
	// PublicHost is the host name or address users reach the apps at; it
	// goes into the apps' url outputs. Empty: this host's main address.
	PublicHost string
	// Server is the URL of the StackHub service the client commands talk to.
	Server string
	// DefaultTarget is where installs that name no target run: compose
	// (this Docker host) or swarm (the swarm this host manages).
	DefaultTarget string
	// SwarmPublishMode is how swarm installs publish ports: ingress or host.
	SwarmPublishMode string
	// ProxyHTTP and ProxyHTTPS are the reverse proxy's listen addresses;
	// "off" disables the proxy. It listens only once a domain is routed.
	ProxyHTTP, ProxyHTTPS string
	// ACMECA is the ACME directory URL certificates come from (empty:
	// Let's Encrypt); ACMEEmail the account's contact.
	ACMECA, ACMEEmail string
	// ConsoleDomain is a domain the proxy serves the console and API at,
	// over HTTPS with HSTS; empty: none.
	ConsoleDomain string
	// ConsoleURL is the address browsers reach the console at when it
	// has no domain (http://nas.lan:9000); the login gate sends them
	// there to log in.
	ConsoleURL string
	// DNSProvider turns on ACME DNS-01 challenges (wildcard domains):
	// "rfc2136" (DNSServer, DNSTSIGKey) or "exec" (DNSExec); empty: none.
	DNSProvider string
	// DNSServer is the zone's primary name server (rfc2136).
	DNSServer string
	// DNSTSIGKey is the TSIG key of updates, [ALGORITHM:]NAME:SECRET; a
	// secret, never logged or shown.
	DNSTSIGKey string
	// DNSExec is the program that sets and removes challenge records.
	DNSExec string
	// DNSResolvers are asked whether a challenge record is visible yet;
	// empty: the system's.
	DNSResolvers []string
	// Experimental lists the Porter experimental features enabled for
	// bundle authoring (manifest.FlagXxx): they allow the schema versions
	// 1.1.0, 1.2.0 and 1.3.0 and what those versions bring.
	Experimental []string
	// BackupTarget is the restic repository backups go to; empty: the
	// folder backups/repository in the data folder.
	BackupTarget string
	// BackupOptions are restic -o options for the target
	// (sftp.command=..., s3.region=...).
	BackupOptions []string
	// BackupBeforeUpgrade backs an app up before each upgrade.
	BackupBeforeUpgrade bool
	// BackupSchedule backs every app up on a cron schedule; BackupKeep
	// prunes after each scheduled backup.
	BackupSchedule string
	BackupKeep     engine.KeepPolicy
}

// envAliases are Porter's environment variables read for a setting when its
// STACKHUB_* variable is unset.
var envAliases = map[string]string{"experimental": "PORTER_EXPERIMENTAL"}

// setting is one configuration key: its flag name, its env var and how to
// set it from text.
type setting struct {
	flag string
	def  string
	help string
	set  func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
		{"addr", "127.0.0.1:9000", "address the service listens on", func(c *Config, v string) error { c.Addr = v; return nil }},
		{"data", "", "data folder (SQLite store); default $XDG_DATA_HOME/stackhub, or /var/lib/stackhub as root", func(c *Config, v string) error { c.DataDir = v; return nil }},
		{"catalog", "", "folder of bundle folders to serve as the catalog; default the built-in catalog", func(c *Config, v string) error { c.Catalog = v; return nil }},
		{"prefix", "stackhub", "prefix of container names: <prefix>-<app>", func(c *Config, v string) error { c.Prefix = v; return nil }},
		{"port-min", "9001", "lowest host port handed to apps", intSetter(func(c *Config, n int) { c.PortMin = n })},
		{"port-max", "9999", "highest host port handed to apps", intSetter(func(c *Config, n int) { c.PortMax = n })},
		{"jobs", "4", "how many installs, upgrades and uninstalls run at once", intSetter(func(c *Config, n int) { c.Jobs = n })},
		{"history", "50", "how many runs and jobs of each installation are kept (older ones are deleted)", intSetter(func(c *Config, n int) { c.History = n })},
		{"wait-timeout", "2m", "how long an install waits for its containers to be healthy", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			c.WaitTimeout = d
			return nil
		}},
		{"lang", "en", "language of API messages when a request states none: en or zh (the PRD endpoints default to Chinese)", func(c *Config, v string) error {
			if v != "en" && v != "zh" {
				return fmt.Errorf("%q is not a language StackHub speaks: use en or zh", v)
			}
			c.Lang = v
			return nil
		}},
		{"default-target", "compose", "where installs that name no --target run: compose (this Docker host) or swarm (services of the swarm this host manages)", func(c *Config, v string) error {
			if v != "compose" && v != "swarm" {
				return fmt.Errorf("%q is not a deploy target: use compose or swarm", v)
			}
			c.DefaultTarget = v
			return nil
		}},
		{"swarm-publish-mode", "ingress", "how swarm installs publish their ports: ingress (the routing mesh, on every node; needs IPVS in the kernel) or host (on the node the app runs on)", func(c *Config, v string) error {
			if v != "ingress" && v != "host" {
				return fmt.Errorf("%q is not a publish mode: use ingress or host", v)
			}
			c.SwarmPublishMode = v
			return nil
		}},
		{"proxy-http", ":80", "address of the reverse proxy's HTTP listener (redirects to HTTPS, ACME HTTP-01); off: no proxy. It listens only once a domain is routed", func(c *Config, v string) error { c.ProxyHTTP = v; return nil }},
		{"proxy-https", ":443", "address of the reverse proxy's HTTPS listener; off: no proxy", func(c *Config, v string) error { c.ProxyHTTPS = v; return nil }},
		{"acme-ca", "", "ACME directory URL the proxy's certificates come from; default Let's Encrypt", func(c *Config, v string) error { c.ACMECA = v; return nil }},
		{"console-domain", "", "domain the reverse proxy serves the web console and API at, over HTTPS with HSTS and secure cookies (e.g. stackhub.example.org)", func(c *Config, v string) error { c.ConsoleDomain = v; return nil }},
		{"console-url", "", "address browsers reach the web console at when it has no --console-domain (e.g. http://nas.lan:9000): the login gate of domains sends them there to log in", func(c *Config, v string) error {
			if v == "" {
				c.ConsoleURL = ""
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
				return fmt.Errorf("%q is not the console's address: give http(s)://HOST[:PORT], without a path", v)
			}
			c.ConsoleURL = u.Scheme + "://" + u.Host
			return nil
		}},
		{"dns-provider", "", "DNS provider for ACME DNS-01 challenges, which wildcard domains (*.example.org) need: rfc2136 (dynamic updates to the zone's primary: --dns-server, --dns-tsig-key) or exec (a program of yours: --dns-exec); default none", func(c *Config, v string) error {
			if v != "" && v != "rfc2136" && v != "exec" {
				return fmt.Errorf("%q is not a DNS provider: use rfc2136 or exec", v)
			}
			c.DNSProvider = v
			return nil
		}},
		{"dns-server", "", "primary name server (HOST[:PORT]) of the zone the rfc2136 DNS provider updates", func(c *Config, v string) error { c.DNSServer = v; return nil }},
		{"dns-tsig-key", "", "TSIG key of the rfc2136 DNS provider's updates, [ALGORITHM:]NAME:SECRET as nsupdate -y takes it (a secret: prefer the STACKHUB_DNS_TSIG_KEY variable or the config file)", func(c *Config, v string) error { c.DNSTSIGKey = v; return nil }},
		{"dns-exec", "", "program the exec DNS provider runs: PROGRAM present|cleanup NAME VALUE sets or removes the TXT record NAME (with a final dot) holding VALUE", func(c *Config, v string) error { c.DNSExec = v; return nil }},
		{"dns-resolvers", "", "DNS servers (HOST[:PORT], comma-separated) asked whether a DNS-01 record is visible yet; default the system's", func(c *Config, v string) error {
			c.DNSResolvers = nil
			for _, r := range strings.Split(v, ",") {
				if r = strings.TrimSpace(r); r != "" {
					c.DNSResolvers = append(c.DNSResolvers, r)
				}
			}
			return nil
		}},
		{"acme-email", "", "contact address of the ACME account (expiry notices)", func(c *Config, v string) error { c.ACMEEmail = v; return nil }},
		{"log-level", "info", "log level: debug, info, warn or error", func(c *Config, v string) error { c.LogLevel = v; return nil }},
		{"public-host", "", "host name or address users reach the apps at, shown in their url outputs; default this host's main address", func(c *Config, v string) error { c.PublicHost = v; return nil }},
		{"runtime-binary", "", "static linux stackhub binary put into bundle images; default this binary", func(c *Config, v string) error { c.RuntimeBinary = v; return nil }},
		{"registry-mirror", "", "registry mirror that app images are pulled through: HOST[:PORT][/PATH] mirrors Docker Hub, REGISTRY=HOST[/PATH] another registry; comma-separated", func(c *Config, v string) error {
			if _, err := mirror.Parse(v); err != nil {
				return err
			}
			c.RegistryMirror = v
			return nil
		}},
		{"allowed-registries", "", "registries (HOST[:PORT], comma-separated) the service may install bundles from by reference, beside the registry-mirror's mirrors; anything else is refused", func(c *Config, v string) error {
			c.AllowedRegistries = nil
			for _, r := range strings.Split(v, ",") {
				r = strings.TrimSpace(r)
				if r == "" {
					continue
				}
				if strings.ContainsAny(r, "/@ ") {
					return fmt.Errorf("%q is not HOST[:PORT]", r)
				}
				c.AllowedRegistries = append(c.AllowedRegistries, r)
			}
			return nil
		}},
		{"signature-keys", "", "registries whose bundles must be signed, with the public key to verify them: REGISTRY=KEYFILE, comma-separated (keys from stackhub bundle keygen)", func(c *Config, v string) error {
			c.SignatureKeys = map[string]string{}
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				if e == "" {
					continue
				}
				reg, file, ok := strings.Cut(e, "=")
				if !ok || reg == "" || file == "" || strings.ContainsAny(reg, "/@ ") {
					return fmt.Errorf("%q is not REGISTRY=KEYFILE", e)
				}
				c.SignatureKeys[strings.ToLower(reg)] = file
			}
			return nil
		}},
		{"import-dir", "", "folder on the server whose bundle archives admins may install by file name; default none", func(c *Config, v string) error { c.ImportDir = v; return nil }},
		{"upload-limit", "4GiB", "largest bundle archive the service accepts as an upload (bytes, or with KiB, MiB, GiB)", func(c *Config, v string) error {
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			c.UploadLimit = n
			return nil
		}},
		{"experimental", "", "Porter experimental features to enable, comma-separated: dependencies-v2, persistent-parameters, file-sources (env also PORTER_EXPERIMENTAL; config file experimental: [...])", func(c *Config, v string) error {
			c.Experimental = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					c.Experimental = append(c.Experimental, f)
				}
			}
			return nil
		}},
		{"backup-target", "", "where backups go (a restic repository): a folder, sftp:USER@HOST:/PATH, s3:http://HOST/BUCKET (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), rest:http://HOST/; default DATA/backups/repository. The key is DATA/backups/backup.key", func(c *Config, v string) error {
			c.BackupTarget = v
			return nil
		}},
		{"backup-options", "", "restic options for the backup target, semicolon-separated: sftp.command=ssh -p 2222 -i KEY user@host -s sftp; s3.region=...", func(c *Config, v string) error {
			c.BackupOptions = nil
			for _, o := range strings.Split(v, ";") {
				if o = strings.TrimSpace(o); o != "" {
					if !strings.Contains(o, "=") {
						return fmt.Errorf("%q is not KEY=VALUE", o)
					}
					c.BackupOptions = append(c.BackupOptions, o)
				}
			}
			return nil
		}},
		{"backup-before-upgrade", "true", "back an app that keeps data up before each upgrade; a failed backup stops the upgrade (stackhub upgrade --no-backup skips it once)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.BackupBeforeUpgrade = b
			return nil
		}},
		{"backup-schedule", "", "back every app up on this cron schedule (minute hour day month weekday, or @daily); a run missed while StackHub was down runs at start; default never", func(c *Config, v string) error {
			c.BackupSchedule = strings.TrimSpace(v)
			return nil
		}},
		{"backup-keep", "", "after each scheduled backup keep only these of the app's backups: last=N,daily=N,weekly=N,monthly=N; default keep all", func(c *Config, v string) error {
			c.BackupKeep = engine.KeepPolicy{}
			for _, kv := range strings.Split(v, ",") {
				kv = strings.TrimSpace(kv)
				if kv == "" {
					continue
				}
				k, val, ok := strings.Cut(kv, "=")
				n, err := strconv.Atoi(val)
				if !ok || err != nil || n < 0 {
					return fmt.Errorf("%q is not KIND=COUNT", kv)
				}
				switch k {
				case "last":
					c.BackupKeep.Last = n
				case "daily":
					c.BackupKeep.Daily = n
				case "weekly":
					c.BackupKeep.Weekly = n
				case "monthly":
					c.BackupKeep.Monthly = n
				default:
					return fmt.Errorf("%q: keep last, daily, weekly or monthly", kv)
				}
			}
			return nil
		}},
		{"server", "http://127.0.0.1:9000", "URL of the StackHub service (client commands)", func(c *Config, v string) error { c.Server = strings.TrimRight(v, "/"); return nil }},
	}
}

func intSetter(f func(c *Config, n int)) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		f(c, n)
		return nil
	}
}

func envName(flag string) string {
	return "STACKHUB_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// addConfigFlags declares the flags of the named settings on fs.
func addConfigFlags(fs *pflag.FlagSet, names ...string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, s := range settings() {
		if want[s.flag] {
			fs.String(s.flag, s.def, fmt.Sprintf("%s (env %s)", s.help, envName(s.flag)))
		}
	}
}

// loadConfig resolves every setting: flag > env > file > default.
func loadConfig(flags *pflag.FlagSet, file string, getenv func(string) string) (*Config, error) {
	fileValues := map[string]string{}
	if file == "" {
		file = getenv("STACKHUB_CONFIG")
	}
	explicit := file != ""
	if file == "" {
		file = filepath.Join(configDir(getenv), "config.yaml")
	}
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, &FlagError{Err: fmt.Errorf("config file %s: %w", file, err)}
		}
		for k, v := range raw {
			if list, ok := v.([]any); ok {
				parts := make([]string, 0, len(list))
				for _, e := range list {
					parts = append(parts, fmt.Sprint(e))
				}
				fileValues[k] = strings.Join(parts, ",")
				continue
			}
			fileValues[k] = fmt.Sprint(v)
		}
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read config file: %w", err)
	}
	c := &Config{}
	for _, s := range settings() {
		v, from := s.def, "default"
		if fv, ok := fileValues[s.flag]; ok {
			v, from = fv, "config file "+file
		}
		if alias, ok := envAliases[s.flag]; ok {
			if ev := getenv(alias); ev != "" {
				v, from = ev, alias
			}
		}
		if ev := getenv(envName(s.flag)); ev != "" {
			v, from = ev, envName(s.flag)
		}
		if flags != nil {
			if f := flags.Lookup(s.flag); f != nil && f.Changed {
				v, from = f.Value.String(), "--"+s.flag
			}
		}
		if err := s.set(c, v); err != nil {
			return nil, &FlagError{Err: fmt.Errorf("%s (from %s): %w", s.flag, from, err)}
		}
	}
	if c.DataDir == "" {
		c.DataDir = defaultDataDir(getenv)
	}
	return c, nil
}

func defaultDataDir(getenv func(string) string) string {
	if os.Geteuid() == 0 {
		return "/var/lib/stackhub"
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "stackhub")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "stackhub")
}

func configDir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "stackhub")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "stackhub")
}

// parseSize reads a byte count: a whole number, optionally followed by KiB,
// MiB or GiB.
func parseSize(v string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(v)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: use a whole number of bytes, or one with KiB, MiB or GiB (for example 4GiB)", v)
	}
	return n * mult, nil
}
