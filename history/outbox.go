package history

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// The outbox: every outgoing message is written to its contact's thread as
// "queued" before it is shown or sent, then marked "delivered" when the
// contact acknowledges it or "cancelled" when the user cancels it. Each open
// of the vault writes the outbox records of a contact to an outbox stream of
// its own (a conversation whose start record has role 3), started with the
// first of them; a status names a message of any outbox stream of the same
// key. docs/HISTORY-FORMAT.md describes the records.

var (
	// ErrUnknownMessage is wrapped by [Vault.MarkDelivered] and
	// [Vault.CancelQueued] for an id that names no queued message of the
	// contact.
	ErrUnknownMessage = errors.New("history: no such outgoing message")
	// ErrAlreadyDelivered is wrapped by [Vault.CancelQueued] for a message
	// the contact already acknowledged.
	ErrAlreadyDelivered = errors.New("history: the message was already delivered")
)

// OutboxMessage is an outgoing message as [Vault.QueueMessage] writes it
// and [Vault.Outbox] lists it.
type OutboxMessage struct {
	Contact string // key fingerprint
	ID      string // 32 hex digits
	Text    string
	Time    time.Time // when the user wrote it
}

// contactState is what the index keeps of one thread beyond its
// conversations: the keyed hashes of the ids it received, for
// [Vault.Received], and its outbox.
type contactState struct {
	contact  string // lower-case key fingerprint
	received idSet  // incoming messages of the thread's conversations
	outByID  idTable
	out      []outRef // every message of the thread's outbox streams, in file order
	// pending holds the messages still queued, with their texts, by index
	// in out: the session resends them, so they are kept rather than read
	// again. A delivered or cancelled message keeps only its reference.
	pending map[int32]OutboxMessage
}

// outRef is one message of an outbox stream.
type outRef struct {
	cv *conversation
	i  int32 // index in cv.msgs
}

func (r outRef) ref() *msgRef { return r.cv.msgs.at(r.i) }

// contact returns the state of the thread of contact (a lower-case key
// fingerprint), made if missing.
func (ix *index) contact(contact string) *contactState {
	th := ix.contacts[contact]
	if th == nil {
		contact = strings.Clone(contact) // it may share the scan's buffer
		th = &contactState{contact: contact}
		ix.contacts[contact] = th
	}
	return th
}

// queued applies a message record of the outbox stream cv.
func (ix *index) queued(cv *conversation, at recordAt, r record) {
	th := cv.th
	if th == nil {
		ix.notice(fmt.Sprintf("conversation %s: queued message without a contact skipped", shortID(cv.id)))
		return
	}
	j := int32(len(th.out))
	if _, dup := th.outByID.getOrPut(ix.key(r.id), j); dup {
		ix.notice(fmt.Sprintf("conversation %s: message queued twice, skipped", shortID(cv.id)))
		return
	}
	cv.msgs.append(msgRef{off: at.off, size: at.size, status: stQueued})
	cv.sum.Messages = cv.msgs.len()
	th.out = append(th.out, outRef{cv: cv, i: int32(cv.msgs.len() - 1)})
	if th.pending == nil {
		th.pending = make(map[int32]OutboxMessage)
	}
	th.pending[j] = OutboxMessage{Contact: th.contact, ID: strings.Clone(r.id), Text: strings.Clone(r.text), Time: r.time}
}

// outboxStatus applies a status record of the outbox stream cv: it names a
// message of any outbox stream of the same thread. Delivered wins over
// queued and cancelled (the contact has the message); cancelled only
// changes a queued message.
func (ix *index) outboxStatus(cv *conversation, r record) {
	var j int32
	ok := false
	if cv.th != nil {
		j, ok = cv.th.outByID.get(ix.key(r.id))
	}
	if !ok {
		ix.notice(fmt.Sprintf("conversation %s: status for an unknown message skipped", shortID(cv.id)))
		return
	}
	m := cv.th.out[j].ref()
	switch {
	case r.delivered:
		m.status = stDelivered
	case r.cancelled:
		if m.status != stQueued {
			return
		}
		m.status = stCancelled
	default:
		ix.notice(fmt.Sprintf("conversation %s: status of a queued message other than delivered or cancelled skipped", shortID(cv.id)))
		return
	}
	delete(cv.th.pending, j)
}

// outboxStatusOf returns the status of the outbox message id of contact.
func (ix *index) outboxStatusOf(contact, id string) (uint8, bool) {
	th := ix.contacts[contact]
	if th == nil {
		return 0, false
	}
	j, ok := th.outByID.get(ix.key(id))
	if !ok {
		return 0, false
	}
	return th.out[j].ref().status, true
}

