// Package session is the controller of a SecureChat conversation: it owns
// the socket, runs the handshake, speaks the chat protocol (text, ack, ping,
// bye), pins partner keys and writes the history. Front ends give it
// commands and read its [Event]s; it never imports a UI toolkit.
package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transport"
)

// Defaults for [Config].
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultPingInterval     = 15 * time.Second
	DefaultPingTimeout      = 40 * time.Second // a dead partner is noticed within 45 s
	DefaultAcceptTimeout    = 5 * time.Minute
	maxQueue                = 4096
)

// Reasons shown to the user. "Partner has disconnected" is the paper's.
const (
	ReasonPartnerLeft = "Partner has disconnected"
	ReasonWeLeft      = "You left the chat"
)

// Errors front ends tell apart.
var (
	// ErrNotConnected: there is no partner to send to right now.
	ErrNotConnected = errors.New("session: not connected to a partner")
	// ErrClosed: the controller has been closed.
	ErrClosed = errors.New("session: closed")
	// ErrUnknownMessage: Retry was given an id that has not failed.
	ErrUnknownMessage = errors.New("session: no failed message with that id")
	// ErrNoRequest: Accept or Decline without a pending partner request.
	ErrNoRequest = errors.New("session: no partner is waiting to be accepted")
	// ErrBusy: Dial while a conversation is running.
	ErrBusy = errors.New("session: already in a conversation")
)

// Store is what the controller needs of the profile vault: contacts keyed
// by key, the invites we made, and the history. [*history.Vault]
// implements it.
type Store interface {
	Contact(id string) (history.Contact, bool)
	Contacts() []history.Contact
	SaveContact(c history.Contact) error
	DeleteContact(id string) error
	Invites() []history.Invite
	UseInvite(id string, now time.Time) error
	BeginConversation(m history.ConversationMeta) (history.Writer, error)
}

