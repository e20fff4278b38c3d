package session

import (
	"fmt"
	"time"
)

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

// LinkID names one connection attempt, dialed or accepted. It is never
// reused within a [Session].
type LinkID uint64

// Event is news from a [Controller]: one of the types below.
type Event interface{ isEvent() }

// Listening reports that the listener is up.
type Listening struct {
	Addr  string   // the bound address
	Addrs []string // addresses a partner can dial
}

// ListenStopped reports that the listener is closed. Err is nil after
// [Controller.StopListening] or [Controller.Close].
type ListenStopped struct{ Err error }

// Handshaking reports that a connection is being secured.
type Handshaking struct {
	Link     LinkID
	Addr     string // the remote address
	Contact  string // whom we dial, if known ("" for an incoming connection)
	Incoming bool
}

// Request reports an authenticated partner. Nothing flows until the front
// end calls [Controller.Accept] or [Controller.Decline] with
// Partner.Fingerprint.
type Request struct {
	Link    LinkID
	Partner Partner
}

// Waiting reports that we accepted and the partner has not yet.
type Waiting struct {
	Link    LinkID
	Partner Partner
}

// Connected reports that both sides accepted: messages may flow.
type Connected struct {
	Link    LinkID
	Partner Partner
}

// MessageEvent reports a message sent (Message.Outgoing) or received.
type MessageEvent struct {
	Link    LinkID
	Contact string
	Message Message
}

// Delivered reports that the partner acknowledged message ID.
type Delivered struct {
	Contact string
	ID      string
}

// Failed reports that message ID could not be queued: the history did not
// take it (Err says why). A message once [Queued] never fails: it waits in
// the outbox until it is delivered or cancelled.
type Failed struct {
	Contact string
	ID      string
	Reason  EndReason
	Err     error
}

// Queued reports that an outgoing message is durably in the contact's
// outbox (Message.Outgoing): it goes out whenever the contact is connected.
// It comes before the message's [MessageEvent] and [Delivered].
type Queued struct {
	Contact string
	Message Message
}

// Cancelled reports that a queued message was cancelled: it is never sent
// after this.
type Cancelled struct {
	Contact string
	ID      string
}

// Reconnecting reports the next automatic dial of a contact: at At, the
// Attempt-th since the contact was last connected (1 for the first).
type Reconnecting struct {
	Contact string
	At      time.Time
	Attempt int
}

// ReconnectPaused reports that the automatic reconnects to Contact stopped
// because one side said goodbye: we called [Controller.Disconnect], or the
// partner did (its goodbye ended our link; [Ended] with [EndPartnerLeft]).
// No [Reconnecting] follows for Contact until the pause ends: on
// [Controller.ReconnectNow], on [Controller.Send] to Contact (dialed at
// once), or when a link of Contact connects (an incoming one is accepted
// as usual). The next start of the app starts unpaused.
type ReconnectPaused struct {
	Contact string
}

// Ended reports that a link ended, before or after connecting. Every link
// that was reported (by [Handshaking]) ends with exactly one Ended.
type Ended struct {
	Link      LinkID
	Contact   string // "" if the key was never learned
	Addr      string
	Connected bool // it had been connected (a chat ended), not a dial, handshake or request that failed
	Incoming  bool
	Reason    EndReason
	// Peer is, for a partner's goodbye or refusal, the partner's own
	// reason: untrusted text, to be escaped before it is shown.
	Peer string
	Err  error // details, shown only on request; never secrets
}

// TurnedAway reports a caller refused before a request, because of the
// limits.
type TurnedAway struct {
	Addr   string
	Reason EndReason
}

// HistoryError reports that the history could not be written. A chat
// whose messages cannot be stored is stopped: its link then ends with
// [EndWeLeft] and an Err saying why, right after this event.
type HistoryError struct {
	Contact string
	Err     error
}

// Problem is anything else the user should see.
type Problem struct{ Err error }

// Closed is the last event: the controller has stopped.
type Closed struct{}

func (Listening) isEvent()       {}
func (ListenStopped) isEvent()   {}
func (Handshaking) isEvent()     {}
func (Request) isEvent()         {}
func (Waiting) isEvent()         {}
func (Connected) isEvent()       {}
func (MessageEvent) isEvent()    {}
func (Delivered) isEvent()       {}
func (Failed) isEvent()          {}
func (Queued) isEvent()          {}
func (Cancelled) isEvent()       {}
func (Reconnecting) isEvent()    {}
func (ReconnectPaused) isEvent() {}
func (Ended) isEvent()           {}
func (TurnedAway) isEvent()      {}
func (HistoryError) isEvent()    {}
func (Problem) isEvent()         {}
func (Closed) isEvent()          {}

// EndReason tells why a link ended or a message failed. Front ends turn
// it into words.
type EndReason int

