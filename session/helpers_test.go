package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/internal/testkeys"
	"github.com/stretchr/testify/require"
)

// memStore is an in-memory Store; failWrites makes every history write fail.
type memStore struct {
	mu         sync.Mutex
	contacts   map[string]history.Contact
	invites    []history.Invite
	convs      []*memConv
	failWrites bool
	failConv   bool          // BeginConversation fails
	delay      time.Duration // makes SaveContact and BeginConversation slow, like a busy disk
	box        *memOutbox
}

func newMemStore() *memStore {
	return &memStore{contacts: map[string]history.Contact{}, box: newMemOutbox()}
}

func (m *memStore) QueueMessage(contact string, om history.OutboxMessage, durable func(error)) {
	m.mu.Lock()
	fail := m.failWrites
	m.mu.Unlock()
	if fail {
		go durable(errDiskFull)
		return
	}
	m.box.QueueMessage(contact, om, durable)
}

func (m *memStore) Outbox(contact string) []history.OutboxMessage { return m.box.Outbox(contact) }
func (m *memStore) MarkDelivered(contact, id string) error        { return m.box.MarkDelivered(contact, id) }
func (m *memStore) CancelQueued(contact, id string) error         { return m.box.CancelQueued(contact, id) }

// Received looks for an incoming id in the conversations with contact.
func (m *memStore) Received(contact, id string) bool {
	for _, c := range m.conversations() {
		if c.meta.Fingerprint != contact {
			continue
		}
		for _, r := range c.messages() {
			if !r.Outgoing && r.ID == id {
				return true
			}
		}
	}
	return false
}

func (m *memStore) Contact(id string) (history.Contact, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.contacts[id]
	return c, ok
}

func (m *memStore) Contacts() []history.Contact {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []history.Contact
	for _, c := range m.contacts {
		out = append(out, c)
	}
	return out
}

func (m *memStore) SaveContact(c history.Contact) error {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.contacts[c.ID] = c
	return nil
}

func (m *memStore) DeleteContact(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.contacts[id]; !ok {
		return history.ErrNoContact
	}
	delete(m.contacts, id)
	return nil
}

// contactNamed returns the contact the user named name.
func (m *memStore) contactNamed(name string) (history.Contact, bool) {
	for _, c := range m.Contacts() {
		if c.Name == name {
			return c, true
		}
	}
	return history.Contact{}, false
}

func (m *memStore) Invites() []history.Invite {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]history.Invite(nil), m.invites...)
}

func (m *memStore) UseInvite(id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.invites {
		inv := &m.invites[k]
		if inv.ID() != id {
			continue
		}
		switch {
		case !now.Before(inv.Expires):
			return history.ErrInviteExpired
		case inv.Used >= inv.Uses:
			return history.ErrInviteUsed
		}
		inv.Used++
		return nil
	}
	return history.ErrNoInvite
}

func (m *memStore) BeginConversation(meta history.ConversationMeta) (history.Writer, error) {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failConv {
		return nil, errDiskFull
	}
	c := &memConv{store: m, meta: meta, status: map[string]string{}}
	m.convs = append(m.convs, c)
	return c, nil
}

func (m *memStore) conversations() []*memConv {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*memConv(nil), m.convs...)
}

type memConv struct {
	store  *memStore
	meta   history.ConversationMeta
	mu     sync.Mutex
	msgs   []history.MessageRecord
	status map[string]string
	ended  string
	// orphans are ids whose status came before the message itself; a
	// real history would lose those statuses.
	orphans []string
}

var errDiskFull = errors.New("no space left on device")

func (c *memConv) ID() string { return "conv" }

func (c *memConv) AppendMessage(m history.MessageRecord, durable func(error)) {
	c.store.mu.Lock()
	fail := c.store.failWrites
	c.store.mu.Unlock()
	if fail {
		go durable(errDiskFull)
		return
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	if durable != nil {
		durable(nil) // in order, as the history's group commit
	}
}

func (c *memConv) AppendStatus(id string, delivered bool, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.ContainsFunc(c.msgs, func(m history.MessageRecord) bool { return m.ID == id }) {
		c.orphans = append(c.orphans, id)
	}
	if delivered {
		c.status[id] = "delivered"
	} else {
		c.status[id] = "failed: " + reason
	}
	return nil
}

func (c *memConv) End(reason string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = reason
	return nil
}

func (c *memConv) messages() []history.MessageRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]history.MessageRecord(nil), c.msgs...)
}

// peer is one side of a test chat with everything it heard.
type peer struct {
	t     *testing.T
	s     *Session
	store *memStore
	mu    sync.Mutex
	seen  []Event
	cond  chan struct{}
	done  chan struct{}
	// autoAccept answers every partner request with Accept.
	autoAccept bool
}

func testConfig(name string, store *memStore) Config {
	c := Config{Identity: testkeys.Identity(name), Name: name, HandshakeTimeout: 20 * time.Second}
	if store != nil {
		c.Store = store
	}
	return c
}

