package mixin

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Problem is one finding of Validate; lint reports them, the runtime
// refuses a step with any error.
type Problem struct {
	Level   int // LevelError or LevelWarning
	Code    string
	Title   string
	Message string
}

// Lint levels, as Porter numbers them.
const (
	LevelError   = 0
	LevelWarning = 2
)

// Operations a custom action can run.
var operations = []string{"start", "stop", "restart", "logs", "status", "exec"}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// alphabets are the named character sets of generated passwords.
var alphabets = map[string]string{
	"alnum":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"alpha":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"lower":   "abcdefghijklmnopqrstuvwxyz",
	"upper":   "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"digits":  "0123456789",
	"hex":     "0123456789abcdef",
	"urlsafe": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	"symbols": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%+,-.:=@^_~",
}

// Validate checks a step for the given action (install, upgrade,
// uninstall or a custom action name).
func Validate(action string, s *Step) []Problem {
	var ps []Problem
	add := func(level int, code, title, format string, args ...any) {
		ps = append(ps, Problem{Level: level, Code: code, Title: title, Message: fmt.Sprintf(format, args...)})
	}
	deploys := action == "install" || action == "upgrade"
	if deploys && len(s.Compose) == 0 {
		add(LevelError, "stackhub-101", "Missing compose file", "the %s step needs compose: <file> (relative to the bundle directory)", action)
	}
	seenPorts := map[string]bool{}
	for i, p := range s.Ports {
		where := fmt.Sprintf("ports[%d]", i)
		switch {
		case p.Name == "":
			add(LevelError, "stackhub-102", "Invalid port", "%s has no name", where)
		case !nameRE.MatchString(p.Name):
			add(LevelError, "stackhub-102", "Invalid port", "%s: name %q must start with a letter and hold only letters, digits, _ and -", where, p.Name)
		case seenPorts[p.Name]:
			add(LevelError, "stackhub-102", "Invalid port", "port %q is declared twice", p.Name)
		}
		seenPorts[p.Name] = true
		if !p.Target.Template && (p.Target.N < 1 || p.Target.N > 65535) {
			add(LevelError, "stackhub-102", "Invalid port", "port %q: target must be a container port between 1 and 65535", p.Name)
		}
		if pr := strings.ToLower(p.Protocol); pr != "" && pr != "tcp" && pr != "udp" {
			add(LevelError, "stackhub-102", "Invalid port", "port %q: protocol must be tcp or udp, not %q", p.Name, p.Protocol)
		}
		if p.Host.N < 0 || p.Host.N > 65535 {
			add(LevelError, "stackhub-102", "Invalid port", "port %q: host must be between 1 and 65535", p.Name)
		}
		if p.Preferred.N < 0 || p.Preferred.N > 65535 {
			add(LevelError, "stackhub-102", "Invalid port", "port %q: preferred must be between 1 and 65535", p.Name)
		}
		if p.Host.N > 0 && p.Preferred.N > 0 {
			add(LevelWarning, "stackhub-102", "Invalid port", "port %q: host pins the port, preferred is ignored", p.Name)
		}
	}
	if r := s.PortRange; r != nil && !r.Min.Template && !r.Max.Template {
		if r.Min.N < 1 || r.Max.N > 65535 || (r.Max.N != 0 && r.Max.N < r.Min.N) {
			add(LevelError, "stackhub-102", "Invalid port", "portRange must satisfy 1 <= min <= max <= 65535")
		}
	}
	seenSecrets := map[string]bool{}
	for i, sec := range s.Secrets {
		where := fmt.Sprintf("secrets[%d]", i)
		switch {
		case sec.Name == "":
			add(LevelError, "stackhub-103", "Invalid secret", "%s has no name", where)
		case !nameRE.MatchString(sec.Name):
			add(LevelError, "stackhub-103", "Invalid secret", "%s: name %q must start with a letter and hold only letters, digits, _ and -", where, sec.Name)
		case seenSecrets[sec.Name]:
			add(LevelError, "stackhub-103", "Invalid secret", "secret %q is declared twice", sec.Name)
		}
		seenSecrets[sec.Name] = true
		switch sec.Kind {
		case "", "password", "hex":
		default:
			add(LevelError, "stackhub-103", "Invalid secret", "secret %q: kind must be password or hex, not %q", sec.Name, sec.Kind)
		}
		if sec.Alphabet != "" {
			if _, ok := alphabets[sec.Alphabet]; !ok {
				add(LevelError, "stackhub-103", "Invalid secret", "secret %q: unknown alphabet %q (use alnum, alpha, lower, upper, digits, hex, urlsafe or symbols)", sec.Name, sec.Alphabet)
			}
			if sec.Kind == "hex" {
				add(LevelWarning, "stackhub-103", "Invalid secret", "secret %q: a hex secret ignores alphabet", sec.Name)
			}
		}
		if !sec.Length.Template && sec.Length.N != 0 && (sec.Length.N < 8 || sec.Length.N > 1024) {
			add(LevelError, "stackhub-103", "Invalid secret", "secret %q: length must be between 8 and 1024", sec.Name)
		}
	}
	seenOutputs := map[string]bool{}
	for i, o := range s.Outputs {
		where := fmt.Sprintf("outputs[%d]", i)
		if o.Name == "" {
			add(LevelError, "stackhub-104", "Invalid output", "%s has no name", where)
			continue
		}
		if seenOutputs[o.Name] {
			add(LevelError, "stackhub-104", "Invalid output", "output %q is declared twice", o.Name)
		}
		seenOutputs[o.Name] = true
		n := 0
		for _, v := range []string{o.Port, o.Container, o.Secret, o.Value} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			add(LevelError, "stackhub-104", "Invalid output", "output %q must set exactly one of port, container, secret or value", o.Name)
			continue
		}
		if o.Port != "" && deploys && !seenPorts[o.Port] {
			add(LevelError, "stackhub-104", "Invalid output", "output %q: no port named %q is declared in this step", o.Name, o.Port)
		}
		if o.Secret != "" && deploys && !seenSecrets[o.Secret] {
			add(LevelError, "stackhub-104", "Invalid output", "output %q: no secret named %q is declared in this step", o.Name, o.Secret)
		}
	}
	if _, err := s.WaitTimeout(); err != nil {
		add(LevelError, "stackhub-105", "Invalid wait timeout", "%v (use a duration such as 90s or 5m)", err)
	}
	switch action {
	case "install", "upgrade", "uninstall":
		if s.Operation != "" {
			add(LevelWarning, "stackhub-106", "Operation ignored", "operation is only used by custom actions; %s ignores it", action)
		}
	default:
		op := s.Operation
		if op == "" {
			op = action
		}
		if !slices.Contains(operations, op) {
			add(LevelError, "stackhub-106", "Unknown operation",
				"custom action %q: set operation: to one of %s", action, strings.Join(operations, ", "))
		}
		if op == "exec" && len(s.Command) == 0 {
			add(LevelError, "stackhub-106", "Missing command",
				"custom action %q: exec needs command: [program, args...], run in the service's running container", action)
		}
		if op != "exec" && len(s.Command) > 0 {
			add(LevelWarning, "stackhub-106", "Command ignored", "custom action %q: command is only used by operation: exec", action)
		}
	}
	if s.Purge && action != "uninstall" {
		add(LevelWarning, "stackhub-107", "Purge ignored", "purge only applies to uninstall")
	}
	return ps
}

// firstError returns the first error-level problem as an error.
func firstError(action string, ps []Problem) error {
	for _, p := range ps {
		if p.Level == LevelError {
			return fmt.Errorf("invalid %s step (%s): %s", action, p.Code, p.Message)
		}
	}
	return nil
}
