package mixin

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stackhub/stackhub/engine/contract"
)

// An undone upgrade tells the user in words and the service by its exit
// status.
func TestRestoredErrorNamesUndoneUpgrade(t *testing.T) {
	cause := errors.New("container x is unhealthy")
	err := &restoredError{err: cause}
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "container x is unhealthy; the upgrade was undone and the previous version runs again", err.Error())
	assert.Equal(t, contract.OutcomeUpgradeUndone, contract.OutcomeOf(exitStatus(err)))
	assert.Equal(t, contract.OutcomeFailed, contract.OutcomeOf(exitStatus(cause)))
}
