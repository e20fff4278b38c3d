package session

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
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

	// Set once the handshake is done; read-only after.
	fingerprint string
	peerKey     []byte // PKIX DER
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
	poke        chan struct{}
	acceptTimer *time.Timer

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

// writeItem is a plaintext the writer seals and sends.
type writeItem struct {
	pt    []byte
	msg   *outgoing // a text message: its MessageEvent is emitted when written
	retry bool      // a resend: no new MessageEvent
	bye   bool      // half-close after writing
	fast  bool      // may take the fast path (sendNow) when the writer is idle
}

// secureLayer is the record layer of the secure handshake's channel.
type secureLayer struct {
	sealer *scrypto.Sealer
	opener *scrypto.Opener
}

func (l secureLayer) Seal(pt []byte) ([]byte, error)  { return l.sealer.Seal(pt) }
func (l secureLayer) Open(rec []byte) ([]byte, error) { return l.opener.Open(rec) }

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

// enqueue hands a plaintext to the writer without blocking. A partner that
// lets thousands of our records pile up unread is dropped.
func (l *link) enqueue(it writeItem) error {
	l.mu.Lock()
	err := l.enqueueLocked(it)
	l.mu.Unlock()
	if errors.Is(err, errQueueFull) {
		l.end(EndTimeout, errors.New("session: the partner is not reading; too many records queued"))
		return ErrNotConnected
	}
	if err != nil {
		return err
	}
	l.pokeWriter()
	return nil
}

var errQueueFull = errors.New("session: write queue full")

// enqueueLocked queues it; the caller holds l.mu and pokes the writer.
func (l *link) enqueueLocked(it writeItem) error {
	if l.m.state == linkEnding {
		return ErrNotConnected
	}
	if len(l.queue) >= maxQueue {
		return errQueueFull
	}
	l.queue = append(l.queue, it)
	return nil
}

func (l *link) pokeWriter() {
	select {
	case l.poke <- struct{}{}:
	default:
	}
}

// send writes it at once when the writer is idle (sendNow), and queues it
// for the writer otherwise.
func (l *link) send(it writeItem) error {
	if l.sendNow(it) {
		return nil
	}
	return l.enqueue(it)
}

