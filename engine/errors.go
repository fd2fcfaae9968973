package engine

import (
	"errors"
)

// Sentinel errors classify failures; wrap them with %w.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrInvalid     = errors.New("invalid input")
	ErrUnavailable = errors.New("unavailable")
	// ErrActionFailed: a bundle action ran and failed; the message says
	// what the bundle reported.
	ErrActionFailed = errors.New("bundle action failed")
	// ErrStillRunning: an uninstall failed and containers of the app still
	// run.
	ErrStillRunning = errors.New("still running")
)

// UserError is an error whose fix is known: Msg says what went wrong, Hint
// how to fix it.
type UserError struct {
	Msg  string
	Hint string
	Err  error
}

func (e *UserError) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *UserError) Unwrap() error { return e.Err }

// NewUserError builds a UserError that wraps kind (a sentinel).
func NewUserError(kind error, msg, hint string) *UserError {
	return &UserError{Msg: msg, Hint: hint, Err: kind}
}

// HintOf returns the hint of the first UserError in err's chain.
func HintOf(err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Hint
	}
	return ""
}

// ErrUpgradeUndone is in the error of a failed upgrade after which the
// bundle brought the previous version back (the stackhub mixin does, and
// says so with contract.ExitUpgradeUndone): the installation keeps running
// its previous version.
var ErrUpgradeUndone = errors.New("the upgrade was undone and the previous version runs again")
