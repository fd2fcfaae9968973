package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNextBackoff(t *testing.T) {
	tests := []struct {
		name        string
		prev, lived time.Duration
		want        time.Duration
	}{
		{"first break", 0, time.Millisecond, watchBackoffMin},
		{"breaks again at once", watchBackoffMin, time.Millisecond, 2 * watchBackoffMin},
		{"keeps doubling", 8 * time.Second, 2 * time.Second, 16 * time.Second},
		{"capped", 50 * time.Second, time.Second, watchBackoffMax},
		{"stays capped", watchBackoffMax, time.Second, watchBackoffMax},
		{"a healthy stream resets it", watchBackoffMax, watchHealthy, watchBackoffMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, nextBackoff(tt.prev, tt.lived))
		})
	}
}
