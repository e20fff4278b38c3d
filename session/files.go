package session

// File transfers on a link: the session checks the file messages
// (docs/PROTOCOL.md section 12) and hands them to Config.Files, and the
// link's writer sends the chunks the transfers queue behind every chat
// record.

import (
	"errors"
	"fmt"
	"sync"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/transfer"
)

// maxFileQueue bounds the chunks queued on one link: the transfers keep at
// most a window each in flight, so only a broken engine reaches it.
const maxFileQueue = 1024

// fileLink is a connected link as the file transfers see it. One value
// per link, so that the engine can tell links apart by comparing them.
type fileLink struct {
	l    *link
	once sync.Once // Connected was called
	up   bool      // guarded by once: Connected was called
}

var _ transfer.Link = (*fileLink)(nil)

// Send queues a control message of a transfer with the chat's priority.
func (f *fileLink) Send(m filexfer.Message) error {
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("session: a file message that cannot be sent: %w", err)
	}
	return f.l.enqueue(writeItem{pt: b})
}

// SendChunk queues a chunk behind every chat record.
func (f *fileLink) SendChunk(c filexfer.Chunk) error {
	b, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("session: a chunk that cannot be sent: %w", err)
	}
	l := f.l
	l.mu.Lock()
	switch {
	case l.m.state != linkConnected:
		err = ErrNotConnected
	case len(l.fileQueue) >= maxFileQueue:
		err = errFileQueueFull
	default:
		l.fileQueue = append(l.fileQueue, writeItem{pt: b})
	}
	l.mu.Unlock()
	if err == nil {
		l.pokeWriter()
	}
	return err
}

var errFileQueueFull = errors.New("session: too many file chunks queued on the link")

// filesConnected tells the file transfers that the link is connected,
// once: when it connects, or before the first file message it reads,
// whichever comes first (our Accept may reach the partner, and its first
// Offer reach us, before the step that connected us has told them).
func (l *link) filesConnected() {
	f := l.s.cfg.Files
	if f == nil {
		return
	}
	l.files.once.Do(func() {
		l.files.up = true
		f.Connected(l.fingerprint, l.files)
	})
}

// filesDisconnected tells the file transfers that the link is gone, if
// they were told it was there.
func (l *link) filesDisconnected() {
	f := l.s.cfg.Files
	if f == nil {
		return
	}
	l.files.once.Do(func() {}) // no Connected after this
	up := l.files.up
	l.mu.Lock()
	clear(l.fileQueue)
	l.fileQueue = nil
	l.mu.Unlock()
	if up {
		f.Disconnected(l.fingerprint, l.files)
	}
}

// receiveFile hands a file message to the transfers; without them it is
// dropped (it was well formed).
func (l *link) receiveFile(w *wireMsg) {
	f := l.s.cfg.Files
	if f == nil {
		return
	}
	l.filesConnected()
	f.Handle(l.fingerprint, l.files, w.file)
}
