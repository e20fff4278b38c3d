package session

// The sending side of a link: the queue, the fast path and the writer
// goroutine, which seal our records in order and write them.

import (
	"encoding/hex"
	"errors"
	"time"

	"github.com/securechat/securechat/transport"
)

// writeItem is a plaintext the writer seals and sends.
type writeItem struct {
	pt    []byte
	msg   *outgoing // a text message: its MessageEvent is emitted when written
	retry bool      // a resend: no new MessageEvent
	bye   bool      // half-close after writing
	fast  bool      // may take the fast path (sendNow) when the writer is idle
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
	if !idle || (it.msg != nil && l.s.out.isCancelled(l.fingerprint, hex.EncodeToString(it.msg.id[:]))) {
		return false // a cancelled message: the writer drops it
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
	if n == 0 && len(l.fileQueue) > 0 {
		// Nothing of the chat waits: one chunk of a file goes out, and the
		// chat queue is looked at again before the next.
		batch = append(batch, l.fileQueue[0])
		l.fileQueue[0] = writeItem{}
		l.fileQueue = l.fileQueue[1:]
	}
	l.mu.Unlock()
	if len(batch) == 0 {
		return false, true
	}
	bye := false
	for _, it := range batch {
		if it.msg != nil && l.s.out.isCancelled(l.fingerprint, hex.EncodeToString(it.msg.id[:])) {
			l.mu.Lock()
			l.m.notSent(hex.EncodeToString(it.msg.id[:]))
			l.mu.Unlock()
			continue
		}
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
