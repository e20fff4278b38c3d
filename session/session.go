// Package session is the controller of SecureChat's conversations: it owns
// one optional listener and many links (one per connected contact), runs
// the handshakes, speaks the chat protocol (text, ack, ping, bye), pins
// partner keys and writes the history. Front ends give it
// commands and read its [Event]s; it never imports a UI toolkit.
package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/transfer"
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

// Errors front ends tell apart.
var (
	// ErrNotConnected: there is no connected link with that contact.
	ErrNotConnected = errors.New("session: not connected to that contact")
	// ErrClosed: the controller has been closed.
	ErrClosed = errors.New("session: closed")
	// ErrUnknownMessage: CancelMessage of an id that is not in the
	// contact's outbox.
	ErrUnknownMessage = history.ErrUnknownMessage
	// ErrAlreadyDelivered: CancelMessage of a message the contact has.
	ErrAlreadyDelivered = history.ErrAlreadyDelivered
	// ErrNoContact: Send or ReconnectNow for a key that is not a contact.
	ErrNoContact = errors.New("session: not a contact")
	// ErrNoRequest: Accept or Decline without a pending request of that key.
	ErrNoRequest = errors.New("session: no request of that contact is waiting to be accepted")
	// ErrAlreadyConnected: DialTarget for a contact that has a connected link.
	ErrAlreadyConnected = errors.New("session: already connected to that contact")
	// ErrListening: Listen while a listener runs.
	ErrListening = errors.New("session: already listening")
	// ErrNotListening: StopListening without a listener.
	ErrNotListening = errors.New("session: not listening")
	// ErrPortInUse: Listen on a port another program holds.
	ErrPortInUse = errors.New("session: the port is used by another program")
	// ErrNoLink: Cancel of a link that is not there (any more).
	ErrNoLink = errors.New("session: no such link")
	// ErrLinkConnected: Cancel of a connected link; Disconnect ends it.
	ErrLinkConnected = errors.New("session: the link is connected; disconnect instead")
)

// Store is what the controller needs of the profile vault: contacts keyed
// by key, the invites we made, and the history. [*history.Vault]
// implements it.
type Store interface {
	Contact(id string) (profile.Contact, bool)
	Contacts() []profile.Contact
	SaveContact(c profile.Contact) error
	DeleteContact(id string) error
	Invites() []profile.Invite
	UseInvite(id string, now time.Time) error
	BeginConversation(m history.ConversationMeta) (history.Writer, error)
	outbox
}

// outbox is the durable outbox and the received ids of the history
// (docs/HISTORY-FORMAT.md); without a profile the controller keeps them in
// memory.
type outbox interface {
	// QueueMessage writes m as queued and calls durable once it is
	// fsynced (from another goroutine; it must not block).
	QueueMessage(contact string, m history.OutboxMessage, durable func(error))
	// Outbox lists the queued messages, oldest first.
	Outbox(contact string) []history.OutboxMessage
	// MarkDelivered records an ack durably.
	MarkDelivered(contact, id string) error
	// CancelQueued records a cancel durably.
	CancelQueued(contact, id string) error
	// Received reports an incoming id durably in the history.
	Received(contact, id string) bool
}

// Files is what the controller needs of the file transfers
// (*transfer.Engine): it hands each connected link to it and passes on the
// file messages (docs/PROTOCOL.md section 12) that arrive on the link.
type Files interface {
	// Connected: a link of contact is connected (both Accepts were
	// exchanged); l carries file messages until Disconnected.
	Connected(contact string, l transfer.Link)
	// Disconnected: l is gone.
	Disconnected(contact string, l transfer.Link)
	// Handle takes one well-formed file message that arrived on l. It is
	// called on the link's reader goroutine and must not block for long.
	Handle(contact string, l transfer.Link, m filexfer.Message)
}

