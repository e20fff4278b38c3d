package history

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"runtime"
	"sort"
	"strings"
)

// Message statuses in [StoredMessage].
const (
	StatusSending   = "sending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	// StatusQueued is an outgoing message in the outbox: written, not yet
	// acknowledged by the contact.
	StatusQueued = "queued"
	// StatusCancelled is a queued message the user cancelled: it is never
	// sent after that.
	StatusCancelled = "cancelled"
)

// Message statuses as the index holds them.
const (
	stSending uint8 = iota
	stDelivered
	stFailed
	stQueued
	stCancelled
)

var statusNames = [...]string{stSending: StatusSending, stDelivered: StatusDelivered, stFailed: StatusFailed,
	stQueued: StatusQueued, stCancelled: StatusCancelled}

// msgRef is one message as the index holds it: where its record is in the
// history file, and its status. The text stays in the file until
// [Vault.Load] or [Vault.Search] reads it.
type msgRef struct {
	off      int64  // offset of the message's first record in the history file
	size     uint32 // the record's framed size
	status   uint8
	incoming bool // received, not sent (it takes room that was padding)
}

// refBlock is how many message references a block of a [refList] holds.
const refBlock = 1 << 12

// refList is a conversation's message references. Past its first block it
// grows by whole blocks, so that a long conversation never copies the
// references it holds, nor keeps room it may not use.
type refList struct {
	blocks [][]msgRef // all but the first hold refBlock references, or are being filled
	n      int
}

func (l *refList) len() int { return l.n }

func (l *refList) append(m msgRef) {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == refBlock {
		var b []msgRef
		if len(l.blocks) > 0 {
			b = make([]msgRef, 0, refBlock)
		}
		l.blocks = append(l.blocks, b)
	}
	last := &l.blocks[len(l.blocks)-1]
	*last = append(*last, m)
	l.n++
}

func (l *refList) at(i int32) *msgRef { return &l.blocks[i/refBlock][i%refBlock] }

