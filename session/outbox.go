package session

// The outbox: every message we send is written durably to its contact's
// outbox before it is shown or sent (history.Vault.QueueMessage), goes out
// on each connected link of the contact until the contact acknowledges it,
// and is marked delivered (durably) before Delivered is reported. The
// receiver writes a new message durably before acknowledging it, and
// acknowledges a message it has (history.Vault.Received) again without
// showing it: exactly once, across cuts, crashes and restarts.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/securechat/securechat/history"
)

// outState is the controller's memory of the outbox between the durable
// writes: messages being queued, cancelled ones, and received ids whose
// write is under way. Guarded by its own lock, taken after l.sendMu and
// never together with s.mu.
type outState struct {
	mu sync.Mutex
	// queuing: sent by the user, not durable yet (contact+" "+id).
	queuing map[string]bool
	// cancelled: CancelMessage was called (contact+" "+id): never written
	// after that.
	cancelled map[string]bool
	// shown: ids whose outgoing MessageEvent was emitted in this run.
	shown map[string]bool
	// writing: received ids being written; the acks of resends that
	// arrive meanwhile wait for the write.
	writing map[string][]func()
	// delivered: the last messages reported delivered, oldest first, so
	// that a second ack (the message went out on two links, an old one
	// ending and a new one) is not reported again. An ack can only come
	// for a message in flight, and at most maxQueue are.
	delivered     map[string]bool
	deliveredFIFO []string
}

// firstDelivered records that id of contact is delivered and reports
// whether it is news.
func (o *outState) firstDelivered(contact, id string) bool {
	k := key(contact, id)
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.shown, id)
	if o.delivered[k] {
		return false
	}
	o.delivered[k] = true
	o.deliveredFIFO = append(o.deliveredFIFO, k)
	if len(o.deliveredFIFO) > 2*maxQueue {
		for _, old := range o.deliveredFIFO[:maxQueue] {
			delete(o.delivered, old)
		}
		o.deliveredFIFO = append([]string(nil), o.deliveredFIFO[maxQueue:]...)
	}
	return true
}

func (o *outState) init() {
	o.queuing = map[string]bool{}
	o.cancelled = map[string]bool{}
	o.shown = map[string]bool{}
	o.writing = map[string][]func(){}
	o.delivered = map[string]bool{}
}

func key(contact, id string) string { return contact + " " + id }

func (o *outState) isCancelled(contact, id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cancelled[key(contact, id)]
}

// firstShow reports whether the outgoing MessageEvent of id is still to be
// emitted in this run, and records that it is.
func (o *outState) firstShow(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.shown[id] {
		return false
	}
	o.shown[id] = true
	return true
}

type recvState int

const (
	recvNew       recvState = iota // store it, then ack, then show
	recvDuplicate                  // have it: ack again, show nothing
	recvWaiting                    // a copy is being written: ack queued behind it
)

// receiving classifies an incoming id; a new one is marked as being written.
func (o *outState) receiving(box outbox, contact, id string, ack func(), memory bool) recvState {
	k := key(contact, id)
	o.mu.Lock()
	defer o.mu.Unlock()
	if w, ok := o.writing[k]; ok {
		o.writing[k] = append(w, ack)
		return recvWaiting
	}
	if box.Received(contact, id) {
		return recvDuplicate
	}
	if mb, ok := box.(*memOutbox); ok && memory {
		mb.addReceived(contact, id)
		return recvNew
	}
	o.writing[k] = nil
	return recvNew
}

// received: the write of a received id ended; the acks of resends that
// waited for it go out if it is durable.
func (o *outState) received(contact, id string, err error) {
	k := key(contact, id)
	o.mu.Lock()
	waiting := o.writing[k]
	delete(o.writing, k)
	o.mu.Unlock()
	if err != nil {
		return
	}
	for _, ack := range waiting {
		ack()
	}
}

// worker runs the controller's follow-ups of durable writes in order, on
// one goroutine: reporting a message queued or received, sending the
// outbox on a new link, recording acks. The history's callbacks, which
// must not block, post to it.
type worker struct {
	mu    sync.Mutex
	tasks []func()
	wake  chan struct{}
}

func (w *worker) init() { w.wake = make(chan struct{}, 1) }