// Config sets up a controller. It is not modified.
type Config struct {
	Identity *scrypto.Identity // required unless Greeting
	Name     string            // our display name
	Store    Store             // nil: no contacts, nothing saved
	// OnlyContacts: as a host, admit only contacts and invitees; anyone
	// else is refused before we reveal our identity.
	OnlyContacts bool
	// Greeting, when set, stands in for the secure handshake on every
	// link: the terminal's unencrypted demonstration. There are then no
	// keys, no contacts and no history; a partner's contact id is "addr "
	// and its address.
	Greeting Greeting
	Random   io.Reader // nil: crypto/rand
	// OnionDialer and TorOnly set Tor mode from the start, as
	// [Session.SetOnionDialer] does at run time.
	OnionDialer OnionDialer
	TorOnly     bool
	// Files carries file transfers over the links: a *transfer.Engine.
	// Nil: a partner's file messages are checked and dropped.
	Files Files

	// answerAnyInvite makes a host skip the invite check, as an attacker
	// who answers at an invite's address would (tests only).
	answerAnyInvite bool

	HandshakeTimeout time.Duration // 0: DefaultHandshakeTimeout
	PingInterval     time.Duration // 0: DefaultPingInterval
	PingTimeout      time.Duration // 0: DefaultPingTimeout
	AcceptTimeout    time.Duration // 0: DefaultAcceptTimeout
	// The reconnect loop's backoff (SetAutoReconnect): from ReconnectMin
	// doubling up to ReconnectMax, with jitter. 0: the defaults.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	Now          func() time.Time
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
	return out
}

// Limits on a host's connections.
const (
	// MaxHandshakesPerSource bounds the handshakes in progress from one
	// source address.
	MaxHandshakesPerSource = 4
	// MaxHandshakes bounds the handshakes in progress in all.
	MaxHandshakes = 32
	// MaxRequests bounds the incoming requests of new or changed keys
	// waiting for the user; more are turned away "busy".
	MaxRequests = 8
)

// Session is a controller: one optional listener and many links, at most
// one connected link per contact. It implements [Controller].
type Session struct {
	cfg          Config
	onlyContacts atomic.Bool
	tor          atomic.Pointer[torDialing] // Tor mode's dialer; nil: off
	events       chan Event
	quit         chan struct{}
	wg           sync.WaitGroup

	emitMu   sync.Mutex // serialises emit with closing the channel
	finished bool

	mu       sync.Mutex
	closed   bool
	ln       *transport.Listener
	lnDone   chan struct{} // closed when the accept loop of ln has stopped
	nextLink LinkID
	links    map[LinkID]*link // every link not yet cleaned up
	// byContact is the authenticated link of each key: deciding or connected.
	byContact map[string]*link
	// pending are incoming connections still in the handshake. They hold
	// no chat's place: a flood of half-open connections cannot keep a
	// partner out. They are bounded per source address and in total.
	pending     map[*link]string // -> source address (host part)
	pendingFrom map[string]int
	nonce       uint64

	box    outbox // cfg.Store, or a memory outbox without one
	self   string // our key's fingerprint ("" with a greeting)
	epoch  [epochSize]byte
	out    outState
	worker worker // follow-ups of durable writes, in order
	acker  worker // recording acks
	acks   ackQueue
	redial redialer
}

// outgoing is a message of ours that has not been acknowledged.
type outgoing struct {
	id      [IDSize]byte
	text    string
	time    time.Time
	partner string // fingerprint of the contact it is for
}

