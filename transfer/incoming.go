package transfer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// newIncoming takes the partner's Offer of a transfer we do not know; e.mu
// is held. It returns the new transfer, or the Decline that answers an
// offer whose name is unusable.
func (e *Engine) newIncoming(contact string, l Link, o filexfer.Offer) (*xfer, filexfer.Message) {
	rcv, err := filexfer.NewReceiver(o)
	if err != nil {
		if errors.Is(err, filexfer.ErrUnusableName) {
			return nil, filexfer.DeclineUnusable(o)
		}
		return nil, filexfer.Decline{ID: o.ID, Code: filexfer.CodeProtocol, Reason: "an offer that cannot be"}
	}
	x := &xfer{
		e:       e,
		id:      incomingID(o.ID),
		contact: contact,
		name:    newName(),
		rec:     record{State: StateWaiting, Time: e.now(), Offer: o, Contact: contact},
		shown:   rcv.Name(),
		rcv:     rcv,
		link:    l,
		autoAsk: e.autoAccept != nil,
	}
	x.changed()
	return x, nil
}

// handleIn takes a message for an incoming transfer; x.mu is held.
func (x *xfer) handleIn(m filexfer.Message) {
	if x.resuming {
		switch m := m.(type) {
		case filexfer.Offer:
			x.pendingOffer, x.pendingLink = &m, x.link
		case filexfer.Cancel:
			x.failRemote(&filexfer.PartnerError{Code: m.Code, Reason: m.Reason})
		}
		return // a Chunk cannot come before our Accept: dropped
	}
	switch m := m.(type) {
	case filexfer.Offer:
		if x.rcv == nil {
			switch {
			case x.rec.State == StateDone:
				x.send(filexfer.Done{ID: m.ID})
			case x.rec.State == StateFailed && !x.rec.Partner:
				x.send(x.farewell())
			}
			return
		}
		reply, err := x.rcv.HandleOffer(m)
		if err != nil {
			x.failLocal(reply, err)
			return
		}
		if _, ok := reply.(filexfer.Accept); ok {
			if x.acceptedOn == x.link {
				// Our user's Accept went on this link before the
				// sender's repeat of the Offer came: the two crossed,
				// and that Accept answers it (a second would be a
				// protocol error to the sender).
				return
			}
			x.acceptedOn = x.link
		}
		x.send(reply)
	case filexfer.Chunk:
		if x.rcv == nil {
			return // ended: dropped
		}
		write, reply, err := x.rcv.HandleChunk(m)
		if err != nil {
			x.failLocal(reply, err)
			return
		}
		if write {
			x.queue = append(x.queue, m)
		}
		x.askSync()
		if write {
			x.wake()
		}
	case filexfer.Cancel:
		if x.rcv == nil {
			return
		}
		if err := x.rcv.HandleCancel(m); err != nil {
			x.failRemote(err)
		}
	}
}

// askSync queues a sync when the receiver says so; x.mu is held.
func (x *xfer) askSync() {
	if x.rcv != nil && !x.syncAsked && x.rcv.ShouldSync() {
		x.syncAsked = true
		x.queue = append(x.queue, filexfer.Chunk{}) // no data: a sync
		x.wake()
	}
}

// runIn is the worker of an incoming transfer: it asks AutoAccept,
// creates the file, writes and syncs the chunks, and verifies the file.
func (x *xfer) runIn() {
	defer func() {
		if x.w != nil {
			if x.stopping() {
				x.w.Close() // kept for the next start; DeleteContact deletes it
			} else {
				x.w.Abort()
			}
			x.w = nil
		}
	}()
	for x.stepIn() {
		if !x.wait() {
			break
		}
	}
	if x.stopping() {
		x.drain()
	}
}

// drain writes what is queued when the engine closes: the Writer's Close
// then keeps it, and a restart resumes after it.
func (x *xfer) drain() {
	x.mu.Lock()
	q := x.queue
	x.queue = nil
	failed := x.rec.State.Over() || x.gone || x.resuming
	x.mu.Unlock()
	if failed || x.w == nil {
		return
	}
	for _, c := range q {
		if c.Data != nil {
			x.write(c)
		}
	}
}

