package chat

import (
	"sync"
	"time"
)

// Throttle limits password checks. It has two limits:
//
//   - per (account, source IP): after Limit failures inside Window, further
//     attempts from that address for that account are refused until the
//     window that began with the first failure ends;
//   - per account, from any address it has not logged in from before:
//     after AccountLimit failures inside Window, attempts are spaced by a
//     delay that starts at one second and doubles with each further
//     failure, up to Window. Rotating source addresses then buys an
//     attacker a few guesses a minute instead of thousands.
//
// An attempt is counted when it starts (Begin), not when its hash is done,
// so concurrent attempts cannot all slip through one check. A success
// clears both counts. No limit is a permanent lock: the per-address one
// ends with its window, the per-account one never waits longer than
// Window, and it does not apply at all to an address the account has
// logged in from before, so its owner can still get in from there.
type Throttle struct {
	Limit        int
	Window       time.Duration
	AccountLimit int

	mu       sync.Mutex
	now      func() time.Time
	entries  map[throttleKey]*throttleEntry
	accounts map[string]*throttleEntry
	known    map[throttleKey]time.Time
}

type throttleKey struct{ account, ip string }

type throttleEntry struct {
	start    time.Time // first failure or attempt of the window
	last     time.Time // latest attempt
	failures int
	inflight int
}

// knownFor is how long a successful login vouches for its address.
const knownFor = 30 * 24 * time.Hour

// accountBackoff is the first delay once an account is over its limit.
const accountBackoff = time.Second

// NewThrottle returns a throttle allowing limit failures per window per
// account and address, and 10 per window per account from addresses that
// have not logged in to it; now is the clock (time.Now when nil).
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		Limit: limit, Window: window, AccountLimit: 10, now: now,
		entries:  make(map[throttleKey]*throttleEntry),
		accounts: make(map[string]*throttleEntry),
		known:    make(map[throttleKey]time.Time),
	}
}

// Allowed reports whether a login attempt for account from ip may be
// checked now, and if not, how long until it may. It reserves nothing;
// the server uses Begin.
func (t *Throttle) Allowed(account, ip string) (ok bool, retryAfter time.Duration) {
	if t.Limit <= 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.check(account, ip, t.now())
}

// Begin reserves a password check for account from ip. When it is allowed,
// the attempt counts as a failure until done reports its outcome; when it
// is not, retryAfter says how long until one may be (0 while other
// attempts are still in flight).
func (t *Throttle) Begin(account, ip string) (done func(success bool), retryAfter time.Duration, ok bool) {
	if t.Limit <= 0 {
		return func(bool) {}, 0, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if ok, retry := t.check(account, ip, now); !ok {
		return nil, retry, false
	}
	k := throttleKey{account, ip}
	t.sweep(now)
	pair := windowEntry(t.entries, k, now, t.Window)
	pair.inflight++
	var acct *throttleEntry
	if !t.isKnown(k, now) {
		acct = windowEntry(t.accounts, account, now, t.Window)
		acct.inflight++
		acct.last = now
	}
	var once sync.Once
	return func(success bool) {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			pair.inflight--
			if acct != nil {
				acct.inflight--
			}
			if success {
				t.succeedLocked(account, ip)
				return
			}
			pair.failures++
			if acct != nil {
				acct.failures++
			}
		})
	}, 0, true
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
	t.sweep(now)
	windowEntry(t.entries, k, now, t.Window).failures++
	if !t.isKnown(k, now) {
		e := windowEntry(t.accounts, account, now, t.Window)
		e.failures++
		e.last = now
	}
}

// Succeed clears the failures of account from ip and of account, and
// remembers ip as an address the account logs in from.
func (t *Throttle) Succeed(account, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.succeedLocked(account, ip)
}