// QueueMessage appends an outgoing message for contact as queued and calls
// durable(nil) once it is fsynced (group commit, as [Writer.AppendMessage]),
// or durable(err). It needs no connection. durable is called from a
// history goroutine, never on the caller's, and must not block. An id
// already queued for contact is refused.
func (v *Vault) QueueMessage(contact string, m OutboxMessage, durable func(error)) {
	if durable == nil {
		durable = func(error) {}
	}
	fail := func(err error) { go durable(fmt.Errorf("history: queue message: %w", err)) }
	contact = threadKey(contact)
	switch {
	case contact == "":
		fail(errors.New("no contact given"))
		return
	case m.ID == "":
		fail(errors.New("no message id given"))
		return
	case len(m.Text) > maxTextSize || len(m.ID) > maxFieldSize:
		fail(errors.New("message too large to save"))
		return
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	// An id is queued once: it is looked up in the index and among the
	// messages being written, which leave that set once applied.
	key := contact + "\x00" + m.ID
	v.qmu.Lock()
	defer v.qmu.Unlock()
	v.mu.RLock()
	_, dup := v.idx.outboxStatusOf(contact, m.ID)
	v.mu.RUnlock()
	if _, writing := v.queueing[key]; dup || writing {
		fail(fmt.Errorf("message %q is already in the outbox", m.ID))
		return
	}
	w, err := v.outboxWriter(contact)
	if err != nil {
		fail(err)
		return
	}
	rec := record{kind: kindMessage, outgoing: true, time: m.Time, id: m.ID, text: m.Text}
	done := func(err error) {
		v.qmu.Lock()
		delete(v.queueing, key)
		v.qmu.Unlock()
		durable(err)
	}
	if err := v.log.enqueue(w, rec, done, false); err != nil {
		fail(err)
		return
	}
	if v.queueing == nil {
		v.queueing = make(map[string]struct{})
	}
	v.queueing[key] = struct{}{}
}

// outboxWriter returns the outbox stream of contact for this open, made
// (not yet written: the committer writes its start record with its first
// record) if missing.
func (v *Vault) outboxWriter(contact string) (*writer, error) {
	lw := v.log
	lw.mu.Lock()
	w, closing := lw.outboxes[contact], lw.closing
	lw.mu.Unlock()
	if w != nil {
		return w, nil
	}
	if closing {
		return nil, ErrClosed
	}
	name := ""
	if c, ok := v.Contact(contact); ok {
		name = c.TheirName
		if name == "" {
			name = c.Name
		}
	}
	if name == "" {
		// No contact (yet): the name of the thread's last connection.
		v.mu.RLock()
		for _, cv := range v.idx.thread(contact) {
			if !cv.outbox && cv.sum.Partner != "" {
				name = cv.sum.Partner
			}
		}
		v.mu.RUnlock()
	}
	if len(name) > maxFieldSize {
		name = ""
	}
	w = &writer{lw: lw}
	rand.Read(w.id[:])
	w.hexID = hex.EncodeToString(w.id[:])
	v.mu.RLock()
	aead, err := conversationKey(v.dataKey, w.id)
	v.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	w.aead = aead
	w.start = &record{kind: kindStart, time: time.Now(), role: roleOutboxName, partner: name, fingerprint: contact}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closing {
		return nil, ErrClosed
	}
	if old := lw.outboxes[contact]; old != nil {
		return old, nil
	}
	if lw.outboxes == nil {
		lw.outboxes = make(map[string]*writer)
	}
	lw.outboxes[contact] = w
	return w, nil
}

// appendOutboxStatus writes a delivered or cancelled mark for the outbox
// message id of contact and waits until it is durable. If the contact's
// history was deleted meanwhile (its outbox stream ended), the message is
// gone: [ErrUnknownMessage].
func (v *Vault) appendOutboxStatus(contact, id string, delivered bool) error {
	rec := record{kind: kindStatus, id: id, delivered: delivered, cancelled: !delivered}
	for try := 0; ; try++ {
		// A message whose history was deleted since it was queued gets no
		// mark: written into the contact's next outbox stream, it would
		// name a message that no longer exists.
		v.mu.RLock()
		_, known := v.idx.outboxStatusOf(contact, id)
		v.mu.RUnlock()
		if !known {
			return ErrUnknownMessage
		}
		w, err := v.outboxWriter(contact)
		if err == nil {
			err = v.log.appendWait(w, rec, false)
		}
		if !errors.Is(err, ErrClosed) || try > 0 {
			return err
		}
		v.mu.RLock()
		_, known = v.idx.outboxStatusOf(contact, id)
		v.mu.RUnlock()
		if !known {
			return ErrUnknownMessage
		}
		// The stream ended for another reason (the vault is closing):
		// the next try says so.
	}
}

// Outbox lists the queued messages that are neither delivered nor
// cancelled, oldest first (in the order they were written); contact ""
// lists every contact's.
func (v *Vault) Outbox(contact string) []OutboxMessage {
	v.mu.RLock()
	defer v.mu.RUnlock()
	type item struct {
		off int64
		m   OutboxMessage
	}
	var items []item
	add := func(th *contactState) {
		for j, m := range th.pending {
			items = append(items, item{off: th.out[j].ref().off, m: m})
		}
	}
	if contact != "" {
		if th := v.idx.contacts[threadKey(contact)]; th != nil {
			add(th)
		}
	} else {
		for _, th := range v.idx.contacts {
			add(th)
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.off, b.off) })
	out := make([]OutboxMessage, len(items))
	for i, it := range items {
		out[i] = it.m
	}
	return out
}

