// Package contract is what the StackHub service, the runtime inside an
// invocation image and the stackhub mixin agree on: the per-run context the
// service passes in, the labels put on containers, and the typed outcomes
// an action reports back through its exit status. Each side imports it
// rather than spelling these out again. It imports only the standard
// library, never a package of StackHub's, so that the mixin can use it
// under the Porter CLI too.
package contract

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The per-run context travels as an internal CNAB parameter, which lands
// in the invocation container as an environment variable holding the JSON
// of Context.
const (
	// ContextParameter is the internal bundle parameter of the context.
	ContextParameter = "stackhub-context"
	// ContextEnv is the environment variable the parameter lands in.
	ContextEnv = "STACKHUB_CONTEXT"
)

// Context is what the service tells the mixin about one run. Under plain
// Porter it is absent and every field takes its zero value (the mixin's
// defaults).
type Context struct {
	// Ports are host ports the service leased, by port name; the mixin
	// uses them exactly.
	Ports map[string]int `json:"ports,omitempty"`
	// Prefix names containers: <prefix>-<installation>.
	Prefix string `json:"prefix,omitempty"`
	// PortMin and PortMax bound ports the mixin picks itself.
	PortMin int `json:"portMin,omitempty"`
	PortMax int `json:"portMax,omitempty"`
	// WaitTimeout bounds the wait for healthy containers (a Go duration).
	WaitTimeout string `json:"waitTimeout,omitempty"`
	// HostNetwork says the invocation container shares the host's network
	// namespace, so that bind probes see the host's listeners.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// Purge asks an uninstall to delete the app's data (volumes and
	// generated secrets) too.
	Purge bool `json:"purge,omitempty"`
	// Host is the address users reach the server's apps at, for value
	// outputs ($STACKHUB_HOST); empty means "localhost".
	Host string `json:"host,omitempty"`
	// RegistryMirror is the service's registry-mirror setting: the mixin
	// pulls missing app images through it first (engine/mirror syntax).
	RegistryMirror string `json:"registryMirror,omitempty"`
	// Target is where the app's compose file is deployed: TargetCompose
	// (empty: containers on this Docker host) or TargetSwarm (services of
	// a swarm stack, from a swarm manager).
	Target string `json:"target,omitempty"`
	// SwarmPublishMode is how the swarm target publishes declared ports:
	// PublishIngress (empty: the routing mesh, on every node) or
	// PublishHost (on the node a task runs on; no IPVS needed).
	SwarmPublishMode string `json:"swarmPublishMode,omitempty"`
}

// Publish modes of the swarm target.
const (
	PublishIngress = "ingress"
	PublishHost    = "host"
)

// Deploy targets of an installation.
const (
	TargetCompose = "compose"
	TargetSwarm   = "swarm"
)

// ValidTarget reports whether t names a deploy target ("" is the default,
// compose).
func ValidTarget(t string) bool {
	return t == "" || t == TargetCompose || t == TargetSwarm
}

// Encode returns the context's JSON, the value of ContextParameter.
func (c Context) Encode() (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", ContextEnv, err)
	}
	return string(b), nil
}

// ParseContext reads the value of ContextEnv; empty or "null" is the zero
// Context (no StackHub service).
func ParseContext(raw string) (Context, error) {
	var c Context
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", ContextEnv, err)
	}
	return c, nil
}

// Labels on the containers, networks and volumes of an app and on
// invocation containers. The compose ones are Docker Compose's own, so
// that `docker compose ls/ps` see StackHub's apps.
const (
	LabelProject = "com.docker.compose.project"
	LabelService = "com.docker.compose.service"

	// LabelManaged marks every resource StackHub's mixin creates.
	LabelManaged = "sh.stackhub.managed"
	// LabelInstallation names the installation a resource belongs to.
	LabelInstallation = "sh.stackhub.installation"
	// LabelMain marks the app's main container.
	LabelMain = "sh.stackhub.main"
	// LabelPortPrefix + a port name holds that leased port's number.
	LabelPortPrefix = "sh.stackhub.port."

	// LabelInvocation marks invocation containers, so that orphans can be
	// found after a crash; LabelRun names their run.
	LabelInvocation = "sh.stackhub.invocation"
	LabelRun        = "sh.stackhub.run"

	// LabelStack is Docker's own stack label (docker stack ls/ps see
	// StackHub's swarm apps); its value is the project name.
	LabelStack = "com.docker.stack.namespace"
	// LabelTarget records an installation's deploy target (TargetSwarm on
	// swarm services and on the installation's record).
	LabelTarget = "sh.stackhub.target"
	// LabelReplicas on a swarm service holds the replica count a stopped
	// (scaled to 0) service goes back to when started.
	LabelReplicas = "sh.stackhub.replicas"
	// LabelNode on a swarm service that mounts a named volume holds the ID
	// of the node its data lives on (where its task ran first); the
	// service is pinned there, and reported failed while that node is
	// down or drained.
	LabelNode = "sh.stackhub.node"
)

// Exit statuses with a meaning beyond "failed". The mixin exits with one,
// the runtime in the image passes it on as its own, and the service reads
// it from the invocation container's exit status. Any other non-zero
// status is a plain failure (Porter treats all of them so).
const (
	// ExitUpgradeUndone: the upgrade failed and the mixin brought the
	// previous version back; the app runs as it did before.
	ExitUpgradeUndone = 3
)

// Outcome is the meaning of an exit status.
type Outcome int

// Outcomes of an action.
const (
	OutcomeSucceeded Outcome = iota
	OutcomeFailed
	OutcomeUpgradeUndone
)

// OutcomeOf classifies an exit status.
func OutcomeOf(status int) Outcome {
	switch status {
	case 0:
		return OutcomeSucceeded
	case ExitUpgradeUndone:
		return OutcomeUpgradeUndone
	default:
		return OutcomeFailed
	}
}

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeUpgradeUndone:
		return "upgrade undone"
	default:
		return "failed"
	}
}
