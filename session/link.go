package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transport"
)

// link is one connection with one partner. Its run method is the one reader
// goroutine of the connection; a writer goroutine seals and writes, and a
// keepalive goroutine pings. After the handshake, what the connection is
// (deciding, connected, messages in flight) is its chatMachine's: the
// goroutines and the front end's calls feed it and carry out its effects.
type link struct {
	s         *Session
	id        LinkID
	contact   string // whom a dialed link means to reach, if known
	conn      *transport.Conn
	addr      string
	initiator bool
	layer     RecordLayer

	// What the dialing side expects to answer; set before run.
	expect expectation
	// inviteAddrs are all the addresses of the invite dialed (direct ones
	// and the onion address), remembered for the new contact.
	inviteAddrs []string

	// Set once the handshake is done; read-only after.
	fingerprint string
	peerKey     []byte // PKIX DER
	peerEpoch   [epochSize]byte
	conv        history.Writer

	finished chan struct{} // closed when run has cleaned up
	done     chan struct{} // closed when the link starts ending
	doneOnce sync.Once

	mu          sync.Mutex
	m           chatMachine
	partner     *Partner
	endReason   EndReason
	endErr      error
	queue       []writeItem
	fileQueue   []writeItem // file chunks: sent when queue is empty
	poke        chan struct{}
	acceptTimer *time.Timer
	flushed     bool // the outbox went out on the connected link

	files *fileLink // the link as the file transfers see it

	// sendMu is held by whoever seals and writes records: the writer
	// goroutine for a batch, or a caller on the fast path (sendNow).
	// Sealing numbers a record, so sealing and writing under one lock
	// keeps the sequence numbers in wire order. Taken before mu.
	sendMu sync.Mutex
	// carry, guarded by sendMu, is what the socket did not take of a
	// fast-path write in time; the writer sends it before anything else.
	carry []byte
	// carried counts the fast-path writes the writer had to finish.
	carried atomic.Int64
}

func (s *Session) newLinkLocked(conn *transport.Conn, addr string, initiator bool) *link {
	s.nextLink++
	l := &link{
		s:         s,
		id:        s.nextLink,
		conn:      conn,
		addr:      addr,
		initiator: initiator,
		finished:  make(chan struct{}),
		done:      make(chan struct{}),
		m:         newChatMachine(s.nextLink),
		poke:      make(chan struct{}, 1),
	}
	l.files = &fileLink{l: l}
	s.links[l.id] = l
	return l
}

// end starts ending the link with reason; the first reason wins. The reader
// notices the closed connection and cleans up.
func (l *link) end(reason EndReason, err error) {
	l.mu.Lock()
	if l.endReason == 0 {
		l.endReason, l.endErr = reason, err
	}
	l.m.stop()
	conn := l.conn
	l.mu.Unlock()
	l.doneOnce.Do(func() { close(l.done) })
	if conn != nil {
		_ = conn.Close()
	}
}

// leaving reports that the link is being ended by us (a goodbye, or an
// end on our side).
func (l *link) leaving() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.endReason != 0
}

// abort ends the link at once (Close after the goodbye had its chance).
func (l *link) abort() { l.end(EndWeLeft, nil) }

// leave says goodbye and ends the link once the partner has closed, or
// after a short wait.
func (l *link) leave(reason EndReason) {
	l.mu.Lock()
	if l.endReason == 0 {
		l.endReason = reason
	}
	ending := l.m.state == linkEnding
	hs := l.m.state == linkHandshaking
	l.mu.Unlock()
	if ending {
		return
	}
	if hs || l.enqueue(writeItem{pt: encodeBye("goodbye"), bye: true}) != nil {
		l.end(reason, nil)
		return
	}
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		select {
		case <-l.done:
		case <-time.After(2 * time.Second):
			l.end(reason, nil)
		}
	}()
}

func (l *link) isConnected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.state == linkConnected
}

func (l *link) partnerCopy() Partner {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partner == nil {
		return Partner{Addr: l.addr}
	}
	return *l.partner
}