// stepIn does what there is to do; false when the worker is finished.
func (x *xfer) stepIn() bool {
	x.mu.Lock()
	if x.resuming {
		x.mu.Unlock()
		x.resume()
		x.mu.Lock()
	}
	if x.autoAsk {
		x.autoAsk = false
		t := x.snapshot()
		x.mu.Unlock()
		yes := x.e.autoAccept(t)
		x.mu.Lock()
		if yes && x.rec.State == StateWaiting {
			x.acceptAsked = true
		}
	}
	if x.acceptAsked {
		x.acceptAsked = false
		x.mu.Unlock()
		x.accept()
		x.mu.Lock()
	}
	for len(x.queue) > 0 && !x.rec.State.Over() {
		c := x.queue[0]
		x.queue[0] = filexfer.Chunk{}
		x.queue = x.queue[1:]
		x.mu.Unlock()
		if c.Data == nil {
			x.sync()
		} else {
			x.write(c)
		}
		x.mu.Lock()
	}
	verify := x.verifyAsked && x.rec.State == StateVerifying
	x.verifyAsked = false
	x.mu.Unlock()
	if verify {
		x.verify()
	}
	x.mu.Lock()
	over := x.rec.State.Over()
	failed := x.rec.State == StateFailed && x.rec.Stored
	if over {
		x.queue = nil
	}
	x.mu.Unlock()
	if failed {
		x.discard()
	}
	return !over && !x.stopping()
}

// accept creates the file, journals our user's yes, and sends the
// Accept.
func (x *xfer) accept() {
	x.mu.Lock()
	if x.rec.State != StateWaiting || x.rcv == nil {
		x.mu.Unlock()
		return
	}
	o := x.rec.Offer
	meta := filestore.Meta{Name: x.shown, MediaType: o.MediaType, Size: int64(o.Size), SHA256: o.SHA256}
	x.mu.Unlock()
	w, err := x.e.store.Create(meta)
	x.mu.Lock()
	if x.rec.State != StateWaiting || x.rcv == nil { // declined meanwhile
		x.mu.Unlock()
		if w != nil {
			w.Abort()
		}
		return
	}
	if err != nil {
		m, ferr := x.rcv.Fail(err)
		x.failLocal(m, ferr)
		x.mu.Unlock()
		return
	}
	x.w = w
	x.rec.Stored, x.rec.StoreID = true, w.ID()
	accept, _ := x.rcv.Accept()
	x.rec.State = StateTransferring
	on := x.link
	x.mu.Unlock()
	err = x.e.persist(x)
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.rcv == nil: // ended meanwhile
	case err != nil:
		m, ferr := x.rcv.Fail(err)
		x.failLocal(m, ferr)
	default:
		// On a newer link the Offer sent again is answered instead.
		if x.link == on {
			x.acceptedOn = on
			x.send(accept)
		}
		x.emitState()
	}
}

// write writes a chunk's bytes that the file does not have yet: after a
// restart the file may hold more than the receiver reported.
func (x *xfer) write(c filexfer.Chunk) {
	off, at := x.w.Offset(), int64(c.Offset)
	end := at + int64(len(c.Data))
	if end <= off {
		return
	}
	if at > off {
		x.storageFail(fmt.Errorf("transfer: bytes at %d with %d written", at, off)) // unreachable: the receiver checks the order
		return
	}
	if err := x.w.WriteAt(off, c.Data[off-at:]); err != nil {
		x.storageFail(err)
	}
}

