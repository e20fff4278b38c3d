// Package transfer carries a profile's file transfers: what each one is,
// kept durably across restarts, and the engine that moves them over the
// session's links with the machines of package filexfer, storing the files
// encrypted with package filestore. It knows nothing of the session, the
// history or the user interface: the session hands it links and file
// messages, the front ends call it for everything a user does with files.
//
// The files are kept by package filestore in the folder the engine is
// opened on; the transfers, in a journal of one sealed record per
// transfer in its transfers subfolder (docs/FILES-FORMAT.md). A received
// file's durable length is not journaled: its partial file says it. Each
// unfinished transfer has a worker goroutine for its disk work (importing,
// reading and sending chunks; writing, syncing, verifying); the session's
// calls only run the filexfer machines and queue that work.
package transfer

import (
	"errors"
	"time"

	"github.com/securechat/securechat/filexfer"
)

// Link is one connected link of a contact, as the session gives it to the
// engine.
type Link interface {
	// Send queues a control message (Offer, Accept, Decline, Progress,
	// Cancel, Done) with the chat's priority. It never blocks. An error
	// means the link is gone.
	Send(m filexfer.Message) error
	// SendChunk queues a chunk behind every chat record: the link's
	// writer sends chat first and looks at the chat queue again after each
	// chunk. It never blocks; the engine never has more than
	// filexfer.Window bytes of a transfer queued.
	SendChunk(c filexfer.Chunk) error
}

// State is where a transfer is.
type State int

const (
	// StatePreparing: ours, being copied into the store and hashed.
	StatePreparing State = iota + 1
	// StateWaiting: offered, or to be offered on the next connection;
	// for an incoming one, our user has not decided.
	StateWaiting
	// StateTransferring: accepted; bytes move, or wait for a connection.
	StateTransferring
	// StateVerifying: incoming, every byte durable, being hashed.
	StateVerifying
	// StateDone: verified by the receiver (ours: the partner's Done came).
	StateDone
	// StateFailed: declined, cancelled, a hash mismatch, storage, a
	// protocol violation; Transfer.Err says which.
	StateFailed
)

// String names the state for logs and the terminal.
func (s State) String() string {
	switch s {
	case StatePreparing:
		return "preparing"
	case StateWaiting:
		return "waiting"
	case StateTransferring:
		return "transferring"
	case StateVerifying:
		return "verifying"
	case StateDone:
		return "done"
	case StateFailed:
		return "failed"
	}
	return "unknown"
}

// Over reports whether the transfer has ended (done or failed).
func (s State) Over() bool { return s == StateDone || s == StateFailed }

// Transfer is a snapshot of one transfer.
type Transfer struct {
	// ID is "o-" and 32 hex digits for ours, "i-" and 32 hex digits for
	// the partner's: unique among the transfers of one contact.
	ID      string
	Contact string // the partner's key fingerprint
	// Outgoing: we send it.
	Outgoing bool
	// Name is, for an incoming file, filexfer.SafeName of the offered
	// name; for ours, the base name we offered.
	Name      string
	MediaType string // as offered; "application/octet-stream" if unknown
	Size      int64
	SHA256    [32]byte
	// Time is when we sent or received the offer, by our clock: the
	// transfer's place in the thread.
	Time  time.Time
	State State
	// Bytes is how many bytes the receiver holds durably: the progress.
	Bytes int64
	// Rate is the speed in bytes per second over the last seconds; 0 if
	// unknown.
	Rate float64
	// Connected: a link to Contact is up now.
	Connected bool
	// Err, when State is StateFailed, wraps a filexfer sentinel
	// (ErrDeclined, ErrCancelled, ErrHashMismatch, ErrSourceChanged,
	// ErrStorage, ErrUnusableName, ErrProtocol, ...); a
	// *filexfer.PartnerError when the partner ended it.
	Err error
	// Picture: the bytes, not only the media type, are a PNG, JPEG or GIF
	// that Thumbnail can show (known once the file is complete).
	Picture bool
}

// Remaining is the time left at Rate; 0 if unknown.
func (t Transfer) Remaining() time.Duration {
	if t.Rate <= 0 || t.State.Over() {
		return 0
	}
	return time.Duration(float64(t.Size-t.Bytes) / t.Rate * float64(time.Second))
}

// Event reports a transfer's new state or progress. Progress is reported
// a few times a second at most; state changes are never dropped.
type Event struct{ Transfer Transfer }

// Options set up an [Engine].
type Options struct {
	// Dir is the store's folder (history.Vault.FilesDir).
	Dir string
	// Key is the store's master key (history.Vault.FilesKey); the engine
	// keeps a copy, the caller clears its own.
	Key []byte
	// AutoAccept decides an incoming offer without asking the user; it is
	// called off the UI goroutine. Nil: always ask.
	AutoAccept func(t Transfer) bool
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

var (
	// ErrUnknown: no transfer with that id for that contact.
	ErrUnknown = errors.New("transfer: no such file transfer")
	// ErrFinished: the transfer has ended already.
	ErrFinished = errors.New("transfer: the file transfer has ended")
	// ErrNotReady: the file is not complete yet.
	ErrNotReady = errors.New("transfer: the file has not been received yet")
)
