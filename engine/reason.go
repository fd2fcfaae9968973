package engine

import (
	"fmt"
	"strings"
)

// actionError turns a failed action into an error a user can act on: the
// first error the bundle's steps reported (and the hint they gave), rather
// than the wrappers the runtime and the driver add around it. The full log
// stays in the run's logs output.
func actionError(action, logs string, runErr error) error {
	var reason, hint string
	for _, line := range strings.Split(logs, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case reason == "" && strings.HasPrefix(line, "Error: ") && !strings.Contains(line, "mixin execution failed"):
			reason = strings.TrimPrefix(line, "Error: ")
		case hint == "" && strings.HasPrefix(line, "Hint: "):
			hint = strings.TrimPrefix(line, "Hint: ")
		}
	}
	if reason == "" {
		// Nothing said by the bundle: keep the last lines it printed.
		t := &tailBuffer{max: len(logs) + 1}
		_, _ = t.Write([]byte(logs))
		if tail := t.Tail(4); tail != "" {
			return fmt.Errorf("%s failed: %s: %w", action, tail, failed(runErr))
		}
		return fmt.Errorf("%s failed: %w", action, failed(runErr))
	}
	msg := fmt.Sprintf("%s failed: %s", action, reason)
	return &UserError{Msg: msg, Hint: hint, Err: fmt.Errorf("%s: %w", msg, failed(runErr))}
}

// actionFailed classifies a bundle action's failure as ErrActionFailed
// without changing its text.
type actionFailed struct{ err error }

func (a *actionFailed) Error() string   { return a.err.Error() }
func (a *actionFailed) Unwrap() []error { return []error{ErrActionFailed, a.err} }

func failed(err error) error { return &actionFailed{err: err} }