func (w *worker) post(f func()) {
	w.mu.Lock()
	w.tasks = append(w.tasks, f)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run(wg *sync.WaitGroup, quit <-chan struct{}) {
	defer wg.Done()
	for {
		w.mu.Lock()
		tasks := w.tasks
		w.tasks = nil
		w.mu.Unlock()
		for _, f := range tasks {
			f()
		}
		if len(tasks) > 0 {
			continue
		}
		select {
		case <-w.wake:
		case <-quit:
			return
		}
	}
}

// Send queues text for contact durably and returns its id; [Queued]
// follows once it is durable, then it goes out whenever contact is
// connected.
func (s *Session) Send(contact, text string) (string, error) {
	if err := checkText(text); err != nil {
		return "", err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", ErrClosed
	}
	if s.cfg.Store == nil || s.cfg.Greeting != nil {
		if l := s.linkOf(contact); l == nil || !l.isConnected() {
			return "", ErrNotConnected
		}
	} else if _, ok := s.cfg.Store.Contact(contact); !ok {
		return "", ErrNoContact
	}
	raw, err := s.newID()
	if err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw[:])
	// A queued message wants out: a paused contact is dialed at once.
	s.redial.resume(contact)
	m := history.OutboxMessage{Contact: contact, ID: id, Text: text, Time: s.cfg.Now()}
	s.out.mu.Lock()
	s.out.queuing[key(contact, id)] = true
	s.out.mu.Unlock()
	s.box.QueueMessage(contact, m, func(err error) {
		s.worker.post(func() { s.queuedDurable(m, err) })
	})
	return id, nil
}

// queuedDurable (worker): m is durably queued, or could not be.
func (s *Session) queuedDurable(m history.OutboxMessage, err error) {
	k := key(m.Contact, m.ID)
	s.out.mu.Lock()
	delete(s.out.queuing, k)
	cancelled := s.out.cancelled[k]
	s.out.mu.Unlock()
	if err != nil {
		s.emit(Failed{Contact: m.Contact, ID: m.ID, Reason: EndWeLeft, Err: fmt.Errorf("%w: %w", errHistoryFailed, err)})
		return
	}
	s.emit(Queued{Contact: m.Contact, Message: Message{ID: m.ID, Outgoing: true, From: s.cfg.Name, Text: m.Text, Time: m.Time}})
	if cancelled {
		s.cancelDurably(m.Contact, m.ID)
		return
	}
	if l := s.linkOf(m.Contact); l != nil && l.outboxSent() {
		l.sendOut(m)
	}
}

// linkConnected: l is connected; the contact's outbox goes out on it,
// oldest first, before anything queued later.
func (s *Session) linkConnected(l *link) {
	s.redial.connected(l.fingerprint, l.leaving)
	s.worker.post(func() {
		for _, m := range s.box.Outbox(l.fingerprint) {
			k := key(l.fingerprint, m.ID)
			s.out.mu.Lock()
			skip := s.out.queuing[k] || s.out.cancelled[k]
			s.out.mu.Unlock()
			if !skip {
				l.sendOut(m)
			}
		}
		l.mu.Lock()
		l.flushed = true
		l.mu.Unlock()
	})
}

// outboxSent reports that the outbox went out on l: newer messages follow
// it directly.
func (l *link) outboxSent() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushed && l.m.state == linkConnected
}

// sendOut sends a queued message on l; a link that cannot take it leaves
// it in the outbox.
func (l *link) sendOut(m history.OutboxMessage) {
	raw, err := hex.DecodeString(m.ID)
	if err != nil || len(raw) != IDSize {
		return // not one of ours: ids are IDSize random bytes
	}
	o := &outgoing{text: m.Text, time: m.Time, partner: m.Contact}
	copy(o.id[:], raw)
	_ = l.sendText(o, l.s.out.firstShow(m.ID))
}

// acked: the contact acknowledged id; recorded, then reported. Acks are
// recorded by a worker of their own, so that a burst of them does not hold
// up the showing of received messages, and a batch at once, so that the
// history commits them together.
func (s *Session) acked(contact, id string) {
	s.acks.mu.Lock()
	s.acks.todo = append(s.acks.todo, ackItem{contact: contact, id: id})
	s.acks.mu.Unlock()
	s.acker.post(s.recordAcks)
}

type ackItem struct{ contact, id string }

// ackQueue holds the acks not yet recorded.
type ackQueue struct {
	mu   sync.Mutex
	todo []ackItem
}

// maxAckBatch bounds the acks recorded at once.
const maxAckBatch = 256

