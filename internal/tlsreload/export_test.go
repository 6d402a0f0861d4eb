package tlsreload

import "time"

// WithClock returns o with the Reloader's clock set to now.
func WithClock(o Options, now func() time.Time) Options {
	o.now = now
	return o
}
