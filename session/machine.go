package session

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// linkState is where one connection is.
type linkState int

const (
	linkHandshaking linkState = iota
	linkDeciding              // handshake done; waiting for our front end and the partner
	linkConnected             // both accepted; messages flow
	linkEnding                // goodbye said or error seen
)

var linkStateNames = [...]string{
	linkHandshaking: "handshaking",
	linkDeciding:    "deciding",
	linkConnected:   "connected",
	linkEnding:      "ending",
}

func (s linkState) String() string {
	if s >= 0 && int(s) < len(linkStateNames) {
		return linkStateNames[s]
	}
	return fmt.Sprintf("linkState(%d)", int(s))
}

// chatMachine is the life of one connection once its handshake is done:
// admission (both sides accept), our messages in flight, and the end. It
// does no I/O, starts no goroutine and reads no clock. Its inputs are the
// partner's records, timer ticks and the user's decisions; each returns the
// effects the link must carry out, in order: history writes first, then
// the records to send, then the events. The link calls it under its lock
// and carries the effects out after. (The handshake before it is crypto's
// own state machine.)
//
// Because a step changes the state before any of its effects happen,
// "connected" is set before our Accept can leave, and a partner's first
// message, which may follow our Accept at once, finds us connected.
type chatMachine struct {
	link    LinkID
	contact string
	partner *Partner // the link's, guarded by the same lock

	state        linkState
	weAccepted   bool
	accepting    bool // the front end said yes; the contact and history are being opened
	peerAccepted bool
	connected    bool                 // it has been connected
	pending      map[string]*outgoing // sent, waiting for an ack
}

// effects are what one step of a [chatMachine] asks of its link.
type effects struct {
	sends  []writeItem // records to send, in order
	events []Event
	// connected: both sides accepted just now; the contact's outbox goes
	// out.
	connected bool
	// acked is a message of ours the partner acknowledged: the link
	// records it delivered, then reports it.
	acked string
	// leave, when set, says goodbye and ends the link with that reason.
	leave EndReason
	// receive is a text the partner sent: the link stores it, shows it
	// once, and acknowledges it once it is durable.
	receive *wireMsg
	// file is a file message the partner sent, for the file transfers.
	file *wireMsg
}

func newChatMachine(link LinkID) chatMachine {
	return chatMachine{link: link, pending: map[string]*outgoing{}}
}

func (m *chatMachine) fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" (link %s)", append([]any{ErrProtocol}, append(args, m.state)...)...)
}

// start: the handshake is done with partner p. The user is asked.
func (m *chatMachine) start(contact string, p *Partner) effects {
	m.contact, m.partner = contact, p
	m.state = linkDeciding
	return effects{events: []Event{Request{Link: m.link, Partner: *p}}}
}

// beginAccept: the user said yes. The link then saves the contact and
// opens the history (slow, outside its lock) and calls accepted.
func (m *chatMachine) beginAccept() error {
	if m.state != linkDeciding || m.weAccepted || m.accepting {
		return ErrNoRequest
	}
	m.accepting = true
	return nil
}

// accepted: the contact is saved and the history open; our Accept goes
// out, and the link is connected if the partner had accepted already.
func (m *chatMachine) accepted() (effects, error) {
	if m.state != linkDeciding {
		return effects{}, ErrNotConnected
	}
	m.weAccepted = true
	e := effects{sends: []writeItem{{pt: encodeAccept()}}}
	m.maybeConnected(&e)
	return e, nil
}

// decline: the user said no.
func (m *chatMachine) decline() (effects, error) {
	if m.state != linkDeciding || m.weAccepted {
		return effects{}, ErrNoRequest
	}
	return effects{leave: EndWeDeclined}, nil
}

// acceptDeadline: the request waited too long for the user or the partner.
func (m *chatMachine) acceptDeadline() effects {
	if m.state != linkDeciding {
		return effects{}
	}
	return effects{leave: EndTimeout}
}