// needsUser reports a key the user must decide on: new or changed.
func (l *link) needsUser() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.partner != nil && (l.partner.Trust == TrustNew || l.partner.Trust == TrustChanged)
}

// waitingForUser reports a request of a new or changed key that the user
// has not answered yet.
func (l *link) waitingForUser() bool {
	l.mu.Lock()
	st, accepted := l.m.state, l.m.weAccepted || l.m.accepting
	l.mu.Unlock()
	return (st == linkHandshaking || st == linkDeciding) && !accepted && l.needsUser()
}

func (l *link) hasPartner() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.partner != nil && l.m.state != linkHandshaking
}

func (l *link) history() history.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conv
}

func (l *link) setTrust(t Trust) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partner != nil {
		l.partner.Trust = t
	}
}

// step feeds the chat machine one input under the link's lock and carries
// out its effects after.
func (l *link) step(input func(m *chatMachine) effects) {
	l.mu.Lock()
	e := input(&l.m)
	l.mu.Unlock()
	_ = l.apply(e)
}

// apply carries out the effects of a step of the chat machine, in order:
// records to send, events, then what follows from them.
// It returns the first error in handing a record to the connection.
func (l *link) apply(e effects) error {
	var sendErr error
	for _, it := range e.sends {
		send := l.enqueue
		if it.fast {
			send = l.send
		}
		if err := send(it); err != nil && sendErr == nil {
			sendErr = err
		}
	}
	for _, ev := range e.events {
		l.s.emit(ev)
	}
	if e.acked != "" {
		l.s.acked(l.fingerprint, e.acked)
	}
	if e.connected {
		l.filesConnected()
		l.s.linkConnected(l)
	}
	if e.leave != 0 {
		l.leave(e.leave)
	}
	return sendErr
}

// run is the reader goroutine: connect (for the dialling side), handshake,
// then read records until the link ends; then clean up.
func (l *link) run(dial func(context.Context) (*transport.Conn, error)) {
	defer l.s.wg.Done()
	defer close(l.finished)
	last := l.connect(dial)
	// The contact's place is free for its next link before the front end
	// hears that this one is gone.
	l.s.linkEnded(l)
	l.s.emit(last)
}

// ended is the Ended event of the link: our reason if we ended it, else
// the reason err gives.
func (l *link) ended(err error) Ended {
	l.mu.Lock()
	reason, ourErr, connected := l.endReason, l.endErr, l.m.connected
	addr := l.addr
	l.mu.Unlock()
	e := Ended{Link: l.id, Contact: l.fingerprint, Addr: addr, Connected: connected, Incoming: !l.initiator, Reason: reason, Err: ourErr}
	r, peer := reasonOf(err)
	if reason == 0 {
		e.Reason = r
	}
	if e.Reason == r {
		e.Peer = peer
	}
	if e.Err == nil {
		e.Err = err
	}
	return e
}

