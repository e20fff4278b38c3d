package transfer

import (
	"errors"
	"image"
	"io"

	"github.com/securechat/securechat/filexfer"
)

// errTODO marks the engine's methods before they are built (issue 14).
var errTODO = errors.New("transfer: not built yet")

// Engine carries the file transfers of one profile. Its methods are safe
// for concurrent use.
type Engine struct {
	events chan Event
}

// Open loads the transfers kept in o.Dir; unfinished ones wait for a link.
func Open(o Options) (*Engine, error) { return nil, errTODO }

// Close stops the engine; partial files stay for the next start.
func (e *Engine) Close() error { return errTODO }

// Events delivers the transfers' news until Close.
func (e *Engine) Events() <-chan Event { return e.events }

// SendFile offers the file at path to contact: it is copied into the store
// and hashed (StatePreparing), then offered whenever contact is connected.
func (e *Engine) SendFile(contact, path string) (Transfer, error) { return Transfer{}, errTODO }

// SendReader offers what r holds (a pasted picture) as name.
func (e *Engine) SendReader(contact, name, mediaType string, r io.Reader) (Transfer, error) {
	return Transfer{}, errTODO
}

// Accept is our user's yes to an incoming offer.
func (e *Engine) Accept(contact, id string) error { return errTODO }

// Decline is our user's no to an incoming offer, or its stop once accepted.
func (e *Engine) Decline(contact, id string) error { return errTODO }

// Cancel ends an unfinished transfer in either direction.
func (e *Engine) Cancel(contact, id string) error { return errTODO }

// List returns the transfers of contact ("" for every contact), oldest first.
func (e *Engine) List(contact string) []Transfer { return nil }

// Get returns one transfer.
func (e *Engine) Get(contact, id string) (Transfer, bool) { return Transfer{}, false }

// Open returns the plaintext of a complete file, streamed.
func (e *Engine) Open(contact, id string) (io.ReadSeekCloser, error) { return nil, errTODO }

// SaveAs writes a plaintext copy of a complete file to path, atomically.
func (e *Engine) SaveAs(contact, id, path string) error { return errTODO }

// Thumbnail decodes a complete picture with bounded memory, scaled to fit
// maxSide.
func (e *Engine) Thumbnail(contact, id string, maxSide int) (image.Image, error) {
	return nil, errTODO
}

// DeleteContact removes every transfer and file of contact from disk.
func (e *Engine) DeleteContact(contact string) error { return errTODO }

// Connected is the session's news that a link of contact is up.
func (e *Engine) Connected(contact string, l Link) {}

// Disconnected is the session's news that l is gone.
func (e *Engine) Disconnected(contact string, l Link) {}

// Handle takes one file message that arrived on l.
func (e *Engine) Handle(contact string, l Link, m filexfer.Message) {}
