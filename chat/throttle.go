package chat

import (
	"sync"
	"time"
)

// Throttle limits failed logins per (account, source IP): after Limit
// failures inside Window, further attempts from that address for that
// account are refused until the window that began with the first failure
// ends. A success clears the record. Because the key includes the source
// address, one client cannot lock another out, and no lockout outlasts one
// window.
type Throttle struct {
	Limit  int
	Window time.Duration

	mu      sync.Mutex
	now     func() time.Time
	entries map[throttleKey]*throttleEntry
}

type throttleKey struct{ account, ip string }

type throttleEntry struct {
	start    time.Time
	failures int
}

// NewThrottle returns a throttle allowing limit failures per window; now
// is the clock (time.Now when nil).
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{Limit: limit, Window: window, now: now, entries: make(map[throttleKey]*throttleEntry)}
}

// Allowed reports whether a login attempt for account from ip may be
// checked now, and if not, how long until it may.
func (t *Throttle) Allowed(account, ip string) (ok bool, retryAfter time.Duration) {
	if t.Limit <= 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[throttleKey{account, ip}]
	if e == nil {
		return true, 0
	}
	end := e.start.Add(t.Window)
	now := t.now()
	if !now.Before(end) {
		delete(t.entries, throttleKey{account, ip})
		return true, 0
	}
	if e.failures >= t.Limit {
		return false, end.Sub(now)
	}
	return true, 0
}

// Fail records a failed login for account from ip.
func (t *Throttle) Fail(account, ip string) {
	if t.Limit <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := throttleKey{account, ip}
	e := t.entries[k]
	if e == nil || !now.Before(e.start.Add(t.Window)) {
		t.sweep(now)
		t.entries[k] = &throttleEntry{start: now, failures: 1}
		return
	}
	e.failures++
}

// Succeed clears the failures of account from ip.
func (t *Throttle) Succeed(account, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, throttleKey{account, ip})
}

// sweep drops expired entries once the table grows, so memory stays
// bounded by the failures of one window.
func (t *Throttle) sweep(now time.Time) {
	if len(t.entries) < 1024 {
		return
	}
	for k, e := range t.entries {
		if !now.Before(e.start.Add(t.Window)) {
			delete(t.entries, k)
		}
	}
}
