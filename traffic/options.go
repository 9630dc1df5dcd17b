package traffic

import "time"

// Option configures Analyze and Sequence.
type Option func(*config)

type config struct {
	client      string
	from, to    *Bound
	maxMessages int
	dedupWindow time.Duration
	excerpt     int
}

func newConfig(opts []Option) config {
	c := config{maxMessages: DefaultMaxMessages, dedupWindow: time.Second, excerpt: 28}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// DefaultMaxMessages is how many messages a diagram draws before it stops
// with a note saying how many were left out.
const DefaultMaxMessages = 120

// WithClient names the client host the answers are about. For Analyze it
// is the client of Task 3.2's handshake and one end of Task 3.3's datagram
// (default "client1", as the handout asks). For Sequence it is the client
// that is "new" in Delivery Q2 (default: chosen from the capture).
func WithClient(name string) Option { return func(c *config) { c.client = name } }

// WithFrom starts the diagram's window at b instead of choosing it.
func WithFrom(b Bound) Option { return func(c *config) { c.from = &b } }

// WithTo ends the diagram's window at b (inclusive) instead of choosing it.
func WithTo(b Bound) Option { return func(c *config) { c.to = &b } }

// WithMaxMessages limits how many messages the diagram draws; the rest are
// counted in a note. n < 1 means DefaultMaxMessages.
func WithMaxMessages(n int) Option {
	return func(c *config) {
		if n < 1 {
			n = DefaultMaxMessages
		}
		c.maxMessages = n
	}
}

// WithDedupWindow sets how far apart in time the same packet may be seen in
// two captures and still count as one (default 1s). The hosts of one lab
// share the machine's clock, so copies differ by microseconds.
func WithDedupWindow(d time.Duration) Option { return func(c *config) { c.dedupWindow = d } }