// MarkDelivered records that contact acknowledged the outbox message id
// and returns once that is durable. Marking a delivered message again does
// nothing; a cancelled one becomes delivered (it was sent before the
// cancel). An id that names no outbox message of contact gives an error
// wrapping [ErrUnknownMessage].
func (v *Vault) MarkDelivered(contact, id string) error {
	contact = threadKey(contact)
	v.mu.RLock()
	st, ok := v.idx.outboxStatusOf(contact, id)
	v.mu.RUnlock()
	if !ok {
		return fmt.Errorf("history: mark delivered: %w", ErrUnknownMessage)
	}
	if st == stDelivered {
		return nil
	}
	if err := v.appendOutboxStatus(contact, id, true); err != nil {
		return fmt.Errorf("history: mark delivered: %w", err)
	}
	return nil
}

// CancelQueued marks a queued message cancelled and returns once that is
// durable; it is never listed by [Vault.Outbox] again. Cancelling a
// cancelled message does nothing. The error wraps [ErrAlreadyDelivered] if
// the contact acknowledged it (also if the acknowledgement is recorded
// while the cancel is written), [ErrUnknownMessage] if id names no outbox
// message of contact.
func (v *Vault) CancelQueued(contact, id string) error {
	contact = threadKey(contact)
	status := func() (uint8, bool) {
		v.mu.RLock()
		defer v.mu.RUnlock()
		return v.idx.outboxStatusOf(contact, id)
	}
	st, ok := status()
	switch {
	case !ok:
		return fmt.Errorf("history: cancel: %w", ErrUnknownMessage)
	case st == stDelivered:
		return fmt.Errorf("history: cancel: %w", ErrAlreadyDelivered)
	case st == stCancelled:
		return nil
	}
	if err := v.appendOutboxStatus(contact, id, false); err != nil {
		return fmt.Errorf("history: cancel: %w", err)
	}
	if st, _ := status(); st == stDelivered {
		return fmt.Errorf("history: cancel: %w", ErrAlreadyDelivered)
	}
	return nil
}

// Received reports whether an incoming message with that id from contact
// is in the history: in any conversation of the thread, durably written,
// also from before a restart. It is one lookup in a table of keyed hashes.
func (v *Vault) Received(contact, id string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	th := v.idx.contacts[threadKey(contact)]
	return th != nil && th.received.has(v.idx.key(id))
}

// idSet is a set of keyed id hashes: an [idTable] without values, 16 bytes
// a slot.
type idSet struct {
	keys []idKey // the zero key marks an empty slot
	n    int
}

// probe returns the slot of h: where it is, or the empty slot where it
// belongs. The table's size need not be a power of two (so reserve can
// make it just large enough): h.a is mapped onto it by multiplication.
func probe(keys []idKey, h idKey) int {
	n := uint64(len(keys))
	i, _ := bits.Mul64(h.a, n)
	for {
		if k := keys[i]; k == h || k == (idKey{}) {
			return int(i)
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (s *idSet) has(h idKey) bool {
	if s.n == 0 {
		return false
	}
	h = nonZero(h)
	return s.keys[probe(s.keys, h)] == h
}

func (s *idSet) put(h idKey) {
	h = nonZero(h)
	if (s.n+1)*4 > len(s.keys)*3 {
		s.resize(max(2*len(s.keys), 8))
	}
	if i := probe(s.keys, h); s.keys[i] != h {
		s.keys[i] = h
		s.n++
	}
}

// reserve makes room for n keys, at most three quarters full.
func (s *idSet) reserve(n int) {
	if size := n*4/3 + 1; size > len(s.keys) {
		s.resize(size)
	}
}

func (s *idSet) resize(size int) {
	old := s.keys
	s.keys = make([]idKey, size)
	for _, k := range old {
		if k != (idKey{}) {
			s.keys[probe(s.keys, k)] = k
		}
	}
}
