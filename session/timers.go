package session

// The timers of a link: keepalive pings. (The accept deadline is a
// time.AfterFunc that feeds the chat machine.)

import (
	"time"
)

// keepalive pings so that both sides notice a dead partner.
func (l *link) keepalive() {
	defer l.s.wg.Done()
	t := time.NewTicker(l.s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			nonce := l.s.nextNonce() // before l.mu: s.mu is taken first
			l.step(func(m *chatMachine) effects { return m.pingDue(nonce) })
		}
	}
}
