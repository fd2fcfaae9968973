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
			return fmt.Errorf("%s failed: %s: %w", action, tail, runErr)
		}
		return fmt.Errorf("%s failed: %w", action, runErr)
	}
	msg := fmt.Sprintf("%s failed: %s", action, reason)
	return &UserError{Msg: msg, Hint: hint, Err: fmt.Errorf("%s: %w", msg, runErr)}
}