// sendText sends a text message; fresh says whether it is new (a
// MessageEvent follows) or a resend.
func (l *link) sendText(o *outgoing, fresh bool) error {
	l.mu.Lock()
	e, err := l.m.sendText(o, fresh)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := l.apply(e); err != nil {
		l.mu.Lock()
		e := l.m.notSent(hex.EncodeToString(o.id[:]))
		l.mu.Unlock()
		_ = l.apply(e)
		return err
	}
	return nil
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
// history writes, records to send, events, then what follows from them.
// It returns the first error in handing a record to the connection.
func (l *link) apply(e effects) error {
	if conv := l.history(); conv != nil {
		for _, h := range e.history {
			if h.msg != nil {
				conv.AppendMessage(*h.msg, l.historyFailed)
			} else {
				_ = conv.AppendStatus(h.id, h.delivered, h.reason)
			}
		}
	}
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
	if e.connected {
		l.s.resendQueued(l)
	}
	if e.leave != 0 {
		l.leave(e.leave)
	}
	return sendErr
}

// fastWriteTimeout bounds the write of the fast path, whose caller may be
// the UI. A loopback or LAN socket with room takes a record in
// microseconds; one that does not in time is finished by the writer.
const fastWriteTimeout = 5 * time.Millisecond

// sendNow is the fast path of sending one record: when nothing is queued
// and nobody is writing, the caller seals and writes the record itself.
// That spares the wake-up of the writer goroutine, a hand-off of some
// microseconds, for a message sent from the UI with nothing else in
// flight, and for an ack the reader sends when no other record is waiting
// to be read. A burst is left to the writer, which sends it in one write.
//
// It never waits: not for a lock another goroutine holds, not for room in
// the event channel, and not for the socket longer than fastWriteTimeout.
// What the socket did not take in time stays in l.carry, which the writer
// sends before anything else. It reports false, having sealed and sent
// nothing, when the record must go through the queue instead. The rest of
// link.go does not depend on it: were it to return false always, the
// writer would do everything as before.
func (l *link) sendNow(it writeItem) bool {
	if it.bye || !l.sendMu.TryLock() {
		return false // a goodbye half-closes the socket: the writer's job
	}
	defer l.sendMu.Unlock()
	l.mu.Lock()
	// Holding sendMu with the queue empty, this record goes out before
	// anything queued from now on. The writer runs from linkDeciding on.
	idle := (l.m.state == linkDeciding || l.m.state == linkConnected) && len(l.queue) == 0 && l.carry == nil
	l.mu.Unlock()
	if !idle {
		return false
	}
	var (
		frame   []byte
		sealErr error
	)
	seal := func() Event {
		rec, err := l.layer.Seal(it.pt)
		if err != nil {
			sealErr = err
			return nil
		}
		frame = transport.Frame(rec)
		if it.msg == nil || it.retry {
			return nil
		}
		// Announced before the write, so that its ack cannot overtake it.
		return l.messageEvent(it.msg, frame)
	}
	if it.msg != nil && !it.retry {
		if !l.s.emitNow(seal) {
			return false // the event channel is full or busy: let the writer wait
		}
	} else {
		seal()
	}
	if sealErr != nil {
		l.end(EndNetwork, sealErr)
		return true
	}
	n, err := l.conn.WriteRawWithin(frame, fastWriteTimeout)
	switch {
	case err == nil:
	case isTimeout(err):
		l.carry = frame[n:]
		l.carried.Add(1)
		l.pokeWriter()
	default:
		l.end(EndPartnerLeft, err)
	}
	return true
}

// messageEvent is the MessageEvent of our message o, sealed in wire.
func (l *link) messageEvent(o *outgoing, wire []byte) Event {
	return MessageEvent{Link: l.id, Contact: l.fingerprint, Message: Message{
		ID: hex.EncodeToString(o.id[:]), Outgoing: true, From: l.s.cfg.Name,
		Text: o.text, Time: o.time, Wire: append([]byte(nil), wire...),
	}}
}

// historyFailed is the durable callback of our own messages. It runs on
// the history's goroutine and must not block: a failed write ends the chat
// (the reader reports why), it does not emit.
func (l *link) historyFailed(err error) {
	if err != nil {
		l.end(EndWeLeft, fmt.Errorf("%w: %w", errHistoryFailed, err))
	}
}

// maxBatch bounds the bytes the writer gathers into one write.
const maxBatch = 256 << 10

// writer seals and writes queued plaintexts in order. Whatever is queued
// when it wakes goes out in one write: a burst of messages or acks costs one
// system call, not one each.
func (l *link) writer() {
	defer l.s.wg.Done()
	var buf []byte
	for {
		select {
		case <-l.done:
			return
		case <-l.poke:
		}
		for {
			more, ok := l.writeQueued(&buf)
			if !ok {
				return
			}
			if !more {
				break
			}
		}
	}
}

// writeQueued sends what a fast-path write left over, then one batch of
// the queue, holding sendMu throughout. more reports that it sent a batch
// and should be called again; ok is false once the link has failed.
func (l *link) writeQueued(bufp *[]byte) (more, ok bool) {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	if l.carry != nil {
		if err := l.conn.WriteRaw(l.carry); err != nil {
			l.end(EndPartnerLeft, err)
			return false, false
		}
		l.carry = nil
	}
	buf := (*bufp)[:0]
	defer func() { *bufp = buf }()
	l.mu.Lock()
	n := 0
	size := 0
	for n < len(l.queue) && (n == 0 || size+len(l.queue[n].pt) < maxBatch) {
		size += len(l.queue[n].pt) + transport.HeaderSize + 64
		n++
	}
	batch := append([]writeItem(nil), l.queue[:n]...)
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	l.mu.Unlock()
	if len(batch) == 0 {
		return false, true
	}
	bye := false
	for _, it := range batch {
		rec, err := l.layer.Seal(it.pt)
		if err != nil {
			l.end(EndNetwork, err)
			return false, false
		}
		start := len(buf)
		buf = append(buf, transport.Frame(rec)...)
		// Announced before the write, so that its ack cannot
		// overtake it; a failed write reports it failed.
		if it.msg != nil && !it.retry {
			l.s.emit(l.messageEvent(it.msg, buf[start:]))
		}
		bye = bye || it.bye
	}
	if err := l.conn.WriteRaw(buf); err != nil {
		l.end(EndPartnerLeft, err)
		return false, false
	}
	if bye {
		_ = l.conn.CloseWrite()
	}
	return true, true
}

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
	replaced, busy, goOn := l.s.handshakeDone(l, err == nil)
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

// sayBusy tells a partner whose handshake finished while too many
// requests wait that the host is busy (a sealed Bye), and closes.
func (l *link) sayBusy() {
	if rec, err := l.layer.Seal(encodeBye("busy: too many people are waiting to be let in; try again later")); err == nil {
		l.conn.WriteTimeout = time.Second
		_ = l.conn.WriteFrame(rec)
		_ = l.conn.CloseWrite()
	}
	l.end(EndBusy, nil)
}

// dialReason tells why a dial failed.
func dialReason(err error) EndReason {
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return EndCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return EndRefused
	case errors.As(err, &dns), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return EndUnreachable
	}
	return EndNetwork
}

