package filexfer

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalid is wrapped by every error about a message that breaks its
// layout or its rules: from a Parse function (the partner sent it; the
// connection ends, as for any malformed chat message), or from Marshal and
// [NewSender] (the value cannot be sent).
var ErrInvalid = errors.New("filexfer: invalid message")

// ErrEmptyFile: an offer of 0 bytes. Files of 1 byte to [MaxSize] can be
// sent. Errors that wrap it also wrap [ErrInvalid].
var ErrEmptyFile = errors.New("filexfer: the file is empty (files of 1 byte to 4 GiB can be sent)")

// ErrTooLarge: an offer over [MaxSize]. Errors that wrap it also wrap
// [ErrInvalid].
var ErrTooLarge = errors.New("filexfer: the file is larger than 4 GiB")

// ErrUnusableName: a name that is empty once [SafeName] has cleaned it
// ("", "..", "   ", only control characters). The receiver declines such
// an offer with [CodeUnusableName].
var ErrUnusableName = errors.New("filexfer: the file name is empty once cleaned")

// ErrDeclined: the receiver's user said no to the offer.
var ErrDeclined = errors.New("filexfer: the file was declined")

// ErrCancelled: a user stopped the transfer after it was accepted.
var ErrCancelled = errors.New("filexfer: the transfer was cancelled")

// ErrHashMismatch: every byte arrived but their SHA-256 is not the one
// the offer announced. The receiver discards the file.
var ErrHashMismatch = errors.New("filexfer: hash mismatch: the file was discarded")

// ErrSourceChanged: the sender can no longer read the bytes it announced
// (the file got shorter, was removed, or a read failed).
var ErrSourceChanged = errors.New("filexfer: the sender's file changed or cannot be read")

// ErrStorage: the receiver could not store the file (disk full, a write or
// an fsync failed).
var ErrStorage = errors.New("filexfer: the receiver could not store the file")

// ErrBusy: the receiver already has [MaxWaitingOffers] of the sender's
// offers waiting for its user's answer; the sender may offer the file
// again once the user has answered some.
var ErrBusy = errors.New("filexfer: too many offers are waiting for an answer")

// ErrProtocol is wrapped by every error about a well-formed message that
// breaks the transfer's rules: the transfer ends (the other side is told
// with [CodeProtocol]); the connection, the chat and other transfers go
// on. The more precise errors below all match it with [errors.Is].
var ErrProtocol = errors.New("filexfer: protocol violation")

// Protocol violations that a user interface may want to tell apart. Each
// matches [ErrProtocol] as well.
var (
	// ErrNotAccepted: a chunk for a transfer that was never accepted.
	ErrNotAccepted = protocolError("a chunk for a transfer that was never accepted")
	// ErrUnknownTransfer: a message about a transfer id that this side
	// does not know (see [HandleUnknown]).
	ErrUnknownTransfer = protocolError("a message for a transfer that does not exist")
	// ErrPastEnd: a chunk that goes past the announced size.
	ErrPastEnd = protocolError("a chunk past the announced size")
	// ErrOutOfOrder: a chunk after a gap (not the next expected one).
	ErrOutOfOrder = protocolError("a chunk that is not the next expected one")
	// ErrChunkLength: a chunk shorter than ChunkSize that is not the last.
	ErrChunkLength = protocolError("a chunk of the wrong length")
	// ErrWindow: a chunk beyond the flow-control window.
	ErrWindow = protocolError("a chunk beyond the flow-control window")
	// ErrBadOffset: an Accept or Progress at an offset that cannot be.
	ErrBadOffset = protocolError("an accept or progress at an impossible offset")
	// ErrOfferChanged: a second Offer for the same id with other fields.
	ErrOfferChanged = protocolError("an offer that differs from the first one with its id")
	// ErrUnexpected: a message that does not fit the transfer's state.
	ErrUnexpected = protocolError("a message that does not fit the transfer's state")
)