// New makes a controller with no listener and no link.
func New(cfg Config) (*Session, error) {
	c := cfg.withDefaults()
	if e, ok := c.Files.(*transfer.Engine); ok && e == nil {
		c.Files = nil
	}
	if c.Greeting != nil {
		c.Files = nil // the unencrypted demonstration carries no files
	}
	if c.Greeting == nil {
		if c.Identity == nil {
			return nil, errors.New("session: an identity is required")
		}
		if err := scrypto.CheckName(c.Name); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	s := &Session{
		cfg:       c,
		events:    make(chan Event, 1024),
		quit:      make(chan struct{}),
		links:     map[LinkID]*link{},
		byContact: map[string]*link{},
		pending:   map[*link]string{}, pendingFrom: map[string]int{},
	}
	if c.Store != nil && c.Greeting == nil {
		s.box = c.Store
	} else {
		s.box = newMemOutbox()
	}
	if c.Greeting == nil {
		s.self = c.Identity.Public().Fingerprint()
	}
	if _, err := io.ReadFull(c.Random, s.epoch[:]); err != nil {
		return nil, fmt.Errorf("session: failed to read randomness: %w", err)
	}
	if c.OnionDialer != nil {
		s.SetOnionDialer(c.OnionDialer, c.TorOnly)
	}
	s.out.init()
	s.worker.init()
	s.acker.init()
	s.redial.init(s)
	s.wg.Add(2)
	go s.worker.run(&s.wg, s.quit)
	go s.acker.run(&s.wg, s.quit)
	s.onlyContacts.Store(c.OnlyContacts)
	return s, nil
}

// Host is [New] and [Session.Listen] on listenAddr (":9999",
// "0.0.0.0:9999", "[::]:9999", a bare port).
func Host(cfg Config, listenAddr string) (*Session, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(listenAddr); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Connect dials addr ("host", "host:port"; the port defaults to 9999) in the
// background: [ConnectTarget] with that one address.
func Connect(cfg Config, addr string) (*Session, error) {
	return ConnectTarget(cfg, Target{Addrs: []string{addr}})
}

// ConnectTarget is [New] and [Session.DialTarget] of t.
func ConnectTarget(cfg Config, t Target) (*Session, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := s.DialTarget(t); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Events delivers the controller's news until [Closed]; the channel is
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
func (s *Session) emitNow(mk func() Event) bool {
	if !s.emitMu.TryLock() {
		return false
	}
	defer s.emitMu.Unlock()
	if !s.finished && len(s.events) == cap(s.events) {
		return false
	}
	if e := mk(); e != nil && !s.finished {
		s.events <- e
	}
	return true
}

// Listen starts accepting partners on addr. Chats in progress go on.
func (s *Session) Listen(addr string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.ln != nil {
		s.mu.Unlock()
		return ErrListening
	}
	ln, err := transport.Listen(addr)
	if err != nil {
		s.mu.Unlock()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %w", ErrPortInUse, err)
		}
		return fmt.Errorf("session: %w", err)
	}
	s.ln = ln
	done, ready := make(chan struct{}), make(chan struct{})
	s.lnDone = done
	s.wg.Add(1)
	go s.acceptLoop(ln, ready, done)
	s.mu.Unlock()
	var addrs []string
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		// This computer only (Tor-only mode's listener): no other address
		// reaches it.
		addrs = []string{ln.Addr().String()}
	} else if ok {
		addrs = transport.LocalAddrs(ta.Port)
	}
	// The accept loop starts once the Listening event is out: it comes
	// before anything the listener brings.
	s.emit(Listening{Addr: ln.Addr().String(), Addrs: addrs})
	close(ready)
	return nil
}

// StopListening closes the listener; links go on. [ListenStopped] follows.
func (s *Session) StopListening() error {
	s.mu.Lock()
	ln, done := s.ln, s.lnDone
	s.ln, s.lnDone = nil, nil
	closed := s.closed
	s.mu.Unlock()
	if ln == nil {
		if closed {
			return ErrClosed
		}
		return ErrNotListening
	}
	_ = ln.Close()
	<-done
	s.emit(ListenStopped{})
	return nil
}

// SetOnlyContacts changes admission at run time: when on, a host admits
// only contacts and invitees, and refuses anyone else before revealing
// its identity.
func (s *Session) SetOnlyContacts(on bool) { s.onlyContacts.Store(on) }

func (s *Session) acceptLoop(ln *transport.Listener, ready <-chan struct{}, done chan struct{}) {
	defer s.wg.Done()
	defer close(done)
	<-ready
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.quit:
				return
			default:
			}
			s.emit(Problem{Err: fmt.Errorf("session: failed to accept a connection: %w", err)})
			select {
			case <-time.After(200 * time.Millisecond):
			case <-s.quit:
				return
			}
			continue
		}
		s.mu.Lock()
		src := sourceHost(conn.RemoteAddr())
		perSource := MaxHandshakesPerSource
		if s.fromOurTor(src) {
			// Our onion service's callers all come from our tor on this
			// computer: one source for everyone who reaches us through
			// Tor, so the per-source bound would let four slow callers
			// keep every Tor contact out.
			perSource = MaxHandshakes
		}
		if s.closed || s.pendingFrom[src] >= perSource || len(s.pending) >= MaxHandshakes {
			// Too many half-open connections: drop this one at once,
			// without spending a handshake on it.
			s.mu.Unlock()
			_ = conn.Close()
			continue
		}
		l := s.newLinkLocked(conn, conn.RemoteAddr(), false)
		s.pending[l] = src
		s.pendingFrom[src]++
		s.mu.Unlock()
		s.wg.Add(1)
		go l.run(nil)
	}
}