// connect runs the link and returns the event that reports its end.
func (l *link) connect(dial func(context.Context) (*transport.Conn, error)) Event {
	l.s.emit(Handshaking{Link: l.id, Addr: l.addr, Contact: l.contact, Incoming: !l.initiator})
	if dial != nil {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		conn, err := dial(ctx)
		cancel()
		if err != nil {
			l.end(dialReason(err), err)
			return l.ended(err)
		}
		l.mu.Lock()
		l.conn = conn
		ending := l.m.state == linkEnding
		l.mu.Unlock()
		if ending {
			conn.Close()
			return l.ended(nil)
		}
	}

	err := l.handshake()
	if err == nil && l.s.cfg.Greeting == nil {
		err = l.exchangeHello()
	}
	replaced, busy, goOn, lost := l.s.handshakeDone(l, err == nil)
	if err != nil {
		err = explain(err)
		r, _ := reasonOf(err)
		l.end(r, err)
		return l.ended(err)
	}
	if busy {
		// Too many requests wait for the user: this one is told the host
		// is busy, sealed, and nobody else is disturbed.
		l.sayBusy()
		l.s.emit(TurnedAway{Addr: l.addr, Reason: EndBusy})
		return l.ended(nil)
	}
	if !goOn {
		l.end(EndWeLeft, nil)
		return l.ended(nil)
	}
	if lost {
		// A simultaneous dial, and the other link wins: the partner ends
		// this one too. The winner is pinged at once: were it a link the
		// partner has given up (a network outage it noticed first), its
		// answer is a reset, the link ends, and the partner's next dial
		// gets in without waiting for the keepalive.
		l.end(EndReplaced, nil)
		nonce := l.s.nextNonce()
		replaced.step(func(m *chatMachine) effects { return m.pingDue(nonce) })
		return l.ended(nil)
	}
	if replaced != nil {
		// A newer connection of the same key takes over at once (a
		// partner that restarted must get back in); the old link's end is
		// reported before the new request.
		replaced.end(EndReplaced, nil)
		select {
		case <-replaced.finished:
		case <-time.After(2 * time.Second):
		}
	}
	select {
	case <-l.done:
		// Replaced in turn (or closed) while waiting: no request.
		return l.cleanup(nil)
	default:
	}

	l.s.wg.Add(2)
	go l.writer()
	go l.keepalive()

	l.mu.Lock()
	e := l.m.start(l.fingerprint, l.partner)
	l.acceptTimer = time.AfterFunc(l.s.cfg.AcceptTimeout, func() {
		l.step((*chatMachine).acceptDeadline)
	})
	l.mu.Unlock()
	_ = l.apply(e)

	return l.cleanup(l.readLoop())
}

// accept is the front end's yes to the partner request. The partner
// becomes (or stays) a contact, and the conversation is opened, before our
// Accept goes out: from then on the partner may send messages, and each
// must find somewhere durable to go. When the history cannot be written the
// chat does not start: nothing may be acknowledged that is not stored.
func (l *link) accept() error {
	l.mu.Lock()
	err := l.m.beginAccept()
	p := *l.partner
	l.mu.Unlock()
	if err != nil {
		return err
	}
	st := l.s.cfg.Store
	var conv history.Writer
	if st != nil && l.s.cfg.Greeting == nil {
		dialed, replaces := "", ""
		if l.initiator {
			dialed = l.addr
			if len(l.expect.ids) == 1 {
				replaces = l.expect.ids[0]
			}
		}
		if err := l.s.admitted(p, l.peerKey, dialed, replaces, l.inviteAddrs); err != nil {
			err = fmt.Errorf("%w: %w", errHistoryFailed, err)
			l.end(EndWeLeft, err)
			return err
		}
		conv, err = st.BeginConversation(history.ConversationMeta{
			Partner: p.Label(), Fingerprint: p.Fingerprint, Role: l.role(), Addr: l.addr, Start: l.s.cfg.Now(),
		})
		if err != nil {
			err = fmt.Errorf("%w, so the chat cannot start: %w", errHistoryFailed, err)
			l.end(EndWeLeft, err)
			return err
		}
	}
	l.mu.Lock()
	l.conv = conv
	l.acceptTimer.Stop()
	e, err := l.m.accepted()
	if err == nil {
		// Our Accept is queued in the same step: a message of ours sent
		// the moment we are connected (a Send racing this Accept) must not
		// overtake it on the fast path.
		for _, it := range e.sends {
			if err = l.enqueueLocked(it); err != nil {
				break
			}
		}
		e.sends = nil
	}
	l.mu.Unlock()
	if err != nil {
		return ErrNotConnected
	}
	l.pokeWriter()
	return l.apply(e)
}

// errHistoryFailed ends a chat whose messages cannot be stored: the link
// ends with EndWeLeft and an Err wrapping it, after a HistoryError.
var errHistoryFailed = errors.New("session: the history cannot be written")

// role is what the history records of our side of the link.
func (l *link) role() string {
	if l.initiator {
		return "connect"
	}
	return "host"
}

// decline is the front end's no.
func (l *link) decline() error {
	l.mu.Lock()
	e, err := l.m.decline()
	if err == nil {
		l.acceptTimer.Stop()
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.apply(e)
}