// Config sets up a controller. It is not modified.
type Config struct {
	Identity *scrypto.Identity // required unless Plaintext
	Name     string            // our display name
	Store    Store             // nil: no contacts, nothing saved
	// OnlyContacts: as a host, admit only contacts and invitees; anyone
	// else is refused before we reveal our identity.
	OnlyContacts bool
	// Plaintext runs the paper's unencrypted demonstration protocol: no
	// handshake, no encryption, no history. It cannot talk to a secure peer.
	Plaintext bool
	Random    io.Reader // nil: crypto/rand

	// answerAnyInvite makes a host skip the invite check, as an attacker
	// who answers at an invite's address would (tests only).
	answerAnyInvite bool

	HandshakeTimeout time.Duration // 0: DefaultHandshakeTimeout
	PingInterval     time.Duration // 0: DefaultPingInterval
	PingTimeout      time.Duration // 0: DefaultPingTimeout
	AcceptTimeout    time.Duration // 0: DefaultAcceptTimeout
	Now              func() time.Time
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.Random == nil {
		out.Random = rand.Reader
	}
	if out.HandshakeTimeout == 0 {
		out.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if out.PingInterval == 0 {
		out.PingInterval = DefaultPingInterval
	}
	if out.PingTimeout == 0 {
		out.PingTimeout = DefaultPingTimeout
	}
	if out.AcceptTimeout == 0 {
		out.AcceptTimeout = DefaultAcceptTimeout
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Name == "" && out.Plaintext {
		out.Name = "plaintext"
	}
	return out
}

// Session is a controller: a host listening for partners one at a time, or
// the connecting side. It implements [Controller].
type Session struct {
	cfg    Config
	host   bool
	events chan Event
	quit   chan struct{}
	wg     sync.WaitGroup
	ln     *transport.Listener

	emitMu   sync.Mutex // serialises emit with closing the channel
	finished bool

	mu     sync.Mutex
	closed bool
	link   *link // the conversation: a dialed link, or a host's link once its handshake is done
	// pending are a host's connections still in the handshake. They do not
	// hold the conversation's place: a flood of half-open connections
	// cannot keep a partner out. They are bounded per source address and
	// in total.
	pending     map[*link]string // -> source address (host part)
	pendingFrom map[string]int
	failed      map[string]*outgoing
	seen        map[string]*seenSet // partner fingerprint -> recently received ids
	nonce       uint64
}

// outgoing is a message of ours that has not been acknowledged.
type outgoing struct {
	id      [IDSize]byte
	text    string
	time    time.Time
	partner string // fingerprint of the partner it was for ("" before any)
	queued  bool   // Retry asked for it while disconnected
}

func newSession(cfg Config, host bool) (*Session, error) {
	c := cfg.withDefaults()
	if !c.Plaintext {
		if c.Identity == nil {
			return nil, errors.New("session: an identity is required")
		}
		if err := scrypto.CheckName(c.Name); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return &Session{
		cfg:     c,
		host:    host,
		events:  make(chan Event, 1024),
		quit:    make(chan struct{}),
		failed:  map[string]*outgoing{},
		pending: map[*link]string{}, pendingFrom: map[string]int{},
		seen: map[string]*seenSet{},
	}, nil
}

// Host listens on listenAddr (":9999", "0.0.0.0:9999", "[::]:9999", a bare
// port) and serves one partner at a time until Close. A caller who arrives
// while a conversation runs is told "busy".
func Host(cfg Config, listenAddr string) (*Session, error) {
	s, err := newSession(cfg, true)
	if err != nil {
		return nil, err
	}
	ln, err := transport.Listen(listenAddr)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s.ln = ln
	port := 0
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		port = ta.Port
	}
	s.emit(Event{Kind: EventListening, Addr: ln.Addr().String(), Addrs: transport.LocalAddrs(port)})
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Connect dials addr ("host", "host:port"; the port defaults to 9999) in the
// background. After a disconnect, [Session.Dial] connects again.
func Connect(cfg Config, addr string) (*Session, error) {
	return ConnectTarget(cfg, Target{Addrs: []string{addr}})
}

// ConnectTarget dials a contact or an invite's inviter in the background.
func ConnectTarget(cfg Config, t Target) (*Session, error) {
	s, err := newSession(cfg, false)
	if err != nil {
		return nil, err
	}
	if err := s.DialTarget(t); err != nil {
		return nil, err
	}
	return s, nil
}

// Events delivers the controller's news until EventClosed; the channel is
// then closed.
func (s *Session) Events() <-chan Event { return s.events }

// emit delivers an event. It never blocks past Close.
func (s *Session) emit(e Event) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.finished {
		return
	}
	select {
	case s.events <- e:
	case <-s.quit:
		// Closing: deliver if there is room, drop otherwise.
		select {
		case s.events <- e:
		default:
		}
	}
}

// emitNow emits the event mk returns, only if that cannot block: nobody
// else is emitting and the channel has room. Otherwise it returns false
// without calling mk. mk runs with the emit lock held, so that the room it
// found is still there; it must be quick, and may return nil to emit
// nothing.
func (s *Session) emitNow(mk func() *Event) bool {
	if !s.emitMu.TryLock() {
		return false
	}
	defer s.emitMu.Unlock()
	if !s.finished && len(s.events) == cap(s.events) {
		return false
	}
	if e := mk(); e != nil && !s.finished {
		s.events <- *e
	}
	return true
}

func (s *Session) role() string {
	if s.host {
		return "host"
	}
	return "connect"
}

func (s *Session) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return
			default:
			}
			s.emit(Event{Kind: EventError, Err: fmt.Errorf("session: failed to accept a connection: %w", err)})
			select {
			case <-time.After(200 * time.Millisecond):
			case <-s.quit:
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed || s.link != nil {
			s.mu.Unlock()
			s.wg.Add(1)
			go s.turnAway(conn)
			continue
		}
		src := sourceHost(conn.RemoteAddr())
		if s.pendingFrom[src] >= MaxHandshakesPerSource || len(s.pending) >= MaxHandshakes {
			// Too many half-open connections: drop this one at once,
			// without spending a handshake on it.
			s.mu.Unlock()
			_ = conn.Close()
			continue
		}
		l := s.newLink(conn, conn.RemoteAddr(), false)
		s.pending[l] = src
		s.pendingFrom[src]++
		s.mu.Unlock()
		s.wg.Add(1)
		go l.run(nil)
	}
}

