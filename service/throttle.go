package service

import (
	"sync"
	"time"
)

// loginLimiter slows password guessing without letting a stranger lock
// the owner out. It counts failed logins per key: a user at one client
// address ("user@ip"), and a client address alone. A key may fail free
// times; after that it waits before its next try, one second after the
// first failure over the allowance and twice as long after each further
// one, up to max. A key that has been quiet for a day starts afresh. The
// owner typing the right password from an address that has not failed is
// never refused, whatever others do.
type loginLimiter struct {
	free int
	max  time.Duration

	mu   sync.Mutex
	keys map[string]*throttle
}

type throttle struct {
	failures int
	last     time.Time
}

// forgetAfter is how long a key must stay quiet before its failures are
// forgotten.
const forgetAfter = 24 * time.Hour

func newLoginLimiter(free int, max time.Duration) *loginLimiter {
	return &loginLimiter{free: free, max: max, keys: map[string]*throttle{}}
}

// delay is the wait after the given number of failures.
func (l *loginLimiter) delay(failures int) time.Duration {
	if failures < l.free {
		return 0
	}
	n := min(failures-l.free, 30)
	return min(time.Second<<n, l.max)
}

// wait returns how long until every one of keys may try again (0: now).
func (l *loginLimiter) wait(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var w time.Duration
	for _, k := range keys {
		t := l.get(k, now)
		if t == nil {
			continue
		}
		if rem := t.last.Add(l.delay(t.failures)).Sub(now); rem > w {
			w = rem
		}
	}
	return w
}

// fail records one failure against every key.
func (l *loginLimiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keep memory bounded under a spray of names or addresses: drop the
	// keys whose wait has passed.
	if len(l.keys) > 10000 {
		for k, t := range l.keys {
			if !now.Before(t.last.Add(l.delay(t.failures))) {
				delete(l.keys, k)
			}
		}
	}
	for _, k := range keys {
		t := l.get(k, now)
		if t == nil {
			t = &throttle{}
			l.keys[k] = t
		}
		t.failures++
		t.last = now
	}
}

// reset forgets the failures of keys.
func (l *loginLimiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.keys, k)
	}
}

// get returns key's record, dropping it once it has been quiet for
// forgetAfter; the caller holds mu.
func (l *loginLimiter) get(key string, now time.Time) *throttle {
	t := l.keys[key]
	if t != nil && now.Sub(t.last) >= forgetAfter {
		delete(l.keys, key)
		return nil
	}
	return t
}
