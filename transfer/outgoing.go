package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// preparation is what an outgoing transfer imports into the store.
type preparation struct {
	r       io.Reader
	close   func() error
	hint    string // the caller's media type; "" to look at the bytes
	stopped atomic.Bool
	once    sync.Once
}

// stop ends the import: the source is closed, which also ends a read that
// waits (a pipe's).
func (p *preparation) stop() {
	p.stopped.Store(true)
	p.done()
}

// done closes the source, once.
func (p *preparation) done() { p.once.Do(func() { _ = p.close() }) }

// errStopped ends an import that the engine's Close or our user stopped.
var errStopped = errors.New("transfer: stopped")

// SendFile offers the file at path to contact: it is copied into the store
// and hashed (StatePreparing), then offered whenever contact is connected.
// It returns at once; a path that cannot be sent (missing, unreadable, a
// folder, empty, over 4 GiB) is refused here, with words a user can read.
func (e *Engine) SendFile(contact, path string) (Transfer, error) {
	name := filepath.Base(path)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Transfer{}, fmt.Errorf("transfer: %s does not exist: %w", path, err)
	case err != nil:
		return Transfer{}, fmt.Errorf("transfer: %s cannot be read: %w", path, err)
	case fi.IsDir():
		return Transfer{}, fmt.Errorf("transfer: %s is a folder: only files can be sent", path)
	case !fi.Mode().IsRegular():
		return Transfer{}, fmt.Errorf("transfer: %s is not a regular file", path)
	case fi.Size() == 0:
		return Transfer{}, fmt.Errorf("transfer: %s cannot be sent: %w", name, filexfer.ErrEmptyFile)
	case fi.Size() > filexfer.MaxSize:
		return Transfer{}, fmt.Errorf("transfer: %s cannot be sent: %w", name, filexfer.ErrTooLarge)
	}
	f, err := os.Open(path)
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer: %s cannot be read: %w", path, err)
	}
	t, err := e.startSend(contact, name, "", fi.Size(), &preparation{r: f, close: f.Close})
	if err != nil {
		f.Close()
	}
	return t, err
}

// SendReader offers what r holds (a pasted picture) as name. mediaType is
// used when it is a valid media type; otherwise the bytes decide. r is read
// by the transfer's worker, to its end; if it is an io.Closer it is closed
// then.
func (e *Engine) SendReader(contact, name, mediaType string, r io.Reader) (Transfer, error) {
	name = cutText(strings.TrimSpace(name), filexfer.MaxNameBytes)
	if name == "" {
		return Transfer{}, errors.New("transfer: a file to send needs a name")
	}
	if r == nil {
		return Transfer{}, errors.New("transfer: nothing to send")
	}
	p := &preparation{r: r, close: func() error { return nil }}
	if c, ok := r.(io.Closer); ok {
		p.close = c.Close
	}
	if t := reduceType(mediaType); t != octetStream {
		p.hint = t
	}
	return e.startSend(contact, name, p.hint, 0, p)
}

func (e *Engine) startSend(contact, name, mediaType string, size int64, p *preparation) (Transfer, error) {
	if contact == "" {
		return Transfer{}, errors.New("transfer: no contact to send the file to")
	}
	name = cutText(name, filexfer.MaxNameBytes)
	id := filexfer.NewID()
	x := &xfer{
		e:       e,
		id:      outgoingID(id),
		contact: contact,
		out:     true,
		shown:   name,
		rec: record{Outgoing: true, State: StatePreparing, Time: e.now(), Contact: contact,
			Offer: filexfer.Offer{ID: id, Size: uint64(size), MediaType: mediaType, Name: name}},
		prep: p,
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return Transfer{}, errors.New("transfer: the engine is closed")
	}
	pe := e.peer(contact)
	x.pe = pe
	pe.xfers[x.id] = x
	x.link = pe.link
	e.mu.Unlock()
	x.mu.Lock()
	t := x.snapshot()
	x.emitState()
	x.mu.Unlock()
	x.startWorker()
	return t, nil
}

// stopReader reads the source of an import until the preparation is
// stopped.
type stopReader struct {
	x *xfer
	p *preparation
}

func (s stopReader) Read(b []byte) (int, error) {
	if s.p.stopped.Load() || s.x.stopping() {
		return 0, errStopped
	}
	return s.p.r.Read(b)
}

// runOut is the worker of an outgoing transfer: it imports the file, then
// sends its chunks as the window allows.
func (x *xfer) runOut() {
	defer func() {
		if x.src != nil {
			x.src.Close()
			x.src = nil
		}
	}()
	if x.prep != nil && !x.prepare() {
		return
	}
	for x.stepOut() {
		if !x.wait() {
			return
		}
	}
}