// Dial connects to addr: [Session.DialTarget] with that one address. A
// contact reached at addr before must answer with its key.
func (s *Session) Dial(addr string) (LinkID, error) {
	return s.DialTarget(Target{Addrs: []string{addr}})
}

// DialTarget connects to t in the background: its addresses in order,
// expecting the key of its contact or invite. It returns the new link.
func (s *Session) DialTarget(t Target) (LinkID, error) {
	addrs, err := normalizeAll(t.Addrs)
	if err != nil {
		return 0, err
	}
	addrs = orderForDial(addrs)
	t.Addrs = addrs
	exp, err := s.expect(t)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if t.Contact != "" {
		if old := s.byContact[t.Contact]; old != nil && old.isConnected() {
			return 0, ErrAlreadyConnected
		}
	}
	l := s.newLinkLocked(nil, addrs[0], true)
	l.expect = exp
	if exp.invite {
		l.inviteAddrs = addrs
	}
	l.contact = t.Contact
	if l.contact == "" {
		l.contact = t.InviteKey
	}
	s.wg.Add(1)
	go l.run(func(ctx context.Context) (*transport.Conn, error) {
		var last error
		for _, a := range addrs {
			conn, err := s.dialOne(ctx, a)
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
	return l.id, nil
}

// Cancel drops a link that is not connected yet: a dial, a handshake, or
// a request. [Ended] with [EndCancelled] follows.
func (s *Session) Cancel(id LinkID) error {
	s.mu.Lock()
	l := s.links[id]
	s.mu.Unlock()
	if l == nil {
		return ErrNoLink
	}
	l.mu.Lock()
	state := l.m.state
	l.mu.Unlock()
	switch state {
	case linkConnected:
		return ErrLinkConnected
	case linkDeciding:
		l.mu.Lock()
		if l.acceptTimer != nil {
			l.acceptTimer.Stop()
		}
		l.mu.Unlock()
		l.leave(EndCancelled)
	default:
		l.end(EndCancelled, nil)
	}
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

// linkOf returns the authenticated link of contact, or nil.
func (s *Session) linkOf(contact string) *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byContact[contact]
}

func (s *Session) nextNonce() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonce++
	return s.nonce
}

// Accept lets the pending request of contact's key in.
func (s *Session) Accept(contact string) error {
	l := s.linkOf(contact)
	if l == nil {
		return ErrNoRequest
	}
	return l.accept()
}

// Decline turns the pending request of contact's key away.
func (s *Session) Decline(contact string) error {
	l := s.linkOf(contact)
	if l == nil {
		return ErrNoRequest
	}
	return l.decline()
}

// MarkVerified records that the user compared safety numbers with
// contact: connected, waiting for a decision, or a known contact.
func (s *Session) MarkVerified(contact string) error {
	st := s.cfg.Store
	l := s.linkOf(contact)
	var c profile.Contact
	known := false
	if st != nil {
		c, known = st.Contact(contact)
	}
	if (l == nil || !l.hasPartner()) && !known {
		return ErrNotConnected
	}
	if st == nil {
		return errors.New("session: no profile to remember the verification in")
	}
	if !known {
		p := l.partnerCopy()
		c = profile.Contact{ID: p.Fingerprint, Key: l.peerKey, Name: p.Name, TheirName: p.Name, FirstSeen: s.cfg.Now(), LastSeen: s.cfg.Now()}
	}
	c.Verified = true
	if err := st.SaveContact(c); err != nil && !errors.Is(err, history.ErrNotDurable) {
		return fmt.Errorf("session: failed to save verification: %w", err)
	}
	if l != nil {
		l.setTrust(TrustVerified)
	}
	return nil
}

// Disconnect says goodbye to contact's link and pauses the automatic
// reconnects to contact until one side reaches out again ([ReconnectPaused]
// follows, from the worker: the caller may be the one reading events).
// Other links and the listener go on.
func (s *Session) Disconnect(contact string) error {
	l := s.linkOf(contact)
	if l == nil {
		return ErrNotConnected
	}
	// The goodbye first: a link that connects at this moment sees that it
	// is leaving and keeps the pause (redialer.connected).
	l.leave(EndWeLeft)
	if s.redial.pause(contact) {
		s.worker.post(func() { s.emit(ReconnectPaused{Contact: contact}) })
	}
	return nil
}

// Close says goodbye to every partner, stops listening, waits for every
// goroutine of the controller to end, and emits [Closed].
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := make([]*link, 0, len(s.links))
	for _, l := range s.links {
		all = append(all, l)
	}
	ln, lnDone := s.ln, s.lnDone
	s.ln, s.lnDone = nil, nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
		<-lnDone
		s.emit(ListenStopped{})
	}
	for _, l := range all {
		l.leave(EndWeLeft)
	}
	deadline := time.After(3 * time.Second)
wait:
	for _, l := range all {
		select {
		case <-l.finished:
		case <-deadline:
			break wait
		}
	}
	close(s.quit)
	for _, l := range all {
		l.abort()
	}
	s.wg.Wait()
	s.emit(Closed{})
	s.emitMu.Lock()
	s.finished = true
	close(s.events)
	s.emitMu.Unlock()
	return nil
}