func (t *Throttle) succeedLocked(account, ip string) {
	k := throttleKey{account, ip}
	if e := t.entries[k]; e != nil {
		e.failures = 0
		if e.inflight == 0 {
			delete(t.entries, k)
		}
	}
	if e := t.accounts[account]; e != nil {
		e.failures = 0
		if e.inflight == 0 {
			delete(t.accounts, account)
		}
	}
	t.known[k] = t.now()
}

// check applies both limits. t.mu is held.
func (t *Throttle) check(account, ip string, now time.Time) (bool, time.Duration) {
	k := throttleKey{account, ip}
	if e := live(t.entries, k, now, t.Window); e != nil && e.failures+e.inflight >= t.Limit {
		if e.failures < t.Limit {
			return false, 0
		}
		return false, e.start.Add(t.Window).Sub(now)
	}
	if t.AccountLimit <= 0 || t.isKnown(k, now) {
		return true, 0
	}
	e := live(t.accounts, account, now, t.Window)
	if e == nil || e.failures+e.inflight < t.AccountLimit {
		return true, 0
	}
	if e.inflight > 0 {
		return false, 0
	}
	delay := t.Window
	if over := e.failures - t.AccountLimit; over < 16 {
		delay = min(accountBackoff<<over, t.Window)
	}
	if wait := e.last.Add(delay).Sub(now); wait > 0 {
		return false, wait
	}
	return true, 0
}

func (t *Throttle) isKnown(k throttleKey, now time.Time) bool {
	at, ok := t.known[k]
	return ok && now.Sub(at) < knownFor
}

// live returns the entry for k unless its window is over.
func live[K comparable](m map[K]*throttleEntry, k K, now time.Time, window time.Duration) *throttleEntry {
	e := m[k]
	if e == nil {
		return nil
	}
	if e.inflight == 0 && !now.Before(e.start.Add(window)) && !now.Before(e.last.Add(window)) {
		delete(m, k)
		return nil
	}
	return e
}

// windowEntry returns the live entry for k, starting a new window when there is
// none.
func windowEntry[K comparable](m map[K]*throttleEntry, k K, now time.Time, window time.Duration) *throttleEntry {
	if e := live(m, k, now, window); e != nil {
		return e
	}
	e := &throttleEntry{start: now, last: now}
	m[k] = e
	return e
}

// sweep drops expired entries once the tables grow, so memory stays
// bounded by the attempts of one window (and the logins of knownFor).
func (t *Throttle) sweep(now time.Time) {
	if len(t.entries)+len(t.accounts) >= 1024 {
		for k := range t.entries {
			live(t.entries, k, now, t.Window)
		}
		for k := range t.accounts {
			live(t.accounts, k, now, t.Window)
		}
	}
	if len(t.known) >= 1<<16 {
		for k, at := range t.known {
			if now.Sub(at) >= knownFor {
				delete(t.known, k)
			}
		}
	}
}

// RateLimit allows at most Limit events per key (a source address) in
// each Window; it limits registrations, each of which costs a password
// hash and a rewrite of the user store.
type RateLimit struct {
	Limit  int
	Window time.Duration

	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*throttleEntry
}

// NewRateLimit returns a limit of limit events per window; now is the
// clock (time.Now when nil).
func NewRateLimit(limit int, window time.Duration, now func() time.Time) *RateLimit {
	if now == nil {
		now = time.Now
	}
	return &RateLimit{Limit: limit, Window: window, now: now, entries: make(map[string]*throttleEntry)}
}

// Take counts one event for key. It reports false, with the time until
// the window ends, when key has used up its events.
func (r *RateLimit) Take(key string) (ok bool, retryAfter time.Duration) {
	if r.Limit <= 0 {
		return true, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e := live(r.entries, key, now, r.Window)
	if e == nil {
		if len(r.entries) >= 1024 {
			for k := range r.entries {
				live(r.entries, k, now, r.Window)
			}
		}
		e = windowEntry(r.entries, key, now, r.Window)
	}
	if e.failures >= r.Limit {
		return false, e.start.Add(r.Window).Sub(now)
	}
	e.failures++
	return true, 0
}
