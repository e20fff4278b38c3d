package session

// Automatic reconnect: every contact with an address that has no link is
// dialed, with exponential backoff and jitter, at once when the loop is
// turned on, on ReconnectNow, and when a local address appears (the
// network came back).
//
// A contact is paused (never dialed automatically) after we said goodbye
// to it (Disconnect) or it said goodbye to us, until one of us reaches out
// again: ReconnectNow, Send to it, or a link of it that connects (its
// incoming link is accepted as usual). The pause lives in memory only, so
// the next start of the app dials everyone again.

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transport"
)

// Defaults of the reconnect loop.
const (
	DefaultReconnectMin = 2 * time.Second
	DefaultReconnectMax = 5 * time.Minute
	// netPollInterval is how often the loop looks for a new local address.
	netPollInterval = 3 * time.Second
)

// backoff is the wait before the next dial after attempt failed dials
// (attempt 0: the first retry): min doubled per attempt, at most max, then
// scaled by a jitter factor between 1/2 and 1 from r in [0, 1), so that
// two sides that lost each other at once do not retry in step.
func backoff(lo, hi time.Duration, attempt int, r float64) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(r*float64(d/2))
}

type redialState struct {
	attempt int       // dials since the contact was last connected
	due     time.Time // next dial; zero: at once
	paused  bool      // a goodbye either way: no automatic dial until resumed
}

// redialer is the reconnect loop of a controller.
type redialer struct {
	s    *Session
	mu   sync.Mutex
	on   bool
	runs bool
	st   map[string]*redialState
	wake chan struct{}

	// Injected in tests; the clock is the controller's.
	rand  func() float64
	dial  func(c history.Contact)
	addrs func() []string
	known []string // local addresses at the last poll
}

func (r *redialer) init(s *Session) {
	r.s = s
	r.st = map[string]*redialState{}
	r.wake = make(chan struct{}, 1)
	r.rand = rand.Float64
	r.dial = s.dialContact
	r.addrs = func() []string { return transport.LocalAddrs(0) }
}

func (r *redialer) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *redialer) state(contact string) *redialState {
	st := r.st[contact]
	if st == nil {
		st = &redialState{}
		r.st[contact] = st
	}
	return st
}

// connected: contact is connected; its backoff starts over and a pause
// ends, unless leaving reports (under the loop's lock) that we are already
// saying goodbye to that link: a Disconnect right after the link connected
// keeps its pause.
func (r *redialer) connected(contact string, leaving func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if leaving != nil && leaving() {
		return
	}
	*r.state(contact) = redialState{}
}

// lost: a connected link of contact ended; the first try comes after the
// shortest backoff (a partner that left is not called back at once). A
// paused contact stays paused.
func (r *redialer) lost(contact string, now time.Time) {
	r.mu.Lock()
	st := r.state(contact)
	st.attempt = 0
	st.due = now.Add(backoff(r.lo(), r.hi(), 0, r.rand()))
	r.mu.Unlock()
	r.poke()
}

// pause stops the automatic dials of contact until resume (or connected);
// it reports whether the pause is new, for the caller to emit
// [ReconnectPaused] once per pause.
func (r *redialer) pause(contact string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state(contact)
	was := st.paused
	st.paused = true
	return !was
}

// resume ends a pause of contact, which is then due at once; it reports
// whether contact was paused.
func (r *redialer) resume(contact string) bool {
	r.mu.Lock()
	st := r.st[contact]
	was := st != nil && st.paused
	if was {
		*st = redialState{}
	}
	r.mu.Unlock()
	if was {
		r.poke()
	}
	return was
}

// isPaused reports a pause of contact.
func (r *redialer) isPaused(contact string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st[contact]
	return st != nil && st.paused
}

// now: dial everyone due at once (start, network back).
func (r *redialer) resetAll() {
	r.mu.Lock()
	for _, st := range r.st {
		st.due = time.Time{}
	}
	r.mu.Unlock()
	r.poke()
}

func (r *redialer) lo() time.Duration {
	if r.s.cfg.ReconnectMin > 0 {
		return r.s.cfg.ReconnectMin
	}
	return DefaultReconnectMin
}

func (r *redialer) hi() time.Duration {
	if r.s.cfg.ReconnectMax > 0 {
		return r.s.cfg.ReconnectMax
	}
	return max(DefaultReconnectMax, r.lo())
}