// turnAway tells a second caller that we are busy, without disturbing the
// conversation in progress.
func (s *Session) turnAway(conn *transport.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	conn.WriteTimeout = 2 * time.Second
	reason := "busy: the host is already in a chat; try again later"
	_ = conn.WriteFrame(scrypto.MarshalAlert(scrypto.Alert{Code: scrypto.AlertBusy, Reason: reason}))
	_ = conn.CloseWrite()
	s.emit(Event{Kind: EventTurnedAway, Addr: conn.RemoteAddr(), Reason: "busy"})
	// Give the caller a moment to read the alert before the reset.
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = conn.ReadFrame()
}

// Dial connects to addr; only for the connecting side, and only while no
// conversation runs. A contact reached at addr before must answer with its
// key.
func (s *Session) Dial(addr string) error {
	return s.DialTarget(Target{Addrs: []string{addr}})
}

// DialTarget connects to t: its addresses in order, expecting the key of
// its contact or invite.
func (s *Session) DialTarget(t Target) error {
	if s.host {
		return errors.New("session: a host does not dial")
	}
	addrs, err := normalizeAll(t.Addrs)
	if err != nil {
		return err
	}
	t.Addrs = addrs
	exp, err := s.expect(t)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.link != nil {
		return ErrBusy
	}
	l := s.newLink(nil, addrs[0], true)
	l.expect = exp
	s.link = l
	s.wg.Add(1)
	go l.run(func(ctx context.Context) (*transport.Conn, error) {
		var last error
		for _, a := range addrs {
			dctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
			conn, err := transport.Dial(dctx, a)
			cancel()
			if err == nil {
				l.mu.Lock()
				l.addr = a
				l.mu.Unlock()
				return conn, nil
			}
			last = err
			if ctx.Err() != nil {
				break
			}
		}
		return nil, last
	})
	return nil
}

// newID returns a fresh random message id.
func (s *Session) newID() ([IDSize]byte, error) {
	var id [IDSize]byte
	if _, err := io.ReadFull(s.cfg.Random, id[:]); err != nil {
		return id, fmt.Errorf("session: failed to read randomness: %w", err)
	}
	return id, nil
}

// Send queues text for the partner and returns the message id. The
// EventMessage for it follows once it is on the wire.
func (s *Session) Send(text string) (string, error) {
	if err := checkText(text); err != nil {
		return "", err
	}
	s.mu.Lock()
	l := s.link
	s.mu.Unlock()
	if l == nil || !l.isConnected() {
		return "", ErrNotConnected
	}
	id, err := s.newID()
	if err != nil {
		return "", err
	}
	o := &outgoing{id: id, text: text, time: s.cfg.Now(), partner: l.fingerprint}
	if err := l.sendText(o, true); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}

// Retry sends a failed message again with the same id, on the current
// connection, or on the next one with the same partner.
func (s *Session) Retry(id string) error {
	s.mu.Lock()
	o, ok := s.failed[id]
	if !ok {
		s.mu.Unlock()
		return ErrUnknownMessage
	}
	l := s.link
	if l == nil || !l.isConnected() {
		o.queued = true
		s.mu.Unlock()
		return nil
	}
	if o.partner != "" && o.partner != l.fingerprint {
		s.mu.Unlock()
		return errors.New("session: that message was for another partner")
	}
	delete(s.failed, id)
	s.mu.Unlock()
	return l.sendText(o, false)
}

// resendQueued sends the retries waiting for this partner.
func (s *Session) resendQueued(l *link) {
	s.mu.Lock()
	var todo []*outgoing
	for id, o := range s.failed {
		if o.queued && (o.partner == "" || o.partner == l.fingerprint) {
			todo = append(todo, o)
			delete(s.failed, id)
		}
	}
	s.mu.Unlock()
	for _, o := range todo {
		o.queued = false
		if err := l.sendText(o, false); err != nil {
			s.fail(o, err.Error())
		}
	}
}