// clone returns the references as one slice.
func (l *refList) clone() []msgRef {
	out := make([]msgRef, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

// idKey is a 128-bit keyed hash of a message id (two maphash values with
// independent random seeds): two ids of one conversation share one with a
// probability of about n²/2¹²⁹, so a message is never taken for the resend
// of another.
type idKey struct{ a, b uint64 }

// idTable maps the keyed hash of a message id to the message's index in
// its conversation. It is a hash table with open addressing and linear
// probing, 20 bytes a slot: at a million messages Go's map spent a quarter
// of the time of an open splitting its tables as it grew.
type idTable struct {
	keys []idKey // the zero key marks an empty slot; a zero hash is stored with b = 1
	vals []int32
	n    int
}

// slot returns the slot of h: where it is, or the empty slot where it
// belongs.
func (t *idTable) slot(h idKey) int {
	mask := uint64(len(t.keys) - 1)
	for i := h.a & mask; ; i = (i + 1) & mask {
		if k := t.keys[i]; k == h || k == (idKey{}) {
			return int(i)
		}
	}
}

func nonZero(h idKey) idKey {
	if h == (idKey{}) {
		h.b = 1
	}
	return h
}

// get returns the value of h.
func (t *idTable) get(h idKey) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	h = nonZero(h)
	i := t.slot(h)
	return t.vals[i], t.keys[i] == h
}

// getOrPut returns the value of h, or stores v for it and returns false.
func (t *idTable) getOrPut(h idKey, v int32) (int32, bool) {
	h = nonZero(h)
	if (t.n+1)*4 > len(t.keys)*3 {
		t.grow()
	}
	i := t.slot(h)
	if t.keys[i] == h {
		return t.vals[i], true
	}
	t.keys[i], t.vals[i] = h, v
	t.n++
	return v, false
}

func (t *idTable) grow() {
	old, oldVals := t.keys, t.vals
	size := max(2*len(old), 8)
	t.keys, t.vals = make([]idKey, size), make([]int32, size)
	for j, k := range old {
		if k != (idKey{}) {
			i := t.slot(k)
			t.keys[i], t.vals[i] = k, oldVals[j]
		}
	}
}

// conversation is the in-memory state of one conversation, rebuilt from the
// history file at open and kept up to date as records are committed.
type conversation struct {
	id   convID
	sum  Summary
	msgs refList // in file order, so by increasing offset
	// byID maps the keyed 128-bit hash of a message id to its index in
	// msgs; the seeds are random per open, so a partner cannot choose ids
	// that collide.
	byID    idTable
	reasons map[int32]string // why a failed message failed, by index in msgs
	nextSeq uint64
	// order is the conversation's place in the file: the rank of its first
	// record among the first records of all conversations.
	order uint64
	// incoming counts the messages we received (resends once).
	incoming int
	// outbox says that this is an outbox stream (start role 3), not a
	// connection.
	outbox bool
	// th is the state of the conversation's thread, once its start record
	// named a key.
	th *contactState
}

// index holds every conversation's summary and, per message, where its
// record is, so that listing never touches the disk and loading or searching
// reads only the records it needs.
type index struct {
	convs   map[convID]*conversation
	notices []string
	orders  uint64 // conversations seen, for conversation.order
	// contacts holds, per thread (lower-case key fingerprint), what
	// outlives the scan: received ids and the outbox.
	contacts map[string]*contactState
	// scanning is set while the history file is read at open.
	scanning bool
	seed     maphash.Seed
	seed2    maphash.Seed
}

func newIndex() *index {
	return &index{convs: make(map[convID]*conversation), contacts: make(map[string]*contactState), seed: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
}

func (ix *index) notice(s string) { ix.notices = append(ix.notices, s) }

func shortID(c convID) string { return hex.EncodeToString(c[:4]) }

func (ix *index) conversation(c convID) *conversation {
	cv := ix.convs[c]
	if cv == nil {
		cv = &conversation{id: c, sum: Summary{ID: hex.EncodeToString(c[:])}, order: ix.orders}
		ix.orders++
		ix.convs[c] = cv
	}
	return cv
}

// apply adds one record of conversation c, in file order; at is where the
// record is in the file. The strings of r may be reused after the call.
func (ix *index) apply(c convID, seq uint64, at recordAt, r record) {
	cv := ix.conversation(c)
	switch {
	case seq < cv.nextSeq:
		ix.notice(fmt.Sprintf("conversation %s: record %d out of order, skipped", shortID(c), seq))
		return
	case seq > cv.nextSeq:
		ix.notice(fmt.Sprintf("conversation %s: %d records missing before record %d", shortID(c), seq-cv.nextSeq, seq))
	}
	cv.nextSeq = seq + 1

	switch r.kind {
	case kindStart:
		cv.sum.Partner, cv.sum.Fingerprint = strings.Clone(r.partner), strings.Clone(r.fingerprint)
		cv.sum.Role, cv.sum.Addr = r.role, strings.Clone(r.addr)
		cv.sum.Start = r.time
		cv.outbox = r.role == roleOutboxName
		if r.fingerprint != "" {
			cv.th = ix.contact(threadKey(r.fingerprint))
		}
	case kindMessage:
		if cv.sum.Start.IsZero() {
			cv.sum.Start = r.time // the start record is missing or damaged
		}
		if cv.outbox {
			ix.queued(cv, at, r)
			return
		}
		status := stDelivered // a message we received was delivered to us
		if r.outgoing {
			status = stSending
		}
		key := ix.key(r.id)
		if i, ok := cv.byID.getOrPut(key, int32(cv.msgs.len())); ok {
			// A resend: the same message again.
			cv.msgs.at(i).status = status
			delete(cv.reasons, i)
			return
		}
		cv.msgs.append(msgRef{off: at.off, size: at.size, status: status, incoming: !r.outgoing})
		cv.sum.Messages = cv.msgs.len()
		if !r.outgoing {
			cv.incoming++
			if cv.th != nil && !ix.scanning {
				// While the file is read, finishScan adds them all at once.
				cv.th.received.put(key)
			}
		}
	case kindStatus:
		if cv.outbox {
			ix.outboxStatus(cv, r)
			return
		}
		i, ok := cv.byID.get(ix.key(r.id))
		if !ok {
			ix.notice(fmt.Sprintf("conversation %s: status for an unknown message skipped", shortID(c)))
			return
		}
		if r.delivered {
			cv.msgs.at(i).status = stDelivered
			delete(cv.reasons, i)
		} else {
			cv.msgs.at(i).status = stFailed
			if cv.reasons == nil {
				cv.reasons = make(map[int32]string)
			}
			cv.reasons[i] = strings.Clone(r.reason)
		}
	case kindEnd:
		cv.sum.End, cv.sum.EndReason = r.time, strings.Clone(r.reason)
	}
}

// finishScan is called once the history file is read: it fills every
// thread's received ids from its conversations' id tables, each set made
// at its final size once, then drops the conversations' tables.
func (ix *index) finishScan() {
	ix.scanning = false
	n := make(map[*contactState]int)
	for _, cv := range ix.convs {
		if cv.th != nil && !cv.outbox {
			n[cv.th] += cv.incoming
		}
	}
	for th, k := range n {
		th.received.reserve(th.received.n + k)
	}
	for _, cv := range ix.convs {
		if cv.th == nil || cv.outbox || cv.incoming == 0 {
			continue
		}
		t := &cv.byID
		for j, h := range t.keys {
			if h != (idKey{}) && cv.msgs.at(t.vals[j]).incoming {
				cv.th.received.put(h)
			}
		}
	}
	ix.forgetIDs()
}

// forgetIDs drops the message ids of every conversation, once the file is
// read: only a [Writer] appends, and each writes a new conversation, so no
// status or resend will name a message of these again. At a million
// messages the tables took 26 MiB.
func (ix *index) forgetIDs() {
	for _, cv := range ix.convs {
		cv.byID = idTable{}
	}
}

// summaries returns every conversation, newest first.
func (ix *index) summaries() []Summary {
	out := make([]Summary, 0, len(ix.convs))
	for _, cv := range ix.convs {
		out = append(out, cv.sum)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// find returns the conversation whose id is id or starts with it, if only
// one does.
func (ix *index) find(id string) (*conversation, error) {
	id = strings.ToLower(id)
	if c, err := hex.DecodeString(id); err == nil && len(c) == convIDSize {
		if cv, ok := ix.convs[convID(c)]; ok {
			return cv, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrNoConversation, id)
	}
	var found *conversation
	if len(id) >= 4 {
		for _, cv := range ix.convs {
			if strings.HasPrefix(cv.sum.ID, id) {
				if found != nil {
					return nil, fmt.Errorf("history: conversation id %q is ambiguous", id)
				}
				found = cv
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoConversation, id)
	}
	return found, nil
}

// convSnapshot is one conversation as the index held it at one moment: what
// [Vault.Load] and [Vault.Search] read from the file without holding the
// index's lock. The committer only ever writes past the records it names.
type convSnapshot struct {
	id      convID
	sum     Summary
	msgs    []msgRef
	reasons map[int32]string
}

func (cv *conversation) snapshot() convSnapshot {
	return convSnapshot{id: cv.id, sum: cv.sum, msgs: cv.msgs.clone(), reasons: maps.Clone(cv.reasons)}
}

// message returns the i-th message with the id and text given.
func (s *convSnapshot) message(i int, r *record, id, text string) StoredMessage {
	ref := s.msgs[i]
	return StoredMessage{ID: id, Outgoing: r.outgoing, Time: r.time, Text: text,
		Status: statusNames[ref.status], Reason: s.reasons[int32(i)]}
}

// parallelLoad is the fewest messages a load splits between two goroutines.
const parallelLoad = 20000

// transcript reads the conversation's messages from the history file.
func (s *convSnapshot) transcript(rd *recordReader) (*Transcript, error) {
	msgs := make([]StoredMessage, len(s.msgs))
	if err := s.load(rd, func(i int, m StoredMessage) { msgs[i] = m }); err != nil {
		return nil, err
	}
	return &Transcript{Summary: s.sum, Messages: msgs}, nil
}

// load reads the conversation's messages from the history file and gives
// each to put with its index. The texts and ids of each half of a long
// conversation share one allocation, and the two halves are read and
// opened at once: put is called from two goroutines, for different indexes.
func (s *convSnapshot) load(rd *recordReader, put func(i int, m StoredMessage)) error {
	load := func(lo, hi int) error {
		var arena strings.Builder
		arena.Grow(plainBound(s.msgs[lo:hi]))
		return rd.messages(s.id, s.msgs[lo:hi], func(i int, r *record) {
			at := arena.Len()
			arena.WriteString(r.id)
			arena.WriteString(r.text)
			all := arena.String()
			put(lo+i, s.message(lo+i, r, all[at:at+len(r.id)], all[at+len(r.id):]))
		})
	}
	if n := len(s.msgs); n < parallelLoad || runtime.GOMAXPROCS(0) < 2 {
		return load(0, n)
	}
	n := len(s.msgs)
	done := make(chan error, 1)
	go func() { done <- load(n/2, n) }()
	return errors.Join(load(0, n/2), <-done)
}

// hitBlock is how many hits a block of a [hitList] holds.
const hitBlock = 1024

// hitList collects hits in blocks, so that a search that finds many
// messages copies each hit once, into the slice it returns.
type hitList struct {
	blocks [][]Hit
	n      int
}

func (l *hitList) add(h Hit) {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == hitBlock {
		l.blocks = append(l.blocks, make([]Hit, 0, hitBlock))
	}
	last := &l.blocks[len(l.blocks)-1]
	*last = append(*last, h)
	l.n++
}

func (l *hitList) all() []Hit {
	if l.n == 0 {
		return nil
	}
	out := make([]Hit, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

// search adds the conversation's messages that contain the lower-case q,
// ignoring case, to hits. The ids and texts of the hits share one
// allocation per conversation; messages not found are not kept.
func (s *convSnapshot) search(rd *recordReader, q string, hits *hitList) error {
	var arena strings.Builder
	return rd.messages(s.id, s.msgs, func(i int, r *record) {
		if containsFold(r.text, q) {
			at := arena.Len()
			arena.WriteString(r.id)
			arena.WriteString(r.text)
			all := arena.String()
			hits.add(Hit{Conversation: s.sum, Message: s.message(i, r, all[at:at+len(r.id)], all[at+len(r.id):])})
		}
	})
}

// plainBound is the room the ids and texts of msgs take: a message
// record's plaintext is its id and text and 18 bytes of other fields.
func plainBound(msgs []msgRef) int {
	n := 0
	for _, m := range msgs {
		n += max(int(m.size)-recHeaderSize-tagSize-messageFixedSize, 0)
	}
	return n
}

// containsFold reports whether s contains the lower-case q, ignoring case.
// ASCII text is compared in place; other text is lowered first.
func containsFold(s, q string) bool {
	if len(q) == 0 {
		return true
	}
	if len(s) < len(q) {
		return false
	}
	if !isASCII(s) || !isASCII(q) {
		return strings.Contains(strings.ToLower(s), q)
	}
	for i := 0; i+len(q) <= len(s); i++ {
		j := 0
		for ; j < len(q); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				break
			}
		}
		if j == len(q) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func mustConvID(s string) convID {
	var c convID
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		panic("history: bad conversation id in index") // ids come from convID values
	}
	return c
}

// key is the 128-bit keyed hash of a message id.
func (ix *index) key(id string) idKey {
	return idKey{maphash.String(ix.seed, id), maphash.String(ix.seed2, id)}
}
