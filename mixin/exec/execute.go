package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Well-known action names.
const (
	ActionInstall   = "install"
	ActionUpgrade   = "upgrade"
	ActionUninstall = "uninstall"
)

// ExecuteOptions selects the action to run and where its step comes from.
type ExecuteOptions struct {
	// Action is the action key expected in the step definition.
	Action string
	// File reads the step definition from a file instead of Mixin.In.
	File string
}

// Install runs the install step read from File or stdin.
func (m *Mixin) Install(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: ActionInstall, File: file})
}

// Upgrade runs the upgrade step read from File or stdin.
func (m *Mixin) Upgrade(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: ActionUpgrade, File: file})
}

// Uninstall runs the uninstall step read from File or stdin.
func (m *Mixin) Uninstall(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: ActionUninstall, File: file})
}

// Invoke runs the step of a custom action read from File or stdin.
func (m *Mixin) Invoke(ctx context.Context, action, file string) error {
	if action == "" {
		return errors.New("--action is required")
	}
	return m.Execute(ctx, ExecuteOptions{Action: action, File: file})
}

// Execute runs the single step of opts.Action and then writes its outputs.
func (m *Mixin) Execute(ctx context.Context, opts ExecuteOptions) error {
	data, err := readInput(m.In, opts.File)
	if err != nil {
		return err
	}
	actions, err := parseActions(data)
	if err != nil {
		return err
	}
	action, err := selectAction(actions, opts.Action)
	if err != nil {
		return err
	}
	if len(action.Steps) != 1 {
		return fmt.Errorf("expected a single step, but got %d", len(action.Steps))
	}
	step := action.Steps[0]
	stdout, err := m.runStep(ctx, step)
	if err != nil {
		return err
	}
	return m.processOutputs(step, stdout)
}

// commandLine is a resolved command: what runs and how it is displayed.
type commandLine struct {
	dir  string
	name string
	args []string
}

func (c commandLine) String() string {
	parts := append([]string{c.dir, c.name}, c.args...)
	return strings.Join(parts, " ")
}

// Argv returns arguments, then sorted flags split on whitespace (honouring
// quotes and escapes), then suffix arguments. Arguments are never split.
func (s Step) Argv() []string {
	argv := make([]string, 0, len(s.Arguments)+2*len(s.Flags)+len(s.SuffixArguments))
	argv = append(argv, s.Arguments...)
	argv = append(argv, splitTokens(s.Flags.Tokens())...)
	argv = append(argv, s.SuffixArguments...)
	return argv
}

// resolveCommand builds the command line of step. The working directory is
// the step's dir (relative to the mixin's own directory) or the mixin's own
// directory. A command without a slash that is not on PATH but exists in the
// working directory runs as ./<name>.
func (m *Mixin) resolveCommand(step Step) (commandLine, error) {
	if step.Command == "" {
		return commandLine{}, errors.New("invalid exec step: command is required")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return commandLine{}, fmt.Errorf("get working directory: %w", err)
	}
	dir := cwd
	if step.Dir != "" && step.Dir != "." {
		dir = step.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(cwd, dir)
		}
	}
	name := step.Command
	if !strings.ContainsRune(name, '/') {
		if _, err := lookPath(name, m.environ()); err != nil {
			if fi, statErr := os.Stat(filepath.Join(dir, name)); statErr == nil && !fi.IsDir() {
				name = "./" + name
			}
		}
	}
	return commandLine{dir: dir, name: name, args: step.Argv()}, nil
}

// lookPath searches PATH from env for an executable file.
func lookPath(name string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, osexec.ErrNotFound)
}

// runStep runs the step's command and returns its stdout.
func (m *Mixin) runStep(ctx context.Context, step Step) (string, error) {
	cl, err := m.resolveCommand(step)
	if err != nil {
		return "", err
	}
	env := m.environ()
	path, err := m.executable(cl, env)
	if err != nil {
		return "", fmt.Errorf("couldn't run command %s: %w", cl, err)
	}

	cmd := osexec.CommandContext(ctx, path, cl.args...)
	cmd.Args[0] = cl.name
	cmd.Dir = cl.dir
	cmd.Env = append(append([]string{}, env...), sortedEnv(step.Envs)...)

	var stdout, stderr bytes.Buffer
	if step.SuppressOutput {
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		m.debugf("DEBUG: output suppressed for command %s\n", cl)
	} else {
		cmd.Stdout = io.MultiWriter(m.Out, &stdout)
		cmd.Stderr = io.MultiWriter(m.Err, &stderr)
		m.debugf("%s\n", cl)
	}

	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("couldn't run command %s: %w", cl, err)
	}
	err = cmd.Wait()
	if err != nil {
		var exitErr *osexec.ExitError
		if errors.As(err, &exitErr) && step.IgnoreError != nil {
			err = m.handleError(*step.IgnoreError, exitErr, stderr.String())
		}
	}
	if err != nil {
		msg := fmt.Errorf("error running command %s: %w", cl, err)
		if step.SuppressOutput && stderr.Len() > 0 {
			// The command's stderr was never shown; keep it in the error.
			return "", fmt.Errorf("%w\n%s", msg, strings.TrimRight(stderr.String(), "\n"))
		}
		return "", msg
	}
	return stdout.String(), nil
}

// executable finds the file to run: a name with a slash is relative to the
// command's working directory, any other name is searched on PATH.
func (m *Mixin) executable(cl commandLine, env []string) (string, error) {
	if strings.ContainsRune(cl.name, '/') {
		if filepath.IsAbs(cl.name) {
			return cl.name, nil
		}
		return filepath.Join(cl.dir, cl.name), nil
	}
	return lookPath(cl.name, env)
}

func sortedEnv(envs map[string]string) []string {
	out := make([]string, 0, len(envs))
	for k, v := range envs {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// handleError applies ignoreError to a failed command: it returns nil when
// the failure is to be ignored and err otherwise.
func (m *Mixin) handleError(h IgnoreError, err *osexec.ExitError, stderr string) error {
	code := err.ExitCode()
	if code == 0 {
		return nil
	}
	m.debugf("Evaluating mixin command error %s with the mixin's error handler\n", err)
	if h.All {
		m.debugf("Ignoring mixin command error because All was specified in the mixin step definition\n")
		return nil
	}
	for _, c := range h.ExitCodes {
		if c == code {
			m.debugf("Ignoring mixin command error (exit code: %d) because it was included in the allowed ExitCodes list defined in the mixin step definition\n", code)
			return nil
		}
	}
	for _, s := range h.Output.Contains {
		if strings.Contains(stderr, s) {
			m.debugf("Ignoring mixin command error because the error contained the substring %q defined in the mixin step definition\n", s)
			return nil
		}
	}
	for _, expr := range h.Output.Regex {
		re, reErr := regexp.Compile(expr)
		if reErr != nil {
			return fmt.Errorf("%w (could not ignore the failed command because ignoreError regex %q is invalid: %w)", err, expr, reErr)
		}
		if re.MatchString(stderr) {
			m.debugf("Ignoring mixin command error because the error matched the Regex %q defined in the mixin step definition\n", expr)
			return nil
		}
	}
	return err
}

func (m *Mixin) debugf(format string, args ...any) {
	if m.Debug && m.Err != nil {
		fmt.Fprintf(m.Err, format, args...)
	}
}
