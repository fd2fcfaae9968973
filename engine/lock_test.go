package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockContext(t *testing.T) {
	tests := []struct {
		name    string
		holdFor time.Duration // 0: not held; <0: held past the deadline
		wantErr bool
	}{
		{"free", 0, false},
		{"released soon", 30 * time.Millisecond, false},
		{"held past the deadline", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			if tt.holdFor != 0 {
				mu.Lock()
				if tt.holdFor > 0 {
					time.AfterFunc(tt.holdFor, mu.Unlock)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := lockContext(ctx, &mu)
			if tt.wantErr {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			require.NoError(t, err)
			assert.False(t, mu.TryLock(), "lockContext holds the lock")
			mu.Unlock()
		})
	}
}
