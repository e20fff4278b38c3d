package history

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/securechat/securechat/profile"
)

// A thread is every message of every conversation with one identity key, in
// the order we wrote them to the history file. Each connection still writes
// a conversation of its own; threads are grouped from the index, so a
// history written before threads existed reads as threads without being
// rewritten.

// ThreadSummary describes the thread of one contact.
type ThreadSummary struct {
	Contact  string // key fingerprint
	Name     string // the display name the partner last used
	Messages int
	// Unread counts the incoming messages after the read mark.
	Unread int
	Last   StoredMessage // newest message; zero if none
	// Active is the time of the newest message or connection.
	Active time.Time
}

// ThreadMessage is one message of a thread.
type ThreadMessage struct {
	StoredMessage
	Conversation string // id of the conversation (connection) it was in
	From         string // the partner's display name in that conversation
}

// Thread is every message exchanged with one key, in the order written.
type Thread struct {
	Contact  string
	Messages []ThreadMessage
}

// threadKey is the thread a conversation belongs to: its partner's key
// fingerprint, in lower case. Conversations whose start record was lost
// have none and belong to no thread (Load and Search still find them).
func threadKey(fp string) string { return strings.ToLower(fp) }

// thread returns the conversations of contact, first written first.
func (ix *index) thread(contact string) []*conversation {
	var out []*conversation
	for _, cv := range ix.convs {
		if cv.sum.Fingerprint != "" && threadKey(cv.sum.Fingerprint) == contact {
			out = append(out, cv)
		}
	}
	slices.SortFunc(out, func(a, b *conversation) int { return cmpUint(a.order, b.order) })
	return out
}

// threads returns every thread's conversations, first written first.
func (ix *index) threads() map[string][]*conversation {
	out := make(map[string][]*conversation)
	for _, cv := range ix.convs {
		if cv.sum.Fingerprint == "" {
			continue
		}
		k := threadKey(cv.sum.Fingerprint)
		out[k] = append(out[k], cv)
	}
	for _, cvs := range out {
		slices.SortFunc(cvs, func(a, b *conversation) int { return cmpUint(a.order, b.order) })
	}
	return out
}

