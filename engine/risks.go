package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/stackhub/stackhub/engine/manifest"
)

// defaultSecrets caches, per catalog app, the sensitive parameters that have
// a non-empty default: a value every installation of that bundle shares
// unless the user gave another.
type defaultSecrets struct {
	mu   sync.Mutex
	apps map[string][]string
}

// credentialRisks finds installations still on a default credential: a
// sensitive parameter left at the bundle's published default. It reads the
// store and the cached manifests only, never Docker.
func (e *Engine) credentialRisks(ctx context.Context) []Risk {
	list, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		e.log.Warn("list installations for the audit", "err", err)
		return nil
	}
	var risks []Risk
	for _, inst := range list {
		if inst.Status == StatusUninstalled {
			continue
		}
		var kept []string
		for _, p := range e.defaultSecretParams(ctx, inst.App) {
			if inst.Parameters[p] == "" {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			continue
		}
		sort.Strings(kept)
		risks = append(risks, Risk{
			ID:       "default-credentials:" + inst.Name,
			Severity: "high",
			What:     fmt.Sprintf("%s still uses its bundle's default value for %s, which anyone can look up", inst.Name, strings.Join(kept, ", ")),
			Fix: fmt.Sprintf("change the password in the app, then upgrade with the new value (stackhub upgrade %s --param %s=NEW), or reinstall with --param %s=...",
				inst.Name, kept[0], kept[0]),
		})
	}
	return risks
}

func (e *Engine) defaultSecretParams(ctx context.Context, app string) []string {
	e.secrets.mu.Lock()
	defer e.secrets.mu.Unlock()
	if names, ok := e.secrets.apps[app]; ok {
		return names
	}
	var names []string
	if fsys, err := e.deps.Catalog.Open(ctx, app); err == nil {
		if m, err := e.loadManifest(fsys, app); err == nil {
			for _, p := range m.Parameters {
				if p.Sensitive && p.Source == nil && nonEmptyDefault(p) {
					names = append(names, p.Name)
				}
			}
		}
	}
	if e.secrets.apps == nil {
		e.secrets.apps = map[string][]string{}
	}
	e.secrets.apps[app] = names
	return names
}

func nonEmptyDefault(p manifest.Parameter) bool {
	if !p.HasDefault || p.Default == nil {
		return false
	}
	s, ok := p.Default.(string)
	return !ok || strings.TrimSpace(s) != ""
}