// recordAcks (acker) records the acks waiting, together, then reports them
// in the order they came.
func (s *Session) recordAcks() {
	for {
		s.acks.mu.Lock()
		batch := s.acks.todo[:min(len(s.acks.todo), maxAckBatch)]
		s.acks.todo = s.acks.todo[len(batch):]
		s.acks.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, a := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.box.MarkDelivered(a.contact, a.id)
			}()
		}
		wg.Wait()
		for i, a := range batch {
			switch err := errs[i]; {
			case errors.Is(err, history.ErrUnknownMessage):
				continue // not a message of ours (any more): nothing to report
			case err != nil:
				s.emit(HistoryError{Contact: a.contact, Err: fmt.Errorf("session: failed to record a delivery: %w", err)})
				continue
			}
			if s.out.firstDelivered(a.contact, a.id) {
				s.emit(Delivered{Contact: a.contact, ID: a.id})
			}
		}
	}
}

// CancelMessage cancels a queued message: it is never written to a
// connection after this returns. [Cancelled] follows.
func (s *Session) CancelMessage(contact, id string) error {
	k := key(contact, id)
	mark := func() (queuing bool) {
		s.out.mu.Lock()
		defer s.out.mu.Unlock()
		s.out.cancelled[k] = true
		return s.out.queuing[k]
	}
	var queuing bool
	if l := s.linkOf(contact); l != nil {
		// Marked while no record is being sealed and written: a write of
		// the message under way ends first, and every later one sees the
		// mark.
		l.sendMu.Lock()
		queuing = mark()
		l.sendMu.Unlock()
	} else {
		queuing = mark()
	}
	if queuing {
		return nil // cancelled durably once its queuing is durable
	}
	return s.cancelDurably(contact, id)
}

func (s *Session) cancelDurably(contact, id string) error {
	err := s.box.CancelQueued(contact, id)
	if err != nil {
		s.out.mu.Lock()
		delete(s.out.cancelled, key(contact, id))
		s.out.mu.Unlock()
		return fmt.Errorf("session: %w", err)
	}
	// Reported by the worker: after the message's Queued, and never
	// blocking the caller, which may be the one reading the events.
	s.worker.post(func() { s.emit(Cancelled{Contact: contact, ID: id}) })
	return nil
}

// memOutbox is the outbox without a profile: in memory, lost at exit.
type memOutbox struct {
	mu       sync.Mutex
	queued   []history.OutboxMessage
	done     int               // entries of queued no longer queued
	status   map[string]string // contact+" "+id -> history status
	received map[string]bool
}

func newMemOutbox() *memOutbox {
	return &memOutbox{status: map[string]string{}, received: map[string]bool{}}
}

func (b *memOutbox) QueueMessage(contact string, m history.OutboxMessage, durable func(error)) {
	b.mu.Lock()
	k := key(contact, m.ID)
	_, dup := b.status[k]
	if !dup {
		m.Contact = contact
		b.queued = append(b.queued, m)
		b.status[k] = history.StatusQueued
	}
	b.mu.Unlock()
	// In memory, queued is durable at once; called in order, like the
	// history's group commit.
	if dup {
		durable(errors.New("session: message already queued"))
		return
	}
	durable(nil)
}

func (b *memOutbox) Outbox(contact string) []history.OutboxMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []history.OutboxMessage
	for _, m := range b.queued {
		if (contact == "" || m.Contact == contact) && b.status[key(m.Contact, m.ID)] == history.StatusQueued {
			out = append(out, m)
		}
	}
	return out
}

func (b *memOutbox) mark(contact, id, status string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := key(contact, id)
	st, ok := b.status[k]
	switch {
	case !ok:
		return history.ErrUnknownMessage
	case st == history.StatusDelivered && status == history.StatusCancelled:
		return history.ErrAlreadyDelivered
	case st == history.StatusCancelled && status == history.StatusCancelled:
		return nil
	}
	if st == history.StatusQueued {
		b.done++
	}
	b.status[k] = status
	// Drop what is done, so that a long chat does not grow the list; only
	// once half of it is done, so that each ack of a burst costs O(1)
	// rather than a scan of the whole list.
	if b.done > len(b.queued)/2 {
		b.queued = deleteDone(b.queued, b.status)
		b.done = 0
	}
	return nil
}

func deleteDone(q []history.OutboxMessage, status map[string]string) []history.OutboxMessage {
	out := q[:0]
	for _, m := range q {
		if status[key(m.Contact, m.ID)] == history.StatusQueued {
			out = append(out, m)
		}
	}
	return out
}

func (b *memOutbox) MarkDelivered(contact, id string) error {
	return b.mark(contact, id, history.StatusDelivered)
}

func (b *memOutbox) CancelQueued(contact, id string) error {
	return b.mark(contact, id, history.StatusCancelled)
}

func (b *memOutbox) Received(contact, id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.received[key(contact, id)]
}

func (b *memOutbox) addReceived(contact, id string) {
	b.mu.Lock()
	b.received[key(contact, id)] = true
	b.mu.Unlock()
}