// prepare imports the file into the store and offers it.
func (x *xfer) prepare() bool {
	p := x.prep
	defer p.done()
	src := stopReader{x, p}
	head := make([]byte, 512)
	n, err := io.ReadFull(src, head)
	head = head[:n]
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		x.prepFailed(err)
		return false
	}
	mt := p.hint
	if mt == "" {
		mt = detectType(head, x.shown)
	}
	sid, meta, err := x.e.store.Import(io.MultiReader(bytes.NewReader(head), src), filestore.Meta{Name: x.shown, MediaType: mt})
	if err != nil && !errors.Is(err, filestore.ErrNotDurable) {
		x.prepFailed(err)
		return false
	}
	if meta.Size == 0 {
		x.e.store.Delete(sid)
		x.prepFailed(filexfer.ErrEmptyFile)
		return false
	}
	offer := filexfer.Offer{ID: x.rec.Offer.ID, Size: uint64(meta.Size), SHA256: meta.SHA256, MediaType: mt, Name: x.shown}
	snd, err := filexfer.NewSender(offer)
	if err != nil {
		x.e.store.Delete(sid)
		x.prepFailed(err)
		return false
	}
	x.mu.Lock()
	if x.rec.State.Over() || x.gone {
		x.mu.Unlock()
		x.e.store.Delete(sid)
		return false
	}
	x.rec.Offer, x.rec.Stored, x.rec.StoreID = offer, true, sid
	x.rec.Picture = isPicture(head)
	x.rec.State = StateWaiting
	x.name = newName()
	x.mu.Unlock()
	// The offer is durable before it is sent.
	err = x.e.persist(x)
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.rec.State.Over() || x.gone:
		return false // cancelled meanwhile; the store copy stays with the record
	case err != nil:
		x.failQuiet(filexfer.CodeCancelled, fmt.Errorf("%w: %w", filexfer.ErrStorage, err))
		return false
	}
	x.snd = snd
	if x.link != nil {
		x.offerOn(x.link)
	}
	x.emitState()
	return true
}

// offerOn offers x on l, a new link or the first time. An offer not yet
// answered takes one of the contact's offer slots: when all
// filexfer.MaxWaitingOffers are taken (the receiver would decline one
// more as busy), x waits for one, oldest first, and is offered when an
// earlier offer is answered or ends. x.mu is held; x.snd is set.
func (x *xfer) offerOn(l Link) {
	if x.rec.State == StateWaiting && !x.pe.takeSlot(x, l) {
		return
	}
	if x.offerSeq == 0 {
		x.offerSeq = x.e.offers.Add(1)
	}
	x.offeredOn = l
	x.send(x.snd.Connected())
}

// answered gives back x's offer slot, or its place among those waiting
// for one: our offer was accepted, declined or ended. x.mu is held.
func (x *xfer) answered() {
	if p := x.pe; p != nil {
		p.release(x)
	}
}

// promote offers x, which waited for an offer slot on l, unless it no
// longer needs one (then the next one waiting gets the slot).
func (x *xfer) promote(l Link) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.link == l && x.snd != nil && x.rec.State == StateWaiting && x.offeredOn != l && !x.gone {
		x.offerOn(l)
		return
	}
	x.pe.promoteNext()
}

