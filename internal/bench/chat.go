package bench

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/securechat/securechat/session"
)

// eventTimeout bounds every wait for a session event: a bench that hangs is
// worse than one that fails.
const eventTimeout = 30 * time.Second

// driver reads one session's events, as a front end would: it accepts every
// partner request and hands on what the measurements wait for.
type driver struct {
	s            *session.Session
	listening    chan string // the bound address (host)
	connected    chan string // the partner's contact id
	delivered    chan string // ids
	queued       chan string // ids
	disconnected chan struct{}
	stop         chan struct{} // closed by close: signals are dropped from then on
	closed       chan struct{} // closed when the session's events end

	mu      sync.Mutex
	err     error  // the first failure the session reported
	partner string // the contact connected last
}

func drive(s *session.Session) *driver {
	d := &driver{
		s:            s,
		listening:    make(chan string, 1),
		connected:    make(chan string, 16),
		delivered:    make(chan string, 8192),
		queued:       make(chan string, 8192),
		disconnected: make(chan struct{}, 16),
		stop:         make(chan struct{}),
		closed:       make(chan struct{}),
	}
	go func() {
		defer close(d.closed)
		for e := range s.Events() {
			switch e := e.(type) {
			case session.Listening:
				signal(d, d.listening, e.Addr)
			case session.Request:
				if err := s.Accept(e.Partner.Fingerprint); err != nil {
					d.fail(fmt.Errorf("accept: %w", err))
				}
			case session.Connected:
				d.mu.Lock()
				d.partner = e.Partner.Fingerprint
				d.mu.Unlock()
				signal(d, d.connected, e.Partner.Fingerprint)
			case session.Delivered:
				signal(d, d.delivered, e.ID)
			case session.Queued:
				// Only the outbox rows wait for these; a throughput burst
				// queues more than the channel holds and never reads them,
				// so a full channel drops them rather than stalling the
				// session's events.
				select {
				case d.queued <- e.Message.ID:
				default:
				}
			case session.Ended:
				if e.Connected && e.Reason != session.EndWeLeft && e.Reason != session.EndPartnerLeft {
					d.fail(fmt.Errorf("disconnected: %s: %w", e.Reason, e.Err))
				}
				if !e.Connected && e.Reason != session.EndWeLeft {
					d.fail(fmt.Errorf("could not connect: %s: %w", e.Reason, e.Err))
				}
				if e.Connected {
					signal(d, d.disconnected, struct{}{})
				}
			case session.Failed:
				d.fail(fmt.Errorf("message not delivered: %s: %w", e.Reason, e.Err))
			case session.HistoryError:
				d.fail(e.Err)
			case session.Problem:
				d.fail(e.Err)
			}
		}
	}()
	return d
}

// signal hands v on; once the driver is closing nobody listens, so it is
// dropped rather than blocking the session.
func signal[T any](d *driver, c chan<- T, v T) {
	select {
	case c <- v:
	case <-d.stop:
	}
}

func (d *driver) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
	}
}

// send sends text to the partner connected last.
func (d *driver) send(text string) (string, error) {
	d.mu.Lock()
	partner := d.partner
	d.mu.Unlock()
	return d.s.Send(partner, text)
}

func (d *driver) failure() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// wait waits for a signal on c, or fails with what the session reported.
func wait[T any](d *driver, c <-chan T, what string) (T, error) {
	select {
	case v := <-c:
		return v, nil
	case <-time.After(eventTimeout):
		var zero T
		if err := d.failure(); err != nil {
			return zero, fmt.Errorf("waiting for %s: %w", what, err)
		}
		return zero, fmt.Errorf("no %s within %v", what, eventTimeout)
	}
}

func (d *driver) close() {
	close(d.stop)
	d.s.Close()
	<-d.closed
}

// host starts a listening session on loopback.
func host(cfg session.Config) (*driver, string, error) {
	s, err := session.Host(cfg, "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	d := drive(s)
	addr, err := wait(d, d.listening, "listening event")
	if err != nil {
		d.close()
		return nil, "", err
	}
	return d, addr, nil
}

// handshake measures one SecureChat handshake: from Connect until the
// dialling side's "connected" event (both handshakes verified, both sides
// accepted). The connection is then closed and the host made free again.
func handshake(h *driver, addr string, cfg session.Config) (time.Duration, error) {
	start := time.Now()
	s, err := session.Connect(cfg, addr)
	if err != nil {
		return 0, err
	}
	c := drive(s)
	_, err = wait(c, c.connected, "connected event")
	d := time.Since(start)
	c.close()
	if err != nil {
		return 0, err
	}
	// The host must be free again before the next handshake.
	if _, err := wait(h, h.connected, "host's connected event"); err != nil {
		return 0, err
	}
	if _, err := wait(h, h.disconnected, "host's disconnected event"); err != nil {
		return 0, err
	}
	return d, nil
}

// chatPair is a host and a connected partner; the partner sends.
type chatPair struct {
	host, conn *driver
}

func newPair(hostCfg, connCfg session.Config) (*chatPair, error) {
	h, addr, err := host(hostCfg)
	if err != nil {
		return nil, err
	}
	s, err := session.Connect(connCfg, addr)
	if err != nil {
		h.close()
		return nil, err
	}
	c := drive(s)
	if _, err := wait(c, c.connected, "connected event"); err != nil {
		c.close()
		h.close()
		return nil, err
	}
	if _, err := wait(h, h.connected, "host's connected event"); err != nil {
		c.close()
		h.close()
		return nil, err
	}
	return &chatPair{host: h, conn: c}, nil
}

func (p *chatPair) close() {
	p.conn.close()
	p.host.close()
}

// roundTrip sends text and waits for its "delivered" event: the partner has
// received it (and, with history on, made it durable) and acknowledged it.
func (p *chatPair) roundTrip(text string) (time.Duration, error) {
	start := time.Now()
	id, err := p.conn.send(text)
	if err != nil {
		return 0, err
	}
	got, err := wait(p.conn, p.conn.delivered, "delivered event")
	if err != nil {
		return 0, err
	}
	if got != id {
		return 0, errors.New("delivered event for another message")
	}
	return time.Since(start), nil
}

// send sends n messages, at most window unacknowledged at a time (the
// session drops a partner who lets 4096 records queue up), and returns the
// time until the last "delivered" event.
func (p *chatPair) send(text string, n, window int) (time.Duration, error) {
	start := time.Now()
	outstanding := 0
	for range n {
		if outstanding >= window {
			if _, err := wait(p.conn, p.conn.delivered, "delivered event"); err != nil {
				return 0, err
			}
			outstanding--
		}
		if _, err := p.conn.send(text); err != nil {
			return 0, err
		}
		outstanding++
	}
	for ; outstanding > 0; outstanding-- {
		if _, err := wait(p.conn, p.conn.delivered, "delivered event"); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
