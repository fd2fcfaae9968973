package engine

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestActionError(t *testing.T) {
	runErr := errors.New("container exit code: 1, message: <nil>")
	tests := []struct {
		name, logs, want, hint string
	}{
		{
			name: "the step's error and hint, not the wrappers",
			logs: "executing install action from wordpress\nPulling image mariadb:10.11\nError: image mariadb:10.11 is not available\nHint: load it first\nError: mixin execution failed: package command failed\n",
			want: "install failed: image mariadb:10.11 is not available", hint: "load it first",
		},
		{name: "no error line keeps the tail", logs: "a\nb\n", want: "install failed: a | b: container exit code: 1, message: <nil>"},
		{name: "no output at all", logs: "", want: "install failed: container exit code: 1, message: <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := actionError("install", tt.logs, runErr)
			assert.Equal(t, tt.want, err.Error())
			assert.Equal(t, tt.hint, HintOf(err))
			assert.ErrorIs(t, err, runErr)
			assert.ErrorIs(t, err, ErrActionFailed, "classified, so that the service answers with the message")
		})
	}
}