// tick dials every contact that is due and has no link, and returns when
// the next one is due (zero: none).
func (r *redialer) tick(now time.Time, contacts []history.Contact, busy func(string) bool) (next time.Time) {
	var dial []history.Contact
	var events []Event
	r.mu.Lock()
	if !r.on {
		r.mu.Unlock()
		return time.Time{}
	}
	for _, c := range contacts {
		if len(c.Addrs) == 0 || busy(c.ID) {
			continue
		}
		st := r.state(c.ID)
		if st.paused {
			continue
		}
		if st.due.After(now) {
			if next.IsZero() || st.due.Before(next) {
				next = st.due
			}
			continue
		}
		st.due = now.Add(backoff(r.lo(), r.hi(), st.attempt, r.rand()))
		st.attempt++
		if next.IsZero() || st.due.Before(next) {
			next = st.due
		}
		dial = append(dial, c)
		events = append(events, Reconnecting{Contact: c.ID, At: st.due, Attempt: st.attempt})
	}
	r.mu.Unlock()
	for i, c := range dial {
		r.s.emit(events[i])
		r.dial(c)
	}
	return next
}

// netChanged reports a local address that was not there at the last poll.
func (r *redialer) netChanged() bool {
	addrs := r.addrs()
	slices.Sort(addrs)
	r.mu.Lock()
	defer r.mu.Unlock()
	fresh := false
	for _, a := range addrs {
		if _, found := slices.BinarySearch(r.known, a); !found {
			fresh = true
		}
	}
	r.known = addrs
	return fresh
}

func (r *redialer) loop() {
	defer r.s.wg.Done()
	_ = r.netChanged()
	poll := time.NewTicker(netPollInterval)
	defer poll.Stop()
	for {
		var contacts []history.Contact
		if st := r.s.cfg.Store; st != nil && r.s.cfg.Greeting == nil {
			contacts = st.Contacts()
		}
		next := r.tick(r.s.cfg.Now(), contacts, r.s.busyWith)
		var (
			timer <-chan time.Time
			t     *time.Timer
		)
		if !next.IsZero() {
			t = time.NewTimer(max(next.Sub(r.s.cfg.Now()), time.Millisecond))
			timer = t.C
		}
		select {
		case <-r.s.quit:
		case <-r.wake:
		case <-timer:
		case <-poll.C:
			if r.netChanged() {
				r.resetAll()
			}
		}
		if t != nil {
			t.Stop()
		}
		select {
		case <-r.s.quit:
			return
		default:
		}
	}
}

// SetAutoReconnect turns the reconnect loop on or off. On, every contact
// with an address and no link is dialed at once, then with backoff.
func (s *Session) SetAutoReconnect(on bool) {
	r := &s.redial
	r.mu.Lock()
	r.on = on
	start := on && !r.runs
	if on {
		for _, st := range r.st {
			st.due = time.Time{}
		}
	}
	s.mu.Lock()
	closed := s.closed
	if start && !closed {
		r.runs = true
		s.wg.Add(1)
		go r.loop()
	}
	s.mu.Unlock()
	r.mu.Unlock()
	r.poke()
}

// ReconnectNow dials contact at once and resets its backoff; it ends a
// pause.
func (s *Session) ReconnectNow(contact string) error {
	st := s.cfg.Store
	if st == nil || s.cfg.Greeting != nil {
		return ErrNoContact
	}
	c, ok := st.Contact(contact)
	if !ok || len(c.Addrs) == 0 {
		return ErrNoContact
	}
	r := &s.redial
	r.mu.Lock()
	*r.state(contact) = redialState{}
	on := r.on
	r.mu.Unlock()
	if on {
		r.poke() // the loop dials it now, and schedules the next try
		return nil
	}
	if !s.busyWith(contact) {
		s.dialContact(c)
	}
	return nil
}

// busyWith reports a link of contact: authenticated, or being dialed.
func (s *Session) busyWith(contact string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byContact[contact] != nil {
		return true
	}
	for _, l := range s.links {
		if l.initiator && l.contact == contact {
			return true
		}
	}
	return false
}

// dialContact dials a contact at its addresses, newest first.
func (s *Session) dialContact(c history.Contact) {
	if _, err := s.DialTarget(Target{Contact: c.ID, Addrs: c.Addrs}); err != nil {
		// ErrAlreadyConnected or closed: nothing to do; a bad address is
		// the contact's record, not news.
		return
	}
}