// fail reports a message as not delivered and keeps it for Retry.
func (s *Session) fail(o *outgoing, reason string) {
	id := hex.EncodeToString(o.id[:])
	s.mu.Lock()
	s.failed[id] = o
	s.mu.Unlock()
	s.emit(Event{Kind: EventFailed, ID: id, Reason: reason})
}

// markSeen records a received id and reports whether it was new.
func (s *Session) markSeen(partner, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.seen[partner]
	if m == nil {
		m = newSeenSet()
		s.seen[partner] = m
	}
	return m.add(id)
}

func (s *Session) nextNonce() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonce++
	return s.nonce
}

func (s *Session) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link
}

// Accept lets the pending partner in.
func (s *Session) Accept() error {
	l := s.current()
	if l == nil {
		return ErrNoRequest
	}
	return l.accept()
}

// Decline turns the pending partner away.
func (s *Session) Decline() error {
	l := s.current()
	if l == nil {
		return ErrNoRequest
	}
	return l.decline()
}

// MarkVerified records that the user compared safety numbers with the
// current partner.
func (s *Session) MarkVerified() error {
	l := s.current()
	if l == nil || !l.hasPartner() {
		return ErrNotConnected
	}
	st := s.cfg.Store
	if st == nil {
		return errors.New("session: no profile to remember the verification in")
	}
	p := l.partnerCopy()
	c, ok := st.Contact(p.Fingerprint)
	if !ok {
		c = history.Contact{ID: p.Fingerprint, Key: l.peerKey, Name: p.Name, TheirName: p.Name, FirstSeen: s.cfg.Now(), LastSeen: s.cfg.Now()}
	}
	c.Verified = true
	if err := st.SaveContact(c); err != nil && !errors.Is(err, history.ErrNotDurable) {
		return fmt.Errorf("session: failed to save verification: %w", err)
	}
	l.setTrust(TrustVerified)
	return nil
}

// Disconnect says goodbye to the current partner. A host keeps listening.
func (s *Session) Disconnect() error {
	l := s.current()
	if l == nil {
		return ErrNotConnected
	}
	l.leave(ReasonWeLeft)
	return nil
}

// Close says goodbye to any partner, stops listening, waits for every
// goroutine of the controller to end, and emits EventClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	l := s.link
	pending := make([]*link, 0, len(s.pending))
	for p := range s.pending {
		pending = append(pending, p)
	}
	s.mu.Unlock()
	for _, p := range pending {
		p.abort()
	}
	if l != nil {
		l.leave(ReasonWeLeft)
		select {
		case <-l.finished:
		case <-time.After(3 * time.Second):
		}
	}
	close(s.quit)
	if s.ln != nil {
		_ = s.ln.Close()
	}
	if l != nil {
		l.abort()
	}
	s.wg.Wait()
	s.emit(Event{Kind: EventClosed})
	s.emitMu.Lock()
	s.finished = true
	close(s.events)
	s.emitMu.Unlock()
	return nil
}

// Limits on a host's connections still in the handshake.
const (
	// MaxHandshakesPerSource bounds the handshakes in progress from one
	// source address.
	MaxHandshakesPerSource = 4
	// MaxHandshakes bounds the handshakes in progress in all.
	MaxHandshakes = 32
)

// sourceHost is the host part of a remote address, which the per-source
// limit counts.
func sourceHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// handshakeDone releases a host's handshake slot and, when ok, gives the
// link the conversation's place if it is free. It reports whether the
// link may go on.
func (s *Session) handshakeDone(l *link, ok bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, was := s.pending[l]; was {
		delete(s.pending, l)
		if s.pendingFrom[src]--; s.pendingFrom[src] <= 0 {
			delete(s.pendingFrom, src)
		}
	}
	if !ok || s.closed || (s.link != nil && s.link != l) {
		return false
	}
	s.link = l
	return true
}

// linkEnded clears the current link once its reader has stopped.
func (s *Session) linkEnded(l *link) {
	s.mu.Lock()
	if s.link == l {
		s.link = nil
	}
	s.mu.Unlock()
}

var _ Controller = (*Session)(nil)