// incomingByContact counts every thread's incoming messages: the read marks
// of a history where everything is read.
func (ix *index) incomingByContact() map[string]int {
	out := make(map[string]int)
	for k, cvs := range ix.threads() {
		for _, cv := range cvs {
			out[k] += cv.incoming
		}
	}
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Threads returns a summary of every key with history, newest activity
// first. It reads one record per thread, its newest message.
func (v *Vault) Threads() ([]ThreadSummary, error) {
	v.fmu.RLock()
	defer v.fmu.RUnlock()
	type pending struct {
		sum  ThreadSummary
		last *convSnapshot // the conversation of the newest message, holding only it
	}
	v.mu.RLock()
	groups := v.idx.threads()
	list := make([]pending, 0, len(groups))
	for contact, cvs := range groups {
		p := pending{sum: ThreadSummary{Contact: contact}}
		incoming := 0
		var lastOff int64 = -1
		for _, cv := range cvs {
			if !cv.outbox || p.sum.Name == "" {
				p.sum.Name = cv.sum.Partner // the last connection written wins
			}
			p.sum.Messages += cv.msgs.len()
			incoming += cv.incoming
			if !cv.outbox {
				p.sum.Active = later(p.sum.Active, cv.sum.Start)
			}
			if n := cv.msgs.len(); n > 0 {
				if ref := cv.msgs.at(int32(n - 1)); ref.off > lastOff {
					lastOff = ref.off
					p.last = &convSnapshot{id: cv.id, sum: cv.sum, msgs: []msgRef{*ref}}
					if r, ok := cv.reasons[int32(n-1)]; ok {
						p.last.reasons = map[int32]string{0: r}
					}
				}
			}
		}
		p.sum.Unread = max(incoming-v.prof.Read[contact], 0)
		list = append(list, p)
	}
	v.mu.RUnlock()

	out := make([]ThreadSummary, len(list))
	for i := range list {
		p := &list[i]
		if p.last != nil {
			err := v.reader.messages(p.last.id, p.last.msgs, func(j int, r *record) {
				p.sum.Last = p.last.message(j, r, strings.Clone(r.id), strings.Clone(r.text))
			})
			if err != nil {
				return nil, err
			}
			p.sum.Active = later(p.sum.Active, p.sum.Last.Time)
		}
		out[i] = p.sum
	}
	slices.SortFunc(out, func(a, b ThreadSummary) int {
		if c := b.Active.Compare(a.Active); c != 0 {
			return c
		}
		return strings.Compare(a.Contact, b.Contact)
	})
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Thread returns every message with the key whose fingerprint is contact,
// from every conversation, in the order they were written. It reads only
// those messages' records, at the offsets the index keeps. A contact
// without history has an empty thread.
func (v *Vault) Thread(contact string) (*Thread, error) {
	contact = threadKey(contact)
	if contact == "" {
		return nil, errors.New("history: no contact given")
	}
	v.fmu.RLock()
	defer v.fmu.RUnlock()
	v.mu.RLock()
	cvs := v.idx.thread(contact)
	snaps := make([]convSnapshot, len(cvs))
	for i, cv := range cvs {
		snaps[i] = cv.snapshot()
	}
	v.mu.RUnlock()

	pos := threadOrder(snaps)
	n := 0
	for _, s := range snaps {
		n += len(s.msgs)
	}
	th := &Thread{Contact: contact, Messages: make([]ThreadMessage, n)}
	for k := range snaps {
		s := &snaps[k]
		err := s.load(v.reader, func(i int, m StoredMessage) {
			th.Messages[pos[k][i]] = ThreadMessage{StoredMessage: m, Conversation: s.sum.ID, From: s.sum.Partner}
		})
		if err != nil {
			return nil, fmt.Errorf("history: thread, conversation %s: %w", shortID(s.id), err)
		}
	}
	return th, nil
}

// threadOrder returns, for each message of each conversation, its place in
// the thread: file order. Conversations that follow one another in the file
// (one connection at a time) are concatenated; interleaved ones (several
// connections at once) are merged by offset.
func threadOrder(snaps []convSnapshot) [][]int {
	pos := make([][]int, len(snaps))
	type ref struct {
		off  int64
		k, i int32
	}
	var all []ref
	n := 0
	var prevEnd int64 = -1
	interleaved := false
	for k, s := range snaps {
		pos[k] = make([]int, len(s.msgs))
		for i := range s.msgs {
			pos[k][i] = n + i
		}
		n += len(s.msgs)
		if len(s.msgs) > 0 {
			if s.msgs[0].off < prevEnd {
				interleaved = true
			}
			prevEnd = s.msgs[len(s.msgs)-1].off
		}
	}
	if !interleaved {
		return pos
	}
	all = make([]ref, 0, n)
	for k, s := range snaps {
		for i, m := range s.msgs {
			all = append(all, ref{off: m.off, k: int32(k), i: int32(i)})
		}
	}
	slices.SortFunc(all, func(a, b ref) int { return cmp.Compare(a.off, b.off) })
	for p, r := range all {
		pos[r.k][r.i] = p
	}
	return pos
}

// MarkRead sets the read mark of contact's thread: every message now in it
// is read. The mark is kept in the sealed profile.
func (v *Vault) MarkRead(contact string) error {
	contact = threadKey(contact)
	if contact == "" {
		return errors.New("history: no contact given")
	}
	v.mu.RLock()
	same := v.prof.Read[contact] == v.idx.incoming(contact)
	v.mu.RUnlock()
	if same {
		return nil
	}
	return v.updateProfile(func(p *profile.Profile) error {
		// Counted again under pmu, so that of two calls the later mark
		// is saved last.
		v.mu.RLock()
		n := v.idx.incoming(contact)
		v.mu.RUnlock()
		if p.Read == nil {
			p.Read = make(map[string]int)
		}
		if n == 0 {
			delete(p.Read, contact)
		} else {
			p.Read[contact] = n
		}
		return nil
	})
}

// incoming counts the messages received in contact's thread.
func (ix *index) incoming(contact string) int {
	n := 0
	for _, cv := range ix.thread(contact) {
		n += cv.incoming
	}
	return n
}

// fixReadMarks brings the read marks in line with the history just read,
// and reports whether the profile must be saved. A profile from before
// read marks gets a mark at the end of every thread: its history was read
// in its time. A mark whose thread has no history left (a crash after
// [Vault.DeleteContactAndHistory] rewrote the history file and before it
// saved the profile) goes, so that a new thread with that key does not
// count as read.
func (v *Vault) fixReadMarks() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.prof.NoReadMarks {
		v.prof.NoReadMarks = false
		v.prof.Read = v.idx.incomingByContact()
		maps.DeleteFunc(v.prof.Read, func(_ string, n int) bool { return n == 0 })
		return true
	}
	counts := v.idx.incomingByContact()
	changed := false
	for c, n := range v.prof.Read {
		if _, ok := counts[c]; !ok || n <= 0 {
			delete(v.prof.Read, c)
			changed = true
		}
	}
	return changed
}

// DeleteContactAndHistory removes the contact, its read mark and every
// conversation with its key from disk. history.log is rewritten without
// those conversations: a new file is written and flushed, renamed over the
// old one, and the folder flushed. A conversation with that key that is
// still being written ends: its writer's appends fail with [ErrClosed].
//
// An error wrapping [ErrNotDurable] means that the deletion is in effect
// but a power cut may bring the old file back.
func (v *Vault) DeleteContactAndHistory(contact string) error {
	contact = threadKey(contact)
	if contact == "" {
		return errors.New("history: no contact given")
	}
	_, isContact := v.Contact(contact)
	v.mu.RLock()
	_, hasMark := v.prof.Read[contact]
	hasHistory := len(v.idx.thread(contact)) > 0
	v.mu.RUnlock()
	if !isContact && !hasMark && !hasHistory {
		return profile.ErrNoContact
	}
	var durErr error
	if hasHistory {
		if err := v.log.rewriteWithout(contact); err != nil {
			if !errors.Is(err, ErrNotDurable) {
				return err
			}
			durErr = err
		}
	}
	err := v.updateProfile(func(p *profile.Profile) error {
		p.Contacts = slices.DeleteFunc(p.Contacts, func(q profile.Contact) bool { return q.ID == contact })
		delete(p.Read, contact)
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotDurable) {
		return err
	}
	return errors.Join(durErr, err)
}