// prepFailed ends a transfer whose file could not be imported.
func (x *xfer) prepFailed(err error) {
	if errors.Is(err, errStopped) || x.prep.stopped.Load() {
		return // Close, DeleteContact or Cancel (which closed the source): nothing to say
	}
	code := filexfer.CodeSourceChanged
	switch {
	case errors.Is(err, filexfer.ErrEmptyFile):
		err = fmt.Errorf("transfer: %s cannot be sent: %w", x.shown, err)
	case errors.Is(err, filestore.ErrTooLarge):
		err = fmt.Errorf("transfer: %s cannot be sent: %w", x.shown, filexfer.ErrTooLarge)
	default:
		err = fmt.Errorf("transfer: %s could not be read: %w: %w", x.shown, filexfer.ErrSourceChanged, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.rec.State.Over() {
		x.failQuiet(code, err)
	}
}

// stepOut sends chunks while the window allows; false when the worker is
// finished.
func (x *xfer) stepOut() bool {
	for {
		x.mu.Lock()
		if x.rec.State.Over() {
			x.mu.Unlock()
			return false
		}
		snd, link := x.snd, x.link
		if snd == nil || link == nil || snd.State() != filexfer.StateTransferring {
			x.mu.Unlock()
			return true
		}
		acked := snd.Durable()
		off, size := acked+snd.InFlight(), x.rec.Offer.Size
		n := min(filexfer.ChunkSize, size-off)
		if off >= size || off+n-acked > filexfer.Window {
			x.mu.Unlock()
			return true
		}
		sid := x.rec.StoreID
		x.mu.Unlock()
		if x.stopping() {
			return false
		}
		if x.src == nil {
			r, _, err := x.e.store.Open(sid)
			if err != nil {
				x.mu.Lock()
				if x.snd == snd {
					m, ferr := snd.Fail(err)
					x.failLocal(m, ferr)
				}
				x.mu.Unlock()
				return false
			}
			x.src = r
		}
		// Read outside the lock: the session's goroutine never waits for
		// the disk.
		if x.readBuf == nil {
			x.readBuf = make([]byte, filexfer.ChunkSize)
		}
		buf := x.readBuf[:n] // Next copies it into the chunk
		k, rerr := x.src.ReadAt(buf, int64(off))
		x.mu.Lock()
		if x.snd != snd || x.link != link || snd.Durable()+snd.InFlight() != off || snd.State() != filexfer.StateTransferring {
			x.mu.Unlock()
			continue // a Progress or a new link moved things: look again
		}
		m, err := snd.Next(readBuf{off: off, b: buf[:k], err: rerr})
		if err != nil {
			x.failLocal(m, err)
			x.mu.Unlock()
			return false
		}
		x.mu.Unlock()
		if c, ok := m.(filexfer.Chunk); ok {
			_ = link.SendChunk(c)
		}
	}
}

// readBuf is an io.ReaderAt over bytes read ahead at off.
type readBuf struct {
	off uint64
	b   []byte
	err error
}

func (r readBuf) ReadAt(p []byte, off int64) (int, error) {
	if uint64(off) != r.off {
		return 0, errors.New("transfer: read ahead at another offset") // unreachable
	}
	n := copy(p, r.b)
	if n < len(p) {
		if r.err == nil {
			return n, io.EOF
		}
		return n, r.err
	}
	return n, nil
}

// handleOut takes a message for an outgoing transfer; x.mu is held.
func (x *xfer) handleOut(m filexfer.Message) {
	snd := x.snd
	switch m := m.(type) {
	case filexfer.Accept:
		if snd == nil {
			return // ended, or a late copy
		}
		reply, err := snd.HandleAccept(m)
		if err != nil {
			x.failLocal(reply, err)
			return
		}
		if x.rec.State == StateWaiting {
			x.rec.State = StateTransferring
			x.answered()
			x.bytes = int64(snd.Durable())
			x.rec.Acked = snd.Durable()
			x.changed()
			x.emitState()
		} else {
			x.setBytes(int64(snd.Durable()))
		}
		x.wake()
	case filexfer.Progress:
		if snd == nil {
			return
		}
		reply, err := snd.HandleProgress(m)
		if err != nil {
			x.failLocal(reply, err)
			return
		}
		x.setBytes(int64(snd.Durable()))
		x.wake()
	case filexfer.Done:
		if snd == nil {
			// A Done that crosses our Cancel wins: the file arrived.
			if x.rec.State == StateFailed && !x.rec.Partner {
				x.rec.State, x.rec.Code, x.rec.Farewell, x.rec.Detail, x.err = StateDone, 0, false, "", nil
				x.changed()
				x.emitState()
			}
			return
		}
		if err := snd.HandleDone(m); err != nil {
			x.rec.Code = filexfer.CodeProtocol
			x.failLocal(x.farewell(), err)
			return
		}
		if snd.State() == filexfer.StateDone {
			x.rec.State, x.snd = StateDone, nil
			x.changed()
			x.emitState()
			x.wake() // the worker ends
		}
	case filexfer.Decline:
		if snd == nil {
			return
		}
		if m.Code == filexfer.CodeBusy && x.rec.State == StateWaiting && x.pe != nil {
			// Not now: the partner has no room for another offer of
			// ours (it may count offers ours no longer does). The
			// transfer waits, and is offered again once the partner
			// answers one of the others, or on the next link.
			if again, err := filexfer.NewSender(x.rec.Offer); err == nil {
				x.snd, x.offeredOn = again, nil
				x.pe.noRoom(x, x.link)
				return
			}
		}
		if err := snd.HandleDecline(m); err != nil {
			x.failRemote(err)
		}
	}
}