// alertReason is the end reason of an alert the peer sent.
func alertReason(a *scrypto.Alert) EndReason {
	switch a.Code {
	case scrypto.AlertBusy:
		return EndBusy
	case scrypto.AlertVersion:
		return EndVersion
	case scrypto.AlertAuthFailed:
		return EndSecurity
	case scrypto.AlertNotAdmitted:
		return EndNotAdmitted
	case scrypto.AlertInvite:
		return EndInviteRefused
	case scrypto.AlertWrongKey:
		return EndWrongKey
	case scrypto.AlertProtocol, scrypto.AlertPlaintext, scrypto.AlertSecureRefused:
		return EndNotSecureChat
	}
	return EndNetwork
}

// reasonOf tells why a link failed with err; peer is the partner's own
// words (an alert's reason), untrusted.
func reasonOf(err error) (r EndReason, peer string) {
	var a *scrypto.Alert
	switch {
	case err == nil:
		return EndNetwork, ""
	case errors.Is(err, ErrWrongKey):
		return EndWrongKey, ""
	case errors.As(err, &a):
		return alertReason(a), a.Reason
	case errors.Is(err, ErrNotAdmitted):
		return EndNotAdmitted, ""
	case errors.Is(err, ErrOlderPeer), errors.Is(err, scrypto.ErrVersion):
		return EndVersion, ""
	case errors.Is(err, ErrInviteRefused):
		return EndInviteRefused, ""
	case errors.Is(err, scrypto.ErrAuthFailed), errors.Is(err, scrypto.ErrRecordAuth):
		return EndSecurity, ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return EndRefused, ""
	case errors.Is(err, transport.ErrFrameTooLarge), errors.Is(err, scrypto.ErrNotSecureChat):
		return EndNotSecureChat, ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return EndPartnerLeft, ""
	case isTimeout(err):
		return EndTimeout, ""
	}
	return EndNetwork, ""
}

