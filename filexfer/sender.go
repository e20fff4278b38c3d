package filexfer

import (
	"errors"
	"fmt"
	"io"
)

// Sender is the sending side of one transfer. It does no I/O, starts no
// goroutine and reads no clock: the caller feeds it the partner's messages
// and its user's decisions, sends the messages it returns, and reads the
// file through the [io.ReaderAt] it hands to [Sender.Next]. It is not safe
// for concurrent use.
//
// Every method that returns an error other than an [ErrState] has ended
// the transfer (State is StateFailed, Err is that error); the Message returned
// with it, when there is one, is the Cancel to send.
type Sender struct {
	offer Offer
	sent  uint64 // [0, sent) has been handed out as chunks on this connection
	acked uint64 // the receiver's durable offset, as it last reported it
	ending
}

// NewSender starts a transfer of the file that o describes. It fails with
// [ErrInvalid] (and [ErrEmptyFile] or [ErrTooLarge] for the size) when o
// cannot be sent. The caller stores o durably before it sends it, so that
// the transfer can resume after a restart with a new Sender for the same
// Offer.
func NewSender(o Offer) (*Sender, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return &Sender{offer: o}, nil
}

// Offer is the transfer's offer.
func (s *Sender) Offer() Offer { return s.offer }

// Durable is how many bytes the receiver holds durably, as it last said:
// the progress to show.
func (s *Sender) Durable() uint64 { return s.acked }

// InFlight is how many bytes were handed out by Next and not yet reported
// durable by the receiver; never more than [Window].
func (s *Sender) InFlight() uint64 { return s.sent - s.acked }

// Connected is called when a connection to the partner is up (both sides
// admitted each other), the first one included, and returns what to send
// for this transfer on it: the Offer while the transfer is unfinished
// (chunks sent on an earlier connection and not reported durable go out
// again after the receiver's Accept), the Cancel again when this side
// ended it, nothing when it is done or the partner ended it.
func (s *Sender) Connected() Message {
	switch s.state {
	case StateDone:
		return nil
	case StateFailed:
		return s.farewell
	}
	s.state, s.sent = StateOffered, s.acked
	return s.offer
}

// HandleAccept takes the receiver's Accept: chunks start at its offset.
func (s *Sender) HandleAccept(a Accept) (Message, error) {
	if err := s.route(a); err != nil {
		return nil, err
	}
	switch s.state {
	case StateDone, StateFailed:
		return nil, nil // crossed our Cancel, or a late copy: nothing to do
	case StateTransferring, StateVerifying:
		return s.fail(CodeProtocol, fmt.Errorf("%w: a second accept on one connection", ErrUnexpected))
	}
	if !aligned(a.Offset, s.offer.Size) {
		return s.fail(CodeProtocol, fmt.Errorf("%w: accept at %d of a %d-byte file", ErrBadOffset, a.Offset, s.offer.Size))
	}
	s.acked, s.sent = a.Offset, a.Offset
	s.state = StateTransferring
	if a.Offset == s.offer.Size {
		s.state = StateVerifying
	}
	return nil, nil
}

// Next returns the next Chunk to send, reading it from src at its offset,
// or nil when there is nothing to send now: the window is full (wait for a
// Progress), every byte is out, or no Accept has come on this connection.
// The caller calls it until it returns nil, after the Accept and after each
// Progress. A read that comes back short (the file is shorter than
// announced) or fails ends the transfer with [ErrSourceChanged].
func (s *Sender) Next(src io.ReaderAt) (Message, error) {
	if s.state != StateTransferring || s.sent == s.offer.Size {
		return nil, nil
	}
	n := chunkLen(s.sent, s.offer.Size)
	if s.sent+uint64(n)-s.acked > Window {
		return nil, nil
	}
	buf := make([]byte, n)
	k, err := src.ReadAt(buf, int64(s.sent))
	if k < n {
		if err == nil || errors.Is(err, io.EOF) {
			return s.fail(CodeSourceChanged, fmt.Errorf("%w: the file ends at byte %d, %d were announced", ErrSourceChanged, s.sent+uint64(k), s.offer.Size))
		}
		return s.fail(CodeSourceChanged, fmt.Errorf("%w: %w", ErrSourceChanged, err))
	}
	c := Chunk{ID: s.offer.ID, Offset: s.sent, Data: buf}
	s.sent += uint64(n)
	return c, nil
}