// sync makes what was written durable and reports it.
func (x *xfer) sync() {
	durable, err := x.w.Sync()
	if err != nil {
		x.storageFail(err)
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.syncAsked = false
	if x.rcv == nil {
		return
	}
	at := alignDown(uint64(durable), x.rec.Offer.Size)
	m, err := x.rcv.Stored(at)
	if err != nil {
		m, err = x.rcv.Fail(err)
		x.failLocal(m, err)
		return
	}
	if x.link == x.acceptedOn {
		x.send(m) // else the Accept that answers the next Offer says it
	}
	x.setBytes(int64(x.rcv.Durable()))
	if x.rcv.State() == filexfer.StateVerifying && x.rec.State != StateVerifying {
		x.rec.State, x.verifyAsked = StateVerifying, true
		x.changed()
		x.emitState()
		return
	}
	x.askSync()
}

// verify checks the whole file against the announced SHA-256: kept and
// Done, or discarded.
func (x *xfer) verify() {
	err := x.w.Finish(x.rec.Offer.SHA256) // the Writer hashed the bytes as they came
	if !errors.Is(err, filestore.ErrIncomplete) {
		x.w = nil
	}
	switch {
	case err == nil || errors.Is(err, filestore.ErrNotDurable):
		pic := x.e.picture(x.rec.StoreID)
		x.mu.Lock()
		if x.rcv == nil { // cancelled meanwhile: the worker deletes it
			x.mu.Unlock()
			return
		}
		done, verr := x.rcv.Verify(x.rec.Offer.SHA256)
		if verr != nil {
			x.mu.Unlock()
			x.storageFail(verr)
			return
		}
		x.rec.State, x.rec.Picture, x.rcv = StateDone, pic, nil
		x.bytes = int64(x.rec.Offer.Size)
		x.mu.Unlock()
		if err := x.e.persist(x); err != nil {
			x.e.problem(err) // the file is kept; the record says so at the next connection
		}
		x.mu.Lock()
		x.send(done)
		x.emitState()
		x.mu.Unlock()
	case errors.Is(err, filestore.ErrHashMismatch):
		x.mu.Lock()
		defer x.mu.Unlock()
		x.rec.Stored, x.rec.StoreID = false, filestore.ID{} // Finish removed it
		if x.rcv == nil {
			x.changed()
			return
		}
		other := x.rec.Offer.SHA256
		other[0] ^= 0xff // the Writer does not give its sum, only that it differs
		m, _ := x.rcv.Verify(other)
		x.failLocal(m, fmt.Errorf("transfer: the file that arrived is not the one offered: its SHA-256 differs (%w)", filexfer.ErrHashMismatch))
	default:
		x.storageFail(err)
	}
}

// storageFail ends the transfer because the file cannot be stored.
func (x *xfer) storageFail(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.rcv == nil {
		return
	}
	m, ferr := x.rcv.Fail(err)
	x.failLocal(m, ferr)
}

// discard deletes what was received of a failed transfer.
func (x *xfer) discard() {
	var err error
	if x.w != nil {
		err = x.w.Abort()
		x.w = nil
	} else {
		err = x.e.store.Delete(x.rec.StoreID)
	}
	if err != nil && !errors.Is(err, filestore.ErrNotFound) && !errors.Is(err, filestore.ErrNotDurable) {
		x.e.problem(fmt.Errorf("transfer %s of %s: %w", x.id, x.contact, err))
		return
	}
	x.mu.Lock()
	x.rec.Stored, x.rec.StoreID = false, filestore.ID{}
	x.changed()
	x.mu.Unlock()
}

// resume reopens the partial file of a transfer accepted before a
// restart, and answers the Offer that came meanwhile.
func (x *xfer) resume() {
	sid, o := x.rec.StoreID, x.rec.Offer
	w, durable, err := x.e.store.Resume(sid)
	var rcv *filexfer.Receiver
	var at uint64
	if err == nil {
		at = alignDown(uint64(durable), o.Size)
		if rcv, err = filexfer.ResumeReceiver(o, at); err != nil {
			w.Close()
		}
	}
	done, pic := false, false
	if errors.Is(err, filestore.ErrNotFound) {
		// Verified and renamed before the record said so?
		_, serr := x.e.store.Stat(sid)
		done = serr == nil
		pic = done && x.e.picture(sid)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.resuming = false
	offer, link := x.pendingOffer, x.pendingLink
	x.pendingOffer, x.pendingLink = nil, nil
	switch {
	case x.rec.State.Over(): // cancelled meanwhile: the worker deletes the file
		if err == nil {
			x.w = w
		}
		return
	case done:
		x.rec.State = StateDone
		x.bytes = int64(o.Size)
		x.rec.Picture = pic
		x.changed()
		if offer != nil && link == x.link {
			x.send(filexfer.Done{ID: o.ID})
		}
		x.emitState()
		return
	case err != nil:
		if !errors.Is(err, filestore.ErrNotFound) {
			_ = x.e.store.Delete(sid)
		}
		x.rec.Stored, x.rec.StoreID = false, filestore.ID{}
		reason := filexfer.CodeStorage.Err().Error()
		x.failLocal(filexfer.Decline{ID: o.ID, Code: filexfer.CodeStorage, Reason: strings.TrimPrefix(reason, "filexfer: ")},
			fmt.Errorf("%w: the partial file cannot be resumed: %w", filexfer.ErrStorage, err))
		return
	}
	x.rcv, x.w, x.bytes = rcv, w, int64(at)
	if at == o.Size {
		x.rec.State, x.verifyAsked = StateVerifying, true
		x.changed()
	}
	if offer != nil && link == x.link {
		x.handleIn(*offer)
	}
	x.emitState()
}