// explain wraps an authenticated refusal from the partner in the error a
// front end tells apart.
func explain(err error) error {
	var a *scrypto.Alert
	switch {
	case errors.Is(err, scrypto.ErrVersion):
		return fmt.Errorf("%w: %w", ErrOlderPeer, err)
	case !errors.As(err, &a):
		return err
	case a.Code == scrypto.AlertNotAdmitted:
		return fmt.Errorf("%w: %w", ErrNotAdmitted, err)
	case a.Code == scrypto.AlertInvite:
		return fmt.Errorf("%w: %w", ErrInviteRefused, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handshake runs the secure handshake (or the configured greeting) within
// the handshake deadline.
func (l *link) handshake() error {
	cfg := l.s.cfg
	_ = l.conn.SetDeadline(time.Now().Add(cfg.HandshakeTimeout))
	defer func() { _ = l.conn.SetDeadline(time.Time{}) }()
	if cfg.Greeting != nil {
		return l.greet()
	}
	hcfg := scrypto.Config{Identity: cfg.Identity, Name: cfg.Name, Random: cfg.Random}
	if l.initiator {
		hcfg.InviteSecret = l.expect.secret
	}
	var (
		h   *scrypto.Handshake
		err error
	)
	if l.initiator {
		h, err = scrypto.NewInitiator(hcfg)
	} else {
		h, err = scrypto.NewResponder(hcfg)
	}
	if err != nil {
		return err
	}
	defer h.Close() // wipes the handshake's secrets on every path
	if err := l.runHandshake(h); err != nil {
		l.sendAlert(h, err)
		return err
	}
	sealer, opener, err := h.Channel()
	if err != nil {
		return err
	}
	l.layer = secureLayer{sealer: sealer, opener: opener}
	return nil
}

// identify classifies the authenticated partner: what its key is to us.
func (l *link) identify(peer *scrypto.PublicIdentity, name string, invited bool) error {
	var exp *expectation
	if l.initiator {
		exp = &l.expect
	}
	p := l.s.classify(peer, name, exp, invited)
	if exp != nil && exp.invite && p.Trust == TrustChanged {
		return fmt.Errorf("%w: the invite is for key %s, and %s answered with key %s", ErrWrongKey, exp.ids[0][:16], l.addr, p.Fingerprint[:16])
	}
	if !l.initiator && l.s.onlyContacts.Load() && p.Trust == TrustNew {
		return ErrNotAdmitted
	}
	p.Addr = l.addr
	l.fingerprint = p.Fingerprint
	l.peerKey = peer.Bytes()
	l.mu.Lock()
	l.partner = &p
	l.mu.Unlock()
	return nil
}

func (l *link) runHandshake(h *scrypto.Handshake) error {
	read := func() ([]byte, error) {
		f, err := l.conn.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("session: handshake: %w", err)
		}
		return f, nil
	}
	// write sends frames in one system call: ClientIdentity and
	// ClientVerify go out together.
	write := func(frames ...[]byte) error {
		var buf []byte
		for _, b := range frames {
			buf = append(buf, transport.Frame(b)...)
		}
		if err := l.conn.WriteRaw(buf); err != nil {
			return fmt.Errorf("session: handshake: %w", err)
		}
		return nil
	}
	// readInto reads one frame and hands it to a handshake step.
	readInto := func(step func([]byte) error) error {
		m, err := read()
		if err != nil {
			return err
		}
		return step(m)
	}
	if l.initiator {
		m, err := h.WriteClientHello()
		if err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		if err := readInto(h.ReadServerHello); err != nil {
			return err
		}
		recs, err := h.WriteClientIdentity()
		if err != nil {
			return err
		}
		if err := write(recs...); err != nil {
			return err
		}
		// The responder answers with two records (ServerIdentity,
		// ServerVerify), or with one sealed alert when it refuses us.
		if err := readInto(h.ReadServerIdentity); err != nil {
			return err
		}
		if err := readInto(h.ReadServerVerify); err != nil {
			return err
		}
		// The responder is authenticated: is it whom we meant? An invite's
		// address answering with another key is refused here, before our
		// half of the key exchange goes out.
		peer, name := h.Peer()
		if err := l.identify(peer, name, false); err != nil {
			return err
		}
		// ClientKey goes out at once, so that the responder decrypts
		// secret_I while we may still be decrypting secret_R; our
		// Finished follows once that is done.
		if m, err = h.WriteClientKeyRecord(); err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		if m, err = h.WriteClientFinished(); err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		return readInto(h.ReadFinished)
	}
	if err := readInto(h.ReadClientHello); err != nil {
		return err
	}
	m, err := h.WriteServerHello()
	if err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if err := readInto(h.ReadClientIdentity); err != nil {
		return err
	}
	if err := readInto(h.ReadClientVerify); err != nil {
		return err
	}
	// The initiator is authenticated; we have revealed nothing of
	// ourselves yet. An invite it proves is checked and counted; a host
	// that admits only contacts and invitees refuses anyone else here.
	invited := false
	if h.InviteProofPresent() && !l.s.cfg.answerAnyInvite {
		alert, err := l.s.checkInvite(h.CheckInviteProof)
		if err != nil {
			return &refusal{alert: *alert, err: err}
		}
		invited = true
	}
	peer, name := h.Peer()
	if err := l.identify(peer, name, invited); err != nil {
		return err
	}
	// ServerIdentity goes out before we sign, so that the initiator
	// decrypts secret_R while we compute ServerVerify: two RSA private-key
	// operations at once, one on each side, instead of one after the other.
	if m, err = h.WriteServerIdentityRecord(); err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if m, err = h.WriteServerVerify(); err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if err := readInto(h.ReadClientKey); err != nil {
		return err
	}
	if err := readInto(h.ReadFinished); err != nil {
		return err
	}
	if m, err = h.WriteFinished(); err != nil {
		return err
	}
	return write(m)
}

// refusal is a handshake we end on purpose, with the alert to say why.
type refusal struct {
	alert scrypto.Alert
	err   error
}

func (r *refusal) Error() string { return r.err.Error() + ": " + r.alert.Reason }
func (r *refusal) Unwrap() error { return r.err }

// sendAlert tells the peer why the handshake ended: in the clear before the
// handshake keys exist, sealed under them after.
func (l *link) sendAlert(h *scrypto.Handshake, err error) {
	var a *scrypto.Alert
	if errors.As(err, &a) || errors.Is(err, io.EOF) || isTimeout(err) {
		return // the peer spoke first, left, or is not there to read it
	}
	alert := scrypto.Alert{Code: scrypto.AlertProtocol, Reason: "protocol error"}
	var (
		ve  *scrypto.VersionError
		ref *refusal
	)
	switch {
	case errors.As(err, &ref):
		alert = ref.alert
	case errors.Is(err, ErrNotAdmitted):
		alert = scrypto.Alert{Code: scrypto.AlertNotAdmitted, Reason: "this SecureChat admits only its contacts and people it invited"}
	case errors.Is(err, ErrWrongKey):
		alert = scrypto.Alert{Code: scrypto.AlertWrongKey, Reason: "your key is not the one the invite is for"}
	case errors.Is(err, scrypto.ErrPlaintextPeer):
		alert = scrypto.Alert{Code: scrypto.AlertPlaintext, Reason: "this SecureChat peer only speaks the encrypted protocol and refuses the unencrypted --plaintext mode"}
	case errors.Is(err, scrypto.ErrAuthFailed):
		alert = scrypto.Alert{Code: scrypto.AlertAuthFailed, Reason: "authentication failed"}
	case errors.As(err, &ve):
		alert = ve.Alert()
	case errors.Is(err, scrypto.ErrVersion):
		alert = scrypto.Alert{Code: scrypto.AlertVersion, Reason: "unsupported protocol version"}
	case errors.Is(err, transport.ErrFrameTooLarge), errors.Is(err, scrypto.ErrNotSecureChat):
		alert = scrypto.Alert{Code: scrypto.AlertProtocol, Reason: "this is a SecureChat port; the data sent is not SecureChat"}
	}
	frame, werr := h.WriteAlert(alert)
	if werr != nil {
		return // the handshake is over on our side; nothing to say
	}
	l.conn.WriteTimeout = time.Second
	_ = l.conn.WriteFrame(frame)
}

// greet runs the configured greeting in place of the secure handshake.
// Such a link has no key: its contact id is "addr " and the remote
// address, so that each partner has a link of its own.
func (l *link) greet() error {
	layer, name, err := l.s.cfg.Greeting.Greet(l.conn, l.initiator, l.s.cfg.Name)
	if err != nil {
		return err
	}
	l.layer = layer
	l.mu.Lock()
	l.fingerprint = "addr " + l.addr
	l.partner = &Partner{Name: name, Addr: l.addr, Fingerprint: l.fingerprint, Trust: TrustNew}
	l.mu.Unlock()
	return nil
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
		if err := l.s.admitted(p, l.peerKey, dialed, replaces); err != nil {
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

// readLoop reads records until the connection ends and returns why.
func (l *link) readLoop() error {
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(l.s.cfg.PingTimeout))
		rec, err := l.conn.ReadFrame()
		if err != nil {
			return err
		}
		pt, err := l.layer.Open(rec)
		if err != nil {
			return err
		}
		m, err := parseMsg(pt)
		if err != nil {
			return err
		}
		if done, err := l.handle(m, rec); done || err != nil {
			return err
		}
	}
}

// errBye marks a goodbye from the partner.
type errBye struct{ reason string }

func (e *errBye) Error() string { return "partner said goodbye: " + e.reason }

// handle acts on one message; done reports a goodbye.
func (l *link) handle(w *wireMsg, rec []byte) (done bool, err error) {
	l.mu.Lock()
	e, err := l.m.record(w)
	l.mu.Unlock()
	if err != nil {
		var bye *errBye
		return errors.As(err, &bye), err
	}
	_ = l.apply(e)
	if e.receive != nil {
		l.receiveText(e.receive, rec)
	}
	return false, nil
}

// receiveText shows a message once and acknowledges it once it is durable.
func (l *link) receiveText(m *wireMsg, rec []byte) {
	id := hex.EncodeToString(m.id[:])
	// ack runs on the history's goroutine once the message is durable, and
	// must not block. A message that could not be stored is not
	// acknowledged, and the chat stops: the sender sees it failed.
	ack := func(err error) {
		if err != nil {
			l.s.unsee(l.fingerprint, id)
			l.end(EndWeLeft, fmt.Errorf("%w, so the message was not acknowledged: %w", errHistoryFailed, err))
			return
		}
		_ = l.enqueue(writeItem{pt: encodeAck(m.id)})
	}
	fresh := l.s.markSeen(l.fingerprint, id)
	// The ack, or the history write it waits for, is under way before the
	// front end hears of the message: the event wakes another goroutine,
	// which must not hold up the partner's round trip.
	if conv := l.history(); conv != nil {
		conv.AppendMessage(history.MessageRecord{ID: id, Time: m.time, Text: m.text}, ack)
	} else if l.conn.Buffered() > 0 || !l.sendNow(writeItem{pt: encodeAck(m.id)}) {
		// Acknowledged from the reader at once when no other record is
		// here yet; in a burst the acks go to the writer, which batches.
		ack(nil)
	}
	if fresh {
		p := l.partnerCopy()
		l.s.emit(MessageEvent{Link: l.id, Contact: l.fingerprint, Message: Message{
			ID: id, From: p.Label(), Text: m.text, Time: m.time, Wire: transport.Frame(rec),
		}})
	}
}

// unsee forgets that id arrived, so that a resend is written again.
func (s *Session) unsee(partner, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.seen[partner]; m != nil {
		m.remove(id)
	}
}

// cleanup runs once the reader stops: unacknowledged messages fail, the
// history records the end, and the front end hears why.
func (l *link) cleanup(readErr error) Event {
	var (
		bye   *errBye
		byeIs EndReason
	)
	l.mu.Lock()
	ours := l.endReason
	if errors.As(readErr, &bye) {
		byeIs = l.m.byeReason(bye)
	}
	l.mu.Unlock()
	var e Ended
	switch {
	case byeIs != 0:
		l.end(byeIs, nil)
		e = l.ended(nil)
		e.Reason, e.Peer, e.Err = byeIs, bye.reason, nil
	case ours != 0:
		l.end(ours, nil) // the reader and writer stop; a goodbye's wait ends
		e = l.ended(nil)
	default:
		r, _ := reasonOf(readErr)
		l.end(r, readErr)
		e = l.ended(readErr)
	}
	l.mu.Lock()
	failed, fx := l.m.finish(e.Reason)
	if l.acceptTimer != nil {
		l.acceptTimer.Stop()
	}
	l.mu.Unlock()
	if errors.Is(e.Err, errHistoryFailed) {
		l.s.emit(HistoryError{Contact: l.fingerprint, Err: e.Err})
	}
	_ = l.apply(fx)
	for _, o := range failed {
		l.s.fail(o, e.Reason, e.Err)
	}
	if conv := l.history(); conv != nil {
		if herr := conv.End(e.Reason.String(), l.s.cfg.Now()); herr != nil {
			l.s.emit(HistoryError{Contact: l.fingerprint, Err: fmt.Errorf("session: the history is not being saved: %w", herr)})
		}
	}
	return e
}