// HandleProgress takes the receiver's report of what it holds durably,
// which frees the window up to it. It never goes back; it may go past
// what this connection has sent (the receiver had written more before a
// cut, and synced it since), and the chunks then start there.
func (s *Sender) HandleProgress(p Progress) (Message, error) {
	if err := s.route(p); err != nil {
		return nil, err
	}
	switch s.state {
	case StateDone, StateFailed:
		return nil, nil
	case StateOffered:
		return s.fail(CodeProtocol, fmt.Errorf("%w: progress before the accept", ErrUnexpected))
	}
	if p.Durable < s.acked || !aligned(p.Durable, s.offer.Size) {
		return s.fail(CodeProtocol, fmt.Errorf("%w: progress %d after %d, of a %d-byte file", ErrBadOffset, p.Durable, s.acked, s.offer.Size))
	}
	// Past what this connection sent: the receiver synced bytes it had
	// written before a cut. Continue from there.
	s.acked, s.sent = p.Durable, max(s.sent, p.Durable)
	if s.acked == s.offer.Size {
		s.state = StateVerifying
	}
	return nil, nil
}

// HandleDone takes the receiver's word that the file is verified and kept.
// It comes after the last Progress, or in answer to the Offer on a new
// connection when the receiver finished before the old one ended. A Done
// that crosses this side's Cancel wins: the file did arrive.
func (s *Sender) HandleDone(d Done) error {
	if err := s.route(d); err != nil {
		return err
	}
	switch {
	case s.state == StateOffered || s.state == StateVerifying,
		s.state == StateFailed && s.farewell != nil:
		s.acked, s.sent = s.offer.Size, s.offer.Size
		s.state, s.err, s.farewell = StateDone, nil, nil
		return nil
	case s.state == StateTransferring:
		_, err := s.fail(CodeProtocol, fmt.Errorf("%w: done with %d of %d bytes reported durable", ErrUnexpected, s.acked, s.offer.Size))
		return err
	}
	return nil
}

// HandleDecline takes the receiver's Decline: the transfer ends with a
// [*PartnerError]. A Decline after Done, or after this side's own Cancel,
// changes nothing.
func (s *Sender) HandleDecline(d Decline) error {
	if err := s.route(d); err != nil {
		return err
	}
	if s.state.over() {
		return nil
	}
	return s.failRemote(d.Code, d.Reason)
}

// Cancel ends the transfer because the user stopped it, and returns the
// Cancel to send.
func (s *Sender) Cancel() (Message, error) {
	if s.state.over() {
		return nil, misuse("cancel a transfer that is %s", s.state)
	}
	return s.fail(CodeCancelled, ErrCancelled)
}

// Fail ends the transfer because the caller cannot read the file (it could
// not open it after a restart, say): the partner is told
// [CodeSourceChanged], without err's text.
func (s *Sender) Fail(err error) (Message, error) {
	if s.state.over() {
		return nil, misuse("fail a transfer that is %s", s.state)
	}
	if err == nil {
		return s.fail(CodeSourceChanged, ErrSourceChanged)
	}
	return s.fail(CodeSourceChanged, fmt.Errorf("%w: %w", ErrSourceChanged, err))
}

// fail ends the transfer for err and returns the Cancel that tells the
// partner code.
func (s *Sender) fail(code Code, err error) (Message, error) {
	return s.failLocal(Cancel{ID: s.offer.ID, Code: code, Reason: reasonFor(code, err)}, err)
}

// route checks that m is about this transfer.
func (s *Sender) route(m Message) error {
	if m.Transfer() != s.offer.ID {
		return misuse("%T for transfer %s given to the sender of %s", m, m.Transfer(), s.offer.ID)
	}
	return nil
}
