package session

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/securechat/securechat/transport"
)

// OnionDialer connects to a "host:port" through tor (Tor mode). Its
// errors are shown to the user, so they say what failed in words.
type OnionDialer func(ctx context.Context, addr string) (net.Conn, error)

var (
	// ErrNoTor: an address that only tor can reach (a .onion) while Tor
	// mode is off.
	ErrNoTor = errors.New("session: this address can be reached only through Tor, and Tor mode is off")
	// ErrOnlyTor: in Tor-only mode, an address that is not a .onion is not
	// dialed, so that nobody learns our IP address.
	ErrOnlyTor = errors.New("session: only .onion addresses are dialed while contacts reach you only through Tor")
)

// torSlowdown is how much longer than on a direct connection a dial and a
// handshake through tor may take: building circuits and fetching an onion
// service's descriptor take seconds, and every round trip goes through six
// relays.
const torSlowdown = 6

// torDialError is a dial through tor that failed: tor's reason, in words.
type torDialError struct{ err error }

func (e *torDialError) Error() string { return "session: through Tor: " + e.err.Error() }
func (e *torDialError) Unwrap() error { return e.err }

type torDialing struct {
	dial OnionDialer
	only bool
}

// SetOnionDialer turns dialing through tor on (d not nil) or off. With it,
// .onion addresses are dialed through d; without it they fail with
// [ErrNoTor] and are never given to the system's resolver. only (Tor-only
// mode) refuses every other address with [ErrOnlyTor]. Links in progress
// are not affected.
func (s *Session) SetOnionDialer(d OnionDialer, only bool) {
	if d == nil {
		s.tor.Store(nil)
		return
	}
	s.tor.Store(&torDialing{dial: d, only: only})
}

// orderForDial puts the addresses reached directly before the .onion ones
// (a contact on the same network is reached at once; tor takes seconds),
// each group in its given order (newest first).
func orderForDial(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if !transport.IsOnion(a) {
			out = append(out, a)
		}
	}
	for _, a := range addrs {
		if transport.IsOnion(a) {
			out = append(out, a)
		}
	}
	return out
}

// dialOne dials one address: a .onion through tor, any other directly
// (unless Tor-only mode forbids it).
func (s *Session) dialOne(ctx context.Context, addr string) (*transport.Conn, error) {
	td := s.tor.Load()
	if transport.IsOnion(addr) {
		if td == nil {
			return nil, ErrNoTor
		}
		dctx, cancel := context.WithTimeout(ctx, torSlowdown*s.cfg.HandshakeTimeout)
		defer cancel()
		c, err := td.dial(dctx, addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err() // cancelled, not unreachable
			}
			return nil, &torDialError{err}
		}
		return transport.NewConn(c), nil
	}
	if td != nil && td.only {
		return nil, ErrOnlyTor
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	return transport.Dial(dctx, addr)
}

// handshakeTimeout is the time a link's handshake may take: longer through
// tor (a dialed .onion, or, while Tor mode is on, a partner coming from
// this computer, which is how our onion service's connections arrive).
func (l *link) handshakeTimeout() time.Duration {
	t := l.s.cfg.HandshakeTimeout
	l.mu.Lock()
	addr := l.addr
	l.mu.Unlock()
	if transport.IsOnion(addr) {
		return torSlowdown * t
	}
	if !l.initiator && l.s.fromOurTor(sourceHost(addr)) {
		return torSlowdown * t
	}
	return t
}

// fromOurTor reports whether a caller from host (an IP address without
// port) may be coming through our onion service: Tor mode is on and host
// is this computer, where our tor hands its connections over.
func (s *Session) fromOurTor(host string) bool {
	if s.tor.Load() == nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