// sourceHost is the host part of a remote address, which the per-source
// limit counts.
func sourceHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// handshakeDone releases an incoming link's handshake slot. With ok, the
// authenticated link takes its key's place: a link of the same key that
// was there is returned as replaced, to be ended. lost reports that l
// loses the tie-break of a simultaneous dial (see [keep]) to replaced,
// which stays. busy reports that the link must be turned away: too many
// requests wait for the user.
func (s *Session) handshakeDone(l *link, ok bool) (replaced *link, busy, goOn, lost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, was := s.pending[l]; was {
		delete(s.pending, l)
		if s.pendingFrom[src]--; s.pendingFrom[src] <= 0 {
			delete(s.pendingFrom, src)
		}
	}
	if !ok || s.closed {
		return nil, false, false, false
	}
	old := s.byContact[l.fingerprint]
	if !l.initiator && old == nil && l.needsUser() {
		n := 0
		for _, o := range s.byContact {
			if !o.initiator && o.waitingForUser() {
				n++
			}
		}
		if n >= MaxRequests {
			return nil, true, false, false
		}
	}
	if old == l {
		return nil, false, true, false
	}
	if old != nil && simultaneous(old, l) && !keep(l, s.self, l.fingerprint) {
		return old, false, true, true // l loses the tie-break; old stays
	}
	s.byContact[l.fingerprint] = l
	return old, false, true, false
}

// simultaneous reports two links of one partner's run dialed from both
// ends: the partner's epoch is the same, and one was dialed by us, the
// other by the partner.
func simultaneous(a, b *link) bool {
	return a.peerEpoch == b.peerEpoch && a.initiator != b.initiator
}

// keep is the tie-break of a simultaneous dial, which both ends compute
// alike: the link dialed by the side with the smaller key fingerprint
// survives.
func keep(l *link, self, partner string) bool {
	weAreSmaller := self < partner
	return l.initiator == weAreSmaller
}

// linkEnded forgets a link once its reader has stopped.
func (s *Session) linkEnded(l *link) {
	s.mu.Lock()
	delete(s.links, l.id)
	if l.fingerprint != "" && s.byContact[l.fingerprint] == l {
		delete(s.byContact, l.fingerprint)
	}
	s.mu.Unlock()
	l.mu.Lock()
	was := l.m.connected
	l.mu.Unlock()
	if was {
		s.redial.lost(l.fingerprint, s.cfg.Now())
	} else {
		s.redial.poke()
	}
}

var _ Controller = (*Session)(nil)