// ErrState is returned when the caller asks a [Sender] or [Receiver] for
// something its state does not allow (accepting twice, verifying before
// every byte is durable, a message routed to the wrong transfer). It is a
// bug in the caller; the state does not change.
var ErrState = errors.New("filexfer: not possible in this state")

// protoErr is a sentinel that also matches [ErrProtocol].
type protoErr struct{ what string }

func protocolError(what string) error { return &protoErr{what} }

func (e *protoErr) Error() string        { return "filexfer: protocol violation: " + e.what }
func (e *protoErr) Is(target error) bool { return target == ErrProtocol }

// invalidErr is an [ErrInvalid] about one message, wrapping a more precise
// sentinel when there is one ([ErrEmptyFile], [ErrTooLarge]).
type invalidErr struct {
	msg   string // "offer: size 0"
	cause error
}

func (e *invalidErr) Error() string        { return "filexfer: invalid " + e.msg }
func (e *invalidErr) Is(target error) bool { return target == ErrInvalid }
func (e *invalidErr) Unwrap() error        { return e.cause }

func invalid(what, format string, args ...any) error {
	return &invalidErr{msg: what + ": " + fmt.Sprintf(format, args...)}
}

// Code says why a transfer ended, in a [Decline] or a [Cancel].
type Code uint8

// The codes. A Decline carries any of them but [CodeSourceChanged]; a Cancel
// carries [CodeCancelled], [CodeSourceChanged] or [CodeProtocol].
const (
	CodeDeclined      Code = 1 // the receiver's user said no
	CodeCancelled     Code = 2 // a user stopped it after it was accepted
	CodeHashMismatch  Code = 3 // the received bytes do not have the announced SHA-256
	CodeSourceChanged Code = 4 // the sender cannot read what it announced
	CodeStorage       Code = 5 // the receiver cannot store it
	CodeUnusableName  Code = 6 // the name is empty once cleaned
	CodeProtocol      Code = 7 // the other side broke a rule of this protocol
	CodeBusy          Code = 8 // too many of the sender's offers wait for an answer
)

var codes = [...]struct {
	name string
	err  error
}{
	CodeDeclined:      {"declined", ErrDeclined},
	CodeCancelled:     {"cancelled", ErrCancelled},
	CodeHashMismatch:  {"hash mismatch", ErrHashMismatch},
	CodeSourceChanged: {"source changed", ErrSourceChanged},
	CodeStorage:       {"storage failed", ErrStorage},
	CodeUnusableName:  {"unusable name", ErrUnusableName},
	CodeProtocol:      {"protocol violation", ErrProtocol},
	CodeBusy:          {"busy", ErrBusy},
}

func (c Code) known() bool { return c >= CodeDeclined && int(c) < len(codes) }

func (c Code) String() string {
	if c.known() {
		return codes[c].name
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Err is the sentinel error of the code: [ErrHashMismatch] for
// [CodeHashMismatch], and so on; nil for an unknown code.
func (c Code) Err() error {
	if c.known() {
		return codes[c].err
	}
	return nil
}

// PartnerError is the error of a transfer that the other side ended with a
// [Decline] or a [Cancel]. It matches the sentinel of its code with
// [errors.Is]: a Decline with [CodeHashMismatch] is an [ErrHashMismatch].
// Reason is the other side's text: untrusted, to be escaped before it is
// shown.
type PartnerError struct {
	Code   Code
	Reason string
}

func (e *PartnerError) Error() string {
	s := "filexfer: the partner ended the transfer: " + e.Code.String()
	if e.Reason != "" {
		s += " (" + excerpt(e.Reason, 64) + ")"
	}
	return s
}

// Unwrap returns the code's sentinel.
func (e *PartnerError) Unwrap() error { return e.Code.Err() }

// excerpt quotes at most n bytes of s, so that an error never carries
// much of what a partner sent.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + "…"
}
