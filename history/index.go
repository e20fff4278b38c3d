package history

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Message statuses in [StoredMessage].
const (
	StatusSending   = "sending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// conversation is the in-memory state of one conversation, rebuilt from the
// history file at open and kept up to date as records are committed.
type conversation struct {
	sum     Summary
	msgs    []StoredMessage
	byID    map[string]int
	nextSeq uint64
}

// index holds every conversation in memory, so that listing, loading and
// searching never touch the disk.
type index struct {
	convs   map[convID]*conversation
	notices []string
}

func newIndex() *index {
	return &index{convs: make(map[convID]*conversation)}
}

func (ix *index) notice(s string) { ix.notices = append(ix.notices, s) }

func shortID(c convID) string { return hex.EncodeToString(c[:4]) }

func (ix *index) conversation(c convID) *conversation {
	cv := ix.convs[c]
	if cv == nil {
		cv = &conversation{sum: Summary{ID: hex.EncodeToString(c[:])}, byID: make(map[string]int)}
		ix.convs[c] = cv
	}
	return cv
}

// reserve makes room for the messages of a conversation about to be read.
func (ix *index) reserve(c convID, messages int) {
	cv := ix.conversation(c)
	cv.msgs = slices.Grow(cv.msgs, messages)
	if len(cv.byID) == 0 {
		cv.byID = make(map[string]int, messages)
	}
}

// apply adds one record of conversation c, in file order.
func (ix *index) apply(c convID, seq uint64, r record) {
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
		cv.sum.Partner, cv.sum.Fingerprint, cv.sum.Role, cv.sum.Addr = r.partner, r.fingerprint, r.role, r.addr
		cv.sum.Start = r.time
	case kindMessage:
		if cv.sum.Start.IsZero() {
			cv.sum.Start = r.time // the start record is missing or damaged
		}
		status := StatusDelivered // a message we received was delivered to us
		if r.outgoing {
			status = StatusSending
		}
		if i, ok := cv.byID[r.id]; ok { // a resend: the same message again
			cv.msgs[i].Status, cv.msgs[i].Reason = status, ""
			return
		}
		cv.byID[r.id] = len(cv.msgs)
		cv.msgs = append(cv.msgs, StoredMessage{ID: r.id, Outgoing: r.outgoing, Time: r.time, Text: r.text, Status: status})
		cv.sum.Messages = len(cv.msgs)
	case kindStatus:
		i, ok := cv.byID[r.id]
		if !ok {
			ix.notice(fmt.Sprintf("conversation %s: status for an unknown message skipped", shortID(c)))
			return
		}
		if r.delivered {
			cv.msgs[i].Status, cv.msgs[i].Reason = StatusDelivered, ""
		} else {
			cv.msgs[i].Status, cv.msgs[i].Reason = StatusFailed, r.reason
		}
	case kindEnd:
		cv.sum.End, cv.sum.EndReason = r.time, r.reason
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

func (ix *index) transcript(id string) (*Transcript, error) {
	cv, err := ix.find(id)
	if err != nil {
		return nil, err
	}
	return &Transcript{Summary: cv.sum, Messages: append([]StoredMessage(nil), cv.msgs...)}, nil
}

// search finds text in every message, case-insensitively; hits come
// conversation by conversation, newest first, in message order.
func (ix *index) search(text string) []Hit {
	q := strings.ToLower(text)
	var hits []Hit
	for _, s := range ix.summaries() {
		cv := ix.convs[mustConvID(s.ID)]
		for _, m := range cv.msgs {
			if containsFold(m.Text, q) {
				hits = append(hits, Hit{Conversation: s, Message: m})
			}
		}
	}
	return hits
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
