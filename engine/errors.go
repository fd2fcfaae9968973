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
	// ErrForbidden: StackHub's policy refuses the request (a registry not
	// on the allow-list, a privileged bundle nobody allowed).
	ErrForbidden = errors.New("not allowed")
)

// UserError is an error whose fix is known: Msg says what went wrong, Hint
// how to fix it. Kind classifies it (a sentinel such as ErrInvalid) and Err
// is its cause; both stay in the chain (errors.Is and errors.As see them),
// so that neither is flattened into the message.
type UserError struct {
	Msg  string
	Hint string
	Kind error
	Err  error
}

func (e *UserError) Error() string {
	if e.Msg == "" {
		if e.Err != nil {
			return e.Err.Error()
		}
		if e.Kind != nil {
			return e.Kind.Error()
		}
	}
	return e.Msg
}

// Unwrap returns the kind and the cause.
func (e *UserError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// NewUserError builds a UserError of a kind (a sentinel).
func NewUserError(kind error, msg, hint string) *UserError {
	return &UserError{Msg: msg, Hint: hint, Kind: kind}
}

// WithCause sets the error's cause and returns it.
func (e *UserError) WithCause(err error) *UserError {
	e.Err = err
	return e
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

// kindOf is a UserError's kind: its Kind, or for errors made before kinds
// had a field of their own, a sentinel in its cause.
func kindOf(ue *UserError) error {
	if ue.Kind != nil {
		return ue.Kind
	}
	for _, k := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable, ErrActionFailed, ErrStillRunning, ErrForbidden} {
		if errors.Is(ue.Err, k) {
			return k
		}
	}
	return nil
}
