package filexfer

import (
	"fmt"
)

// Receiver is the receiving side of one transfer. It does no I/O: the
// caller writes the chunks it lets through, makes them durable (fsync)
// when [Receiver.ShouldSync] says so and reports it with
// [Receiver.Stored], hashes the file and hands the SHA-256 to
// [Receiver.Verify]. It is not safe for concurrent use.
//
// Every method that returns an error other than an [ErrState] has ended
// the transfer (State is StateFailed, Err is that error, the partial file is to
// be deleted); the Message returned with it, when there is one, is the
// Decline to send.
type Receiver struct {
	offer Offer
	name  string
	// received: [0, received) has been handed to the caller to write.
	// It never goes back, across connections too: a chunk below it is a
	// resend, dropped.
	received uint64
	durable  uint64 // [0, durable) is durable, as the caller reported
	granted  uint64 // the offset of our last Accept or Progress: the sender may send up to granted+Window
	ending
}

// NewReceiver takes a new Offer. The receiver waits for its user: a Chunk
// before [Receiver.Accept] is [ErrNotAccepted]. It fails with
// [ErrUnusableName] when [SafeName] leaves nothing of the name; the caller
// then answers with a Decline of [CodeUnusableName] (see
// [DeclineUnusable]). The caller stores o durably with the user's answer.
func NewReceiver(o Offer) (*Receiver, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	name, err := SafeName(o.Name)
	if err != nil {
		return nil, err
	}
	return &Receiver{offer: o, name: name}, nil
}

// DeclineUnusable is the Decline that answers an Offer whose name
// [NewReceiver] refused.
func DeclineUnusable(o Offer) Decline {
	return Decline{ID: o.ID, Code: CodeUnusableName, Reason: "the file name is empty once cleaned"}
}

// DeclineBusy is the Decline that answers an Offer beyond
// [MaxWaitingOffers].
func DeclineBusy(o Offer) Decline {
	return Decline{ID: o.ID, Code: CodeBusy, Reason: "too many offers are waiting for an answer"}
}

// ResumeReceiver rebuilds, after a restart, a receiver whose user had
// accepted o and which had made durable the first durable bytes. The
// caller then waits for the sender's Offer on the next connection and
// passes it to [Receiver.HandleOffer]. When durable is the whole file, the
// caller hashes it and calls Verify.
func ResumeReceiver(o Offer, durable uint64) (*Receiver, error) {
	r, err := NewReceiver(o)
	if err != nil {
		return nil, err
	}
	if !aligned(durable, o.Size) {
		return nil, misuse("resume at %d of a %d-byte file", durable, o.Size)
	}
	r.received, r.durable, r.granted = durable, durable, durable
	r.state = StateTransferring
	if durable == o.Size {
		r.state = StateVerifying
	}
	return r, nil
}

// Offer is the transfer's offer, as the sender sent it.
func (r *Receiver) Offer() Offer { return r.offer }

// Name is SafeName of the offer's name: what the user interface shows and
// what the file is saved as.
func (r *Receiver) Name() string { return r.name }

// Durable is how many bytes the caller reported durable: the progress to
// show, and where a restart resumes.
func (r *Receiver) Durable() uint64 { return r.durable }

// Received is how many bytes were handed to the caller to write.
func (r *Receiver) Received() uint64 { return r.received }

// Accept is the user's yes: it returns the Accept to send.
func (r *Receiver) Accept() (Message, error) {
	if r.state != StateOffered {
		return nil, misuse("accept a transfer that is %s", r.state)
	}
	r.state, r.granted = StateTransferring, r.durable
	return Accept{ID: r.offer.ID, Offset: r.durable}, nil
}

// Decline is the user's no, or the user's stop once the file is coming:
// the transfer ends with [ErrDeclined] or [ErrCancelled] and the Decline
// to send is returned.
func (r *Receiver) Decline() (Message, error) {
	switch r.state {
	case StateOffered:
		return r.fail(CodeDeclined, ErrDeclined)
	case StateTransferring, StateVerifying:
		return r.fail(CodeCancelled, ErrCancelled)
	}
	return nil, misuse("decline a transfer that is %s", r.state)
}

// Fail ends the transfer because the caller cannot store the file (disk
// full, a failed write or fsync): the partner is told [CodeStorage],
// without err's text.
func (r *Receiver) Fail(err error) (Message, error) {
	if r.state.over() {
		return nil, misuse("fail a transfer that is %s", r.state)
	}
	if err == nil {
		return r.fail(CodeStorage, ErrStorage)
	}
	return r.fail(CodeStorage, fmt.Errorf("%w: %w", ErrStorage, err))
}

// HandleOffer takes an Offer for this transfer's id again: the sender
// sends it on every new connection. The answer: nothing while the user
// decides; an Accept at the durable offset while the file is coming (the
// sender resends from there; chunks this side already has are dropped);
// Done again once verified; the Decline again once this side ended it. An
// Offer that differs from the first is [ErrOfferChanged].
func (r *Receiver) HandleOffer(o Offer) (Message, error) {
	if err := r.route(o); err != nil {
		return nil, err
	}
	if r.state == StateFailed {
		return r.farewell, nil
	}
	if o != r.offer && r.state != StateDone {
		return r.fail(CodeProtocol, fmt.Errorf("%w: size, hash, media type or name changed", ErrOfferChanged))
	}
	switch r.state {
	case StateOffered:
		return nil, nil
	case StateDone:
		return Done{ID: r.offer.ID}, nil
	}
	r.granted = r.durable
	return Accept{ID: r.offer.ID, Offset: r.durable}, nil
}