// pingDue: the keepalive timer fired.
func (m *chatMachine) pingDue(nonce uint64) effects {
	if m.state != linkDeciding && m.state != linkConnected {
		return effects{}
	}
	return effects{sends: []writeItem{{pt: encodePing(msgPing, nonce)}}}
}

// sendText: a message of the outbox goes out on this link (fresh: its
// MessageEvent was not emitted yet). It is durably queued already. A
// message in flight on this link is not sent twice.
func (m *chatMachine) sendText(o *outgoing, fresh bool) (effects, error) {
	if m.state != linkConnected {
		return effects{}, ErrNotConnected
	}
	id := hex.EncodeToString(o.id[:])
	if _, dup := m.pending[id]; dup {
		return effects{}, nil
	}
	// Only a message with nothing else in flight takes the fast path; in a
	// burst the writer gathers what is queued into one write.
	alone := len(m.pending) == 0
	m.pending[id] = o
	return effects{
		sends: []writeItem{{pt: encodeText(o.id, o.time, o.text), msg: o, retry: !fresh, fast: alone}},
	}, nil
}

// notSent: the text of sendText could not be handed to the connection. It
// stays in the outbox for the next link.
func (m *chatMachine) notSent(id string) effects {
	delete(m.pending, id)
	return effects{}
}

// record: a chat message from the partner. An error ends the link.
func (m *chatMachine) record(w *wireMsg) (effects, error) {
	switch w.typ {
	case msgPing:
		return effects{sends: []writeItem{{pt: encodePing(msgPong, w.nonce), fast: true}}}, nil
	case msgPong:
		return effects{}, nil
	case msgBye:
		return effects{}, &errBye{reason: w.reason}
	case msgAccept:
		if m.state != linkDeciding || m.peerAccepted {
			return effects{}, m.fail("unexpected accept")
		}
		m.peerAccepted = true
		var e effects
		m.maybeConnected(&e)
		return e, nil
	case msgAck:
		id := hex.EncodeToString(w.id[:])
		if _, ok := m.pending[id]; !ok {
			return effects{}, nil // a second ack, or one for a message of an earlier link
		}
		delete(m.pending, id)
		return effects{acked: id}, nil
	case msgHello:
		return effects{}, m.fail("a second hello")
	case msgText:
		if m.state != linkConnected {
			return effects{}, m.fail("a message arrived before both sides accepted")
		}
		return effects{receive: w}, nil
	}
	if w.file != nil {
		if m.state != linkConnected {
			return effects{}, m.fail("a file message arrived before both sides accepted")
		}
		return effects{file: w}, nil
	}
	return effects{}, m.fail("unknown message type 0x%02x", w.typ)
}

// maybeConnected moves to connected once both sides accepted, or reports
// that we wait for the partner.
func (m *chatMachine) maybeConnected(e *effects) {
	switch {
	case m.state == linkDeciding && m.weAccepted && m.peerAccepted:
		m.state = linkConnected
		m.connected = true
		e.connected = true
		e.events = append(e.events, Connected{Link: m.link, Partner: *m.partner})
	case m.state == linkDeciding && m.weAccepted:
		e.events = append(e.events, Waiting{Link: m.link, Partner: *m.partner})
	}
}

// stop: the link is ending; nothing is sent any more.
func (m *chatMachine) stop() { m.state = linkEnding }

// byeReason is the end a goodbye from the partner means: busy, a decline
// (a goodbye before both accepted), or leaving.
func (m *chatMachine) byeReason(bye *errBye) EndReason {
	switch {
	case strings.HasPrefix(bye.reason, "busy"):
		return EndBusy
	case !m.connected:
		return EndPartnerDeclined
	}
	return EndPartnerLeft
}

// finish: the link ended. What was in flight stays in the outbox, to be
// sent on the contact's next link; it is returned (for tests).
func (m *chatMachine) finish() (inFlight []*outgoing) {
	m.state = linkEnding
	for _, o := range m.pending {
		inFlight = append(inFlight, o)
	}
	clear(m.pending)
	return inFlight
}
