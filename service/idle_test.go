package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestReleaseWhenIdle checks that memory is handed back once per quiet
// spell: once after requests stop, and again only after the next request.
func TestReleaseWhenIdle(t *testing.T) {
	s, _ := newTestServer(t, okEngine())
	var released atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.lastRequest.Store(time.Now().UnixNano())
	go s.releaseWhenIdleWith(ctx, 40*time.Millisecond, func() { released.Add(1) })

	do(t, s, request{method: "GET", target: "/health"})
	assert.Eventually(t, func() bool { return released.Load() == 1 }, time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.EqualValues(t, 1, released.Load(), "released again without a request")

	do(t, s, request{method: "GET", target: "/health"})
	assert.Eventually(t, func() bool { return released.Load() == 2 }, time.Second, 5*time.Millisecond)
}