// HandleChunk takes a Chunk. When write is true the caller writes c.Data
// at c.Offset. Either way it then asks ShouldSync. A resend of bytes already
// handed out (after a reconnect the sender starts again from the durable
// offset) returns write false and no error: it is dropped. So is a chunk
// that arrives after the transfer ended. Anything else that does not
// continue the file exactly ends the transfer: a chunk before Accept
// ([ErrNotAccepted]), past the size ([ErrPastEnd]), after a gap
// ([ErrOutOfOrder]), of the wrong length ([ErrChunkLength]), or beyond the
// window ([ErrWindow]).
func (r *Receiver) HandleChunk(c Chunk) (write bool, reply Message, err error) {
	if err := r.route(c); err != nil {
		return false, nil, err
	}
	switch r.state {
	case StateOffered:
		reply, err = r.fail(CodeProtocol, fmt.Errorf("%w (%d bytes at %d)", ErrNotAccepted, len(c.Data), c.Offset))
		return false, reply, err
	case StateDone, StateFailed:
		return false, nil, nil
	}
	if err := c.check(); err != nil {
		reply, err = r.fail(CodeProtocol, err)
		return false, reply, err
	}
	size, end := r.offer.Size, c.Offset+uint64(len(c.Data))
	switch {
	case end > size:
		err = fmt.Errorf("%w: bytes %d to %d of a %d-byte file", ErrPastEnd, c.Offset, end, size)
	case len(c.Data) != chunkLen(c.Offset, size):
		err = fmt.Errorf("%w: %d bytes at %d, not %d", ErrChunkLength, len(c.Data), c.Offset, chunkLen(c.Offset, size))
	case c.Offset < r.received:
		return false, nil, nil // a resend
	case c.Offset > r.received:
		err = fmt.Errorf("%w: bytes at %d, expected %d", ErrOutOfOrder, c.Offset, r.received)
	case end > r.granted+Window:
		err = fmt.Errorf("%w: bytes to %d with %d granted", ErrWindow, end, r.granted)
	}
	if err != nil {
		reply, err = r.fail(CodeProtocol, err)
		return false, reply, err
	}
	r.received = end
	return true, nil, nil
}

// ShouldSync reports whether the caller should make what it wrote durable
// now and call Stored: when half the window is waiting, or when the last
// byte has been written. Asked after every HandleChunk, a resend included,
// it keeps the sender from stalling on a full window.
func (r *Receiver) ShouldSync() bool {
	if r.state != StateTransferring || r.received == r.durable {
		return false
	}
	return r.received-r.durable >= Window/2 || r.received == r.offer.Size
}

// Stored is the caller's report that bytes [0, offset) are durable
// (written and synced): it returns the Progress to send, or nil when
// nothing new is durable. offset is what the caller had written when it
// started its sync: at most Received, a multiple of ChunkSize or the
// size. Once the whole file is durable the state is StateVerifying.
func (r *Receiver) Stored(offset uint64) (Message, error) {
	switch r.state {
	case StateFailed:
		return nil, nil
	case StateTransferring, StateVerifying:
	default:
		return nil, misuse("stored %d of a transfer that is %s", offset, r.state)
	}
	if offset <= r.durable {
		return nil, nil
	}
	if offset > r.received || !aligned(offset, r.offer.Size) {
		return nil, misuse("stored %d with %d received", offset, r.received)
	}
	r.durable, r.granted = offset, offset
	if offset == r.offer.Size {
		r.state = StateVerifying
	}
	return Progress{ID: r.offer.ID, Durable: offset}, nil
}

// Verify takes the SHA-256 the caller computed over the whole durable
// file. When it is the announced one the transfer is Done and the Done to
// send is returned: the caller moves the file to its place under Name. When
// not, the transfer fails with [ErrHashMismatch] and the Decline to send
// is returned: the caller deletes the file.
func (r *Receiver) Verify(sum [32]byte) (Message, error) {
	if r.state != StateVerifying {
		return nil, misuse("verify a transfer that is %s", r.state)
	}
	if sum != r.offer.SHA256 {
		return r.fail(CodeHashMismatch, fmt.Errorf("%w (SHA-256 %x…, %x… announced)", ErrHashMismatch, sum[:4], r.offer.SHA256[:4]))
	}
	r.state = StateDone
	return Done{ID: r.offer.ID}, nil
}

// HandleCancel takes the sender's Cancel: the transfer ends with a
// [*PartnerError] and the caller deletes the partial file. A Cancel after
// Done changes nothing: the file was verified and is kept.
func (r *Receiver) HandleCancel(c Cancel) error {
	if err := r.route(c); err != nil {
		return err
	}
	if r.state.over() {
		return nil
	}
	return r.failRemote(c.Code, c.Reason)
}

// Connected is called when a new connection to the partner is up and
// returns what to send for this transfer on it: the Decline again when
// this side ended the transfer (the first copy may have been lost),
// otherwise nothing (the sender re-offers).
func (r *Receiver) Connected() Message {
	if r.state == StateFailed {
		return r.farewell
	}
	return nil
}

// fail ends the transfer for err and returns the Decline that tells the
// partner code.
func (r *Receiver) fail(code Code, err error) (Message, error) {
	return r.failLocal(Decline{ID: r.offer.ID, Code: code, Reason: reasonFor(code, err)}, err)
}

func (r *Receiver) route(m Message) error {
	if m.Transfer() != r.offer.ID {
		return misuse("%T for transfer %s given to the receiver of %s", m, m.Transfer(), r.offer.ID)
	}
	return nil
}