func watch(t *testing.T, s *Session, store *memStore, autoAccept bool) *peer {
	p := &peer{t: t, s: s, store: store, cond: make(chan struct{}, 1), done: make(chan struct{}), autoAccept: autoAccept}
	go func() {
		defer close(p.done)
		for e := range s.Events() {
			if r, ok := e.(Request); ok && p.autoAccept {
				_ = s.Accept(r.Partner.Fingerprint)
			}
			p.mu.Lock()
			p.seen = append(p.seen, e)
			p.mu.Unlock()
			select {
			case p.cond <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-p.done
	})
	return p
}

// waitFor returns the first event of type T that matches ok (nil: any),
// waiting up to 20 s.
func waitFor[T Event](p *peer, ok func(T) bool) T {
	p.t.Helper()
	return p.waitAny(func(e Event) bool {
		x, is := e.(T)
		return is && (ok == nil || ok(x))
	}).(T)
}

// eventsOf returns every event of type T seen so far.
func eventsOf[T Event](p *peer) []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []T
	for _, e := range p.seen {
		if x, ok := e.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// waitAny returns the first event that matches ok, waiting up to 20 s.
func (p *peer) waitAny(ok func(Event) bool) Event {
	p.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		p.mu.Lock()
		for _, e := range p.seen {
			if ok(e) {
				p.mu.Unlock()
				return e
			}
		}
		p.mu.Unlock()
		select {
		case <-p.cond:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			p.t.Fatalf("no matching event; saw %s", p.kinds())
		}
	}
}

// all returns every event seen so far.
func (p *peer) all() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.seen...)
}

func (p *peer) kinds() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, e := range p.seen {
		b.WriteString(strings.TrimPrefix(fmt.Sprintf("%T", e), "session."))
		switch x := e.(type) {
		case Ended:
			b.WriteString("(" + x.Reason.String() + ")")
			if x.Err != nil {
				b.WriteString("[" + x.Err.Error() + "]")
			}
		case Failed:
			b.WriteString("(" + x.Reason.String() + ")")
		case Problem:
			b.WriteString("[" + x.Err.Error() + "]")
		}
		b.WriteString(" ")
	}
	return b.String()
}

// contact returns the contact id of the partner connected last, waiting
// for one.
func (p *peer) contact() string {
	p.t.Helper()
	var last string
	waitFor[Connected](p, nil)
	for _, c := range eventsOf[Connected](p) {
		last = c.Partner.Fingerprint
	}
	return last
}

// send sends text to the partner connected last.
func (p *peer) send(text string) (string, error) {
	p.t.Helper()
	return p.s.Send(p.contact(), text)
}

// disconnect says goodbye to the partner connected last.
func (p *peer) disconnect() error {
	p.t.Helper()
	return p.s.Disconnect(p.contact())
}

// hostAddr returns the address a test dials for host s.
func hostAddr(t *testing.T, p *peer) string {
	e := waitFor[Listening](p, nil)
	return e.Addr
}

// startChat starts a host and a connecting side, both accepting, and waits
// until both are connected.
func startChat(t *testing.T, hostName, connName string, hs, cs *memStore, via func(string) string) (*peer, *peer) {
	t.Helper()
	h, err := Host(testConfig(hostName, hs), "127.0.0.1:0")
	require.NoError(t, err)
	hp := watch(t, h, hs, true)
	addr := hostAddr(t, hp)
	if via != nil {
		addr = via(addr)
	}
	c, err := Connect(testConfig(connName, cs), addr)
	require.NoError(t, err)
	cp := watch(t, c, cs, true)
	waitFor[Connected](hp, nil)
	waitFor[Connected](cp, nil)
	return hp, cp
}

// relay is a man in the middle on loopback. It forwards frames between a
// client and a server, records every byte, and lets a test change frames.
type relay struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu       sync.Mutex
	recorded []byte
	// hook may change, drop (nil) or multiply a frame; dir 0 is client to
	// server. n counts frames in that direction from 0.
	hook  func(dir, n int, frame []byte) [][]byte
	conns []net.Conn
}

func newRelay(t *testing.T, target string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &relay{t: t, ln: ln, target: target}
	go r.serve()
	t.Cleanup(func() { r.close() })
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) setHook(h func(dir, n int, frame []byte) [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

func (r *relay) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.recorded...)
}

// kill cuts every connection at once, as if the partner's process died.
func (r *relay) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
	r.conns = nil
}

func (r *relay) close() {
	_ = r.ln.Close()
	r.kill()
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, s)
		r.mu.Unlock()
		go r.pump(0, c, s)
		go r.pump(1, s, c)
	}
}

func (r *relay) pump(dir int, from, to net.Conn) {
	defer to.Close()
	for n := 0; ; n++ {
		var hdr [4]byte
		if _, err := io.ReadFull(from, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size > 1<<20 {
			return
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(from, body); err != nil {
			return
		}
		frame := append(hdr[:], body...)
		r.mu.Lock()
		r.recorded = append(r.recorded, frame...)
		hook := r.hook
		r.mu.Unlock()
		out := [][]byte{frame}
		if hook != nil {
			out = hook(dir, n, frame)
		}
		for _, f := range out {
			if _, err := to.Write(f); err != nil {
				return
			}
		}
	}
}

// silentHost listens on loopback, accepts one connection and says nothing
// on it for d. It returns the address.
func silentHost(t *testing.T, d time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(d)
		}
	}()
	return ln.Addr().String()
}