// End reasons.
const (
	EndWeLeft          EndReason = iota + 1 // we said goodbye (Disconnect, Close)
	EndPartnerLeft                          // partner said goodbye or closed cleanly
	EndWeDeclined                           // we declined the request
	EndPartnerDeclined                      // the partner declined us
	EndCancelled                            // Cancel before connecting
	EndReplaced                             // a newer connection with the same contact took over
	EndTimeout                              // the partner stopped responding (keepalive, handshake or accept deadline)
	EndRefused                              // nobody listening at the address (ECONNREFUSED)
	EndUnreachable                          // no route, DNS failure, dial timeout
	EndNotSecureChat                        // the address does not speak SecureChat
	EndVersion                              // another protocol version
	EndNotAdmitted                          // host admits only contacts and invitees (alert 8)
	EndInviteRefused                        // host refused our invite (alert 9)
	EndWrongKey                             // another key than the invite's answered (alert 10 / our check)
	EndBusy                                 // the host turned us away (limits)
	EndSecurity                             // a record or signature failed to verify: tampering
	EndNetwork                              // any other network error
	EndTorOff                               // a .onion address while Tor mode is off
	EndTorOnly                              // not a .onion address, in Tor-only mode
	EndTorUnreachable                       // tor could not reach the address (onion service not found, no circuit)
)

var endNames = [...]string{
	EndWeLeft:          "we_left",
	EndPartnerLeft:     "partner_left",
	EndWeDeclined:      "we_declined",
	EndPartnerDeclined: "partner_declined",
	EndCancelled:       "cancelled",
	EndReplaced:        "replaced",
	EndTimeout:         "timeout",
	EndRefused:         "refused",
	EndUnreachable:     "unreachable",
	EndNotSecureChat:   "not_securechat",
	EndVersion:         "version",
	EndNotAdmitted:     "not_admitted",
	EndInviteRefused:   "invite_refused",
	EndWrongKey:        "wrong_key",
	EndBusy:            "busy",
	EndSecurity:        "security",
	EndNetwork:         "network",
	EndTorOff:          "tor_off",
	EndTorOnly:         "tor_only",
	EndTorUnreachable:  "tor_unreachable",
}

// String returns the reason's short machine name ("we_left",
// "partner_left", ...), as the terminal front end's --json prints it.
func (r EndReason) String() string {
	if r > 0 && int(r) < len(endNames) {
		return endNames[r]
	}
	return fmt.Sprintf("end_reason(%d)", int(r))
}

// Controller is what a front end drives: one optional listener and many
// links, one per connected contact. [*Session] implements it; UI tests use
// a fake. A contact is a key fingerprint (hex SHA-256 of the identity key).
type Controller interface {
	// Events delivers the controller's news, in order, until [Closed].
	Events() <-chan Event
	// Listen starts accepting on addr (":32202", a bare port,
	// "127.0.0.1:0"). The error wraps [ErrPortInUse] when the port is
	// taken; it is [ErrListening] if a listener runs already. A
	// [Listening] event follows. Chats go on whether or not we listen.
	Listen(addr string) error
	// StopListening closes the listener ([ListenStopped] follows); links go on.
	StopListening() error
	// SetOnlyContacts changes admission at run time: a host then admits
	// only contacts and invitees.
	SetOnlyContacts(on bool)
	// SetOnionDialer turns Tor mode's dialing on (d not nil) or off; only:
	// dial nothing but .onion addresses.
	SetOnionDialer(d OnionDialer, only bool)
	// DialTarget connects in the background and returns the new link's id.
	// It returns [ErrAlreadyConnected] if t.Contact has a connected link.
	DialTarget(t Target) (LinkID, error)
	// Cancel drops a link that is not connected yet (dial, handshake,
	// request); [Ended] follows.
	Cancel(link LinkID) error
	// Send queues text for contact durably (online or not) and returns the
	// new message's ID. A [Queued] event follows once it is durable; it
	// goes out whenever contact is connected (at once if it is), and is
	// resent on every new link of contact until acknowledged; [Delivered]
	// follows the ack once that is recorded. [ErrNoContact] for a key that
	// is not a contact (without a profile: [ErrNotConnected] unless
	// connected). Send to a paused contact ([ReconnectPaused]) ends the
	// pause: with the reconnect loop on, contact is dialed at once.
	Send(contact, text string) (string, error)
	// CancelMessage cancels a queued message: it is never sent after this
	// ([Cancelled] follows). [ErrAlreadyDelivered] if it was delivered.
	CancelMessage(contact, id string) error
	// ReconnectNow dials contact at once, resetting its backoff ("try now",
	// opening the contact); it ends a pause ([ReconnectPaused]). [ErrNoContact] if it is not a contact with an
	// address; nil if a link to it is already there or being made.
	ReconnectNow(contact string) error
	// SetAutoReconnect turns the reconnect loop on (the app: on at unlock)
	// or off (the default, and the CLI's).
	SetAutoReconnect(on bool)
	// Accept lets in the pending [Request] of contact's key; for a changed
	// key it also pins the new key. [ErrNoRequest] if there is none.
	Accept(contact string) error
	// Decline turns the pending request of contact's key away.
	Decline(contact string) error
	// MarkVerified records that the user compared safety numbers with
	// contact, connected or known.
	MarkVerified(contact string) error
	// Disconnect says goodbye to contact's link; other links go on. It
	// pauses the automatic reconnects to contact, on our side and, through
	// the goodbye, on the partner's: [ReconnectPaused] follows on both, and
	// no [Reconnecting] for contact until one side reaches out again
	// (ReconnectNow, Send, or a link of contact that connects; an incoming
	// one is accepted as usual). The pause is not stored: the next start
	// dials everyone.
	Disconnect(contact string) error
	// Close ends everything and waits for every goroutine to stop.
	Close() error
}
