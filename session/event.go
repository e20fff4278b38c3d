package session

import (
	"fmt"
	"time"
)

// EventKind tells what an [Event] reports.
type EventKind int

const (
	// EventListening: the host listens; Addr is the bound address and Addrs
	// the addresses a partner can use.
	EventListening EventKind = iota + 1
	// EventHandshaking: a connection is being secured; Addr is the remote address.
	EventHandshaking
	// EventPartnerRequest: the handshake succeeded and the partner is
	// authenticated. Nothing flows until the front end calls
	// [Controller.Accept] or [Controller.Decline]. Partner is set.
	EventPartnerRequest
	// EventWaitingForPartner: we accepted; the partner has not yet.
	EventWaitingForPartner
	// EventConnected: both sides accepted; messages may flow. Partner is set.
	EventConnected
	// EventMessage: a message was sent (Message.Outgoing) or received.
	EventMessage
	// EventDelivered: the partner acknowledged message ID.
	EventDelivered
	// EventFailed: message ID was not delivered; Reason says why.
	EventFailed
	// EventDisconnected: the conversation with the partner ended; Reason says why.
	EventDisconnected
	// EventTurnedAway: a second caller at Addr was told "busy" (host only).
	EventTurnedAway
	// EventHistoryError: the history could not be written; Err says why.
	// The chat goes on, but is not being saved.
	EventHistoryError
	// EventError: something went wrong that the user should see; Err is set.
	EventError
	// EventClosed: the controller has stopped; no event follows.
	EventClosed
)

var eventNames = map[EventKind]string{
	EventListening:         "listening",
	EventHandshaking:       "handshaking",
	EventPartnerRequest:    "partner_request",
	EventWaitingForPartner: "waiting_for_partner",
	EventConnected:         "connected",
	EventMessage:           "message",
	EventDelivered:         "delivered",
	EventFailed:            "failed",
	EventDisconnected:      "disconnected",
	EventTurnedAway:        "turned_away",
	EventHistoryError:      "history_error",
	EventError:             "error",
	EventClosed:            "closed",
}

// String returns the event's name as the terminal front end's --json prints it.
func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Trust tells what the partner's identity key is to us. Keys decide it,
// never names.
type Trust int

const (
	// TrustNew: a key never seen before. The user decides (a first contact).
	TrustNew Trust = iota + 1
	// TrustKnown: the key of a contact.
	TrustKnown
	// TrustVerified: the key of a contact whose safety number the user verified.
	TrustVerified
	// TrustInvited: the key of a contact made with an invite, so known
	// before the first byte: the inviter's key was in the invite, and the
	// invitee proved it held the invite's secret.
	TrustInvited
	// TrustChanged: we dialed a contact and another key answered. Someone
	// may be intercepting the chat.
	TrustChanged
)

// String returns "new", "known", "verified", "invited" or "changed".
func (t Trust) String() string {
	switch t {
	case TrustNew:
		return "new"
	case TrustKnown:
		return "known"
	case TrustVerified:
		return "verified"
	case TrustInvited:
		return "invited"
	case TrustChanged:
		return "changed"
	}
	return fmt.Sprintf("trust(%d)", int(t))
}

// Partner describes the authenticated peer of a conversation.
type Partner struct {
	// Name is the display name the partner chose: self-asserted, a label.
	Name string
	Addr string // remote network address
	// Fingerprint is the hex SHA-256 of the partner's identity key. It is
	// also the contact id: stable, and the same in every event.
	Fingerprint  string
	SafetyNumber string // 60 digits in 12 groups of 5, the same on both sides
	Trust        Trust
	// ContactName is the name the user gave this contact; "" for a new key.
	ContactName string
	// LooksLike, for a new key, is the name of a contact that the
	// partner's name is confusable with: possible impersonation.
	LooksLike string
	// Expected, for a changed key, is the name of the contact we dialed.
	Expected string
}

// Label is the name to show for the partner: the contact's name when it
// is a contact, else the name the partner sent.
func (p *Partner) Label() string {
	if p.ContactName != "" {
		return p.ContactName
	}
	return p.Name
}

// Message is one chat message, sent or received.
type Message struct {
	ID       string // 32 hex digits, random, unique
	Outgoing bool   // true when we sent it
	From     string // sender's display name
	Text     string
	Time     time.Time // the sender's clock
	// Wire is the sealed record exactly as it crossed the network, frame
	// header included (for the "what the network sees" view).
	Wire []byte
}

// Event is news from a [Controller]. Kind says which fields are set.
type Event struct {
	Kind    EventKind
	Addr    string   // EventListening, EventHandshaking, EventTurnedAway
	Addrs   []string // EventListening: addresses a partner can dial
	Partner *Partner // EventPartnerRequest, EventConnected, EventWaitingForPartner
	Message *Message // EventMessage
	ID      string   // EventDelivered, EventFailed
	Reason  string   // EventFailed, EventDisconnected
	Err     error    // EventError, EventHistoryError
}

// Controller is what a front end drives. [*Session] implements it; UI tests
// use a fake.
type Controller interface {
	// Events delivers the controller's news, in order, until EventClosed.
	Events() <-chan Event
	// Send queues text for the partner and returns the new message's ID.
	Send(text string) (string, error)
	// Retry sends a failed message again, with the same ID.
	Retry(id string) error
	// Accept lets the partner of a pending EventPartnerRequest in. For a
	// partner whose key changed, it also pins the new key.
	Accept() error
	// Decline turns the pending partner away.
	Decline() error
	// MarkVerified records that the user compared safety numbers with the
	// current partner.
	MarkVerified() error
	// Disconnect says goodbye to the current partner; a host keeps listening.
	Disconnect() error
	// Dial connects (again) to addr; only for a controller made by [Connect].
	// A contact reached at addr before is expected to answer with its key.
	Dial(addr string) error
	// DialTarget connects to a contact or with an invite: the key that
	// must answer is known before the first byte.
	DialTarget(t Target) error
	// Close ends everything and waits for every goroutine to stop.
	Close() error
}
