package filexfer

import (
	"fmt"
	"strings"
)

// State is where a [Sender] or a [Receiver] is. Both go through the same
// states:
//
//	offered ─accept─▶ transferring ─every byte durable─▶ verifying ─hash matches─▶ done
//	any state but done ─decline, cancel, error─▶ failed
//
// For a sender, offered means "waiting for the Accept", again after every
// new connection; for a receiver, "waiting for its user".
type State int

// The states.
const (
	StateOffered      State = iota // the offer is out; nothing has been accepted on this connection
	StateTransferring              // chunks flow
	StateVerifying                 // the receiver holds every byte; its SHA-256 is being checked
	StateDone                      // verified and kept
	StateFailed                    // ended without the file: see Err
)

var stateNames = [...]string{
	StateOffered:      "offered",
	StateTransferring: "transferring",
	StateVerifying:    "verifying",
	StateDone:         "done",
	StateFailed:       "failed",
}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// over reports whether the transfer has ended, well or not.
func (s State) over() bool { return s == StateDone || s == StateFailed }

// ending is what both machines keep about how a transfer ended.
type ending struct {
	state State
	err   error
	// farewell is our Decline or Cancel, sent again on each new
	// connection in case the first copy was lost; nil when the partner
	// ended the transfer or it succeeded.
	farewell Message
}

// Err is why the transfer failed: nil unless the state is StateFailed. A
// failure the partner reported is a [*PartnerError].
func (e *ending) Err() error { return e.err }

// State is where the transfer is.
func (e *ending) State() State { return e.state }

// failLocal ends the transfer because of something on this side (its
// user, its disk, its file, or a rule the partner broke that this side
// detected) and returns farewell, what tells the partner: a Decline from a
// receiver, a Cancel from a sender.
func (e *ending) failLocal(farewell Message, err error) (Message, error) {
	e.state, e.err, e.farewell = StateFailed, err, farewell
	return farewell, err
}

// reasonFor is the text of a Decline or Cancel for a failure: the words of
// its code, or for a protocol violation the error itself, which this
// package wrote and which holds only offsets and sizes. Never the text of
// an error from the caller: it may name our files.
func reasonFor(code Code, err error) string {
	reason := code.Err().Error()
	if code == CodeProtocol {
		reason = err.Error()
	}
	return cutUTF8(strings.TrimPrefix(reason, "filexfer: "), MaxReasonBytes)
}

// failRemote ends the transfer because the partner said so.
func (e *ending) failRemote(c Code, reason string) error {
	e.state, e.err = StateFailed, &PartnerError{Code: c, Reason: reason}
	return e.err
}

// misuse is an [ErrState] about a call the state does not allow.
func misuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrState}, args...)...)
}

// aligned reports whether off is where a chunk of a size-byte file starts,
// or the end of the file: the only offsets an Accept or a Progress names.
func aligned(off, size uint64) bool {
	return off <= size && (off%ChunkSize == 0 || off == size)
}

// chunkLen is the length of the chunk at off (aligned, below size).
func chunkLen(off, size uint64) int {
	return int(min(ChunkSize, size-off))
}

// HandleUnknown answers a message whose id matches no transfer of its
// direction: an Accept or a Progress (for an outgoing transfer we do not
// have) is answered with a Cancel, a Chunk (for an incoming one) with a
// Decline, both [CodeProtocol], so that the other side stops; a Decline,
// Cancel or Done is dropped, so that two sides never answer each other's
// endings forever. An Offer never reaches here: it starts a [Receiver].
// The error wraps [ErrUnknownTransfer], to log.
func HandleUnknown(m Message) (Message, error) {
	id := m.Transfer()
	switch m.(type) {
	case Accept:
		err := fmt.Errorf("%w: an accept for %s", ErrUnknownTransfer, id)
		return Cancel{ID: id, Code: CodeProtocol, Reason: reasonFor(CodeProtocol, err)}, err
	case Progress:
		err := fmt.Errorf("%w: a progress for %s", ErrUnknownTransfer, id)
		return Cancel{ID: id, Code: CodeProtocol, Reason: reasonFor(CodeProtocol, err)}, err
	case Chunk:
		err := fmt.Errorf("%w: a chunk for %s", ErrUnknownTransfer, id)
		return Decline{ID: id, Code: CodeProtocol, Reason: reasonFor(CodeProtocol, err)}, err
	case Offer:
		return nil, misuse("an offer starts a Receiver")
	}
	return nil, fmt.Errorf("%w: a decline, cancel or done for %s, dropped", ErrUnknownTransfer, id)
}
