package transfer

import (
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// progressEvery is the least time between two progress events of one
// transfer.
const progressEvery = 200 * time.Millisecond

// xfer is one transfer: its record, its machine, and its worker's work.
type xfer struct {
	e       *Engine
	pe      *peer // outgoing: the contact's entry, for the offer slots
	id      string
	contact string
	out     bool

	// jmu serialises the writes of the record; taken before mu.
	jmu sync.Mutex

	mu    sync.Mutex
	name  string // the record's file name; "" while not journaled
	rec   record
	dirty bool // rec changed since it was written
	shown string
	err   error
	snd   *filexfer.Sender   // outgoing, once offered and while unfinished
	rcv   *filexfer.Receiver // incoming, while unfinished
	link  Link               // contact's current link; nil when none
	bytes int64
	rate  rateMeter
	// lastProgress is when the last event went out, shownBytes its
	// Bytes; trailing: a later event is due for a change that came
	// sooner.
	lastProgress time.Time
	shownBytes   int64
	trailing     bool
	gone         bool // DeleteContact: nothing more is written

	// The worker.
	poke chan struct{} // capacity 1
	stop chan struct{} // closed by DeleteContact
	done chan struct{} // closed when the worker returns; nil: no worker

	// Outgoing.
	offeredOn Link // the link that carried the latest Offer
	// offerSeq orders the first Offers since the engine opened (0: not
	// offered yet): on a new link the ones offered before go first, as
	// the receiver may keep them among its waiting offers.
	offerSeq uint64
	prep     *preparation
	src      *filestore.Reader // worker only
	readBuf  []byte            // worker only: a chunk read ahead

	// Incoming.
	queue       []filexfer.Chunk // to write, in order; a nil Data asks for a sync
	syncAsked   bool
	acceptAsked bool
	autoAsk     bool
	verifyAsked bool
	w           *filestore.Writer // worker only
	// resuming: accepted before a restart; the worker has not yet
	// resumed the partial file (rcv is nil). An Offer that comes
	// meanwhile waits in pendingOffer, with the link it came on.
	resuming     bool
	pendingOffer *filexfer.Offer
	pendingLink  Link
	// acceptedOn is the link that carried our latest Accept: a Progress
	// goes only there, never before the Accept on a new link.
	acceptedOn Link
}

// snapshot is the transfer as the front ends see it; x.mu is held.
func (x *xfer) snapshot() Transfer {
	t := Transfer{
		ID:        x.id,
		Contact:   x.contact,
		Outgoing:  x.out,
		Name:      x.shown,
		MediaType: x.rec.Offer.MediaType,
		Size:      int64(x.rec.Offer.Size),
		SHA256:    x.rec.Offer.SHA256,
		Time:      x.rec.Time,
		State:     x.rec.State,
		Bytes:     x.bytes,
		Connected: x.link != nil,
		Err:       x.err,
		Picture:   x.rec.Picture,
	}
	if t.MediaType == "" {
		t.MediaType = octetStream
	}
	switch t.State {
	case StateTransferring:
		t.Rate = x.rate.rate(x.e.now())
	case StateDone:
		t.Bytes = t.Size
	}
	return t
}

// emitState reports a change of state; x.mu is held.
func (x *xfer) emitState() {
	x.lastProgress = x.e.now()
	x.shownBytes = x.bytes
	x.e.emit(x.snapshot())
}

// setBytes records progress and reports it, a few times a second at
// most: a change that comes too soon is reported a little later, so that
// the last figure before a pause is shown too. x.mu is held.
func (x *xfer) setBytes(n int64) {
	if n == x.bytes {
		return
	}
	now := x.e.now()
	x.bytes = n
	x.rate.add(now, n)
	if now.Sub(x.lastProgress) >= progressEvery {
		x.emitState()
		return
	}
	if !x.trailing {
		x.trailing = true
		time.AfterFunc(progressEvery, func() {
			x.mu.Lock()
			defer x.mu.Unlock()
			x.trailing = false
			if x.bytes != x.shownBytes && !x.rec.State.Over() {
				x.emitState()
			}
		})
	}
}

// changed marks the record for the journal goroutine; x.mu is held.
func (x *xfer) changed() {
	x.dirty = true
	if x.name != "" {
		x.e.persistLater(x)
	}
}

// wake pokes the worker.
func (x *xfer) wake() {
	if x.poke == nil {
		return
	}
	select {
	case x.poke <- struct{}{}:
	default:
	}
}

// send sends a control message on the current link, if any; x.mu is held.
func (x *xfer) send(m filexfer.Message) {
	if m != nil && x.link != nil {
		_ = x.link.Send(m) // an error: the link is gone, Disconnected follows
	}
}

// failLocal ends the transfer for err, found on this side; farewell is
// the Decline or Cancel the machine returned, sent now and once more on
// the next connection. x.mu is held.
func (x *xfer) failLocal(farewell filexfer.Message, err error) {
	code := filexfer.CodeProtocol
	switch m := farewell.(type) {
	case filexfer.Decline:
		code = m.Code
	case filexfer.Cancel:
		code = m.Code
	}
	x.send(farewell)
	x.rec.Farewell = farewell != nil
	x.end(code, false, err)
}

// failQuiet ends a transfer that the partner never heard of. x.mu is held.
func (x *xfer) failQuiet(code filexfer.Code, err error) { x.end(code, false, err) }

// failRemote ends the transfer because the partner said so. x.mu is held.
func (x *xfer) failRemote(err error) {
	var pe *filexfer.PartnerError
	code := filexfer.CodeProtocol
	if errors.As(err, &pe) {
		code = pe.Code
		x.rec.Detail = cutText(pe.Reason, maxDetailLen)
	}
	x.rec.Partner = true
	x.end(code, true, err)
}

func (x *xfer) end(code filexfer.Code, partner bool, err error) {
	if x.out {
		x.answered()
	}
	x.rec.State, x.rec.Code, x.err = StateFailed, code, err
	if !partner {
		x.rec.Detail = cutText(err.Error(), maxDetailLen)
	}
	x.snd, x.rcv = nil, nil
	x.changed()
	x.emitState()
	x.wake()
}

// farewell rebuilds our Decline or Cancel of a transfer we ended.
func (x *xfer) farewell() filexfer.Message {
	id := x.rec.Offer.ID
	reason := strings.TrimPrefix(x.rec.Code.Err().Error(), "filexfer: ")
	if x.out {
		code := x.rec.Code
		if code != filexfer.CodeSourceChanged && code != filexfer.CodeProtocol {
			code = filexfer.CodeCancelled
		}
		return filexfer.Cancel{ID: id, Code: code, Reason: reason}
	}
	code := x.rec.Code
	if code == filexfer.CodeSourceChanged {
		code = filexfer.CodeProtocol
	}
	return filexfer.Decline{ID: id, Code: code, Reason: reason}
}

// connected is the news of a new link l.
func (x *xfer) connected(l Link) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.link = l
	switch {
	case x.rec.State.Over():
		if x.rec.Farewell {
			x.send(x.farewell())
			x.rec.Farewell = false
			x.changed()
		}
		return
	case x.out && x.snd != nil && x.offeredOn != l:
		x.offerOn(l)
	}
	x.emitState()
	x.wake()
}

func (x *xfer) disconnected(l Link) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.link != l {
		return
	}
	x.link, x.offeredOn, x.acceptedOn = nil, nil, nil
	x.rate = rateMeter{}
	if !x.rec.State.Over() {
		x.keepAcked()
		x.emitState()
	}
}

// keepAcked journals what the receiver last reported of a file we send,
// for the progress shown after a restart. x.mu is held.
func (x *xfer) keepAcked() {
	if x.out && x.rec.State == StateTransferring && x.rec.Acked != uint64(x.bytes) {
		x.rec.Acked = uint64(x.bytes)
		x.changed()
	}
}

// handle takes a message for this transfer from l.
func (x *xfer) handle(l Link, m filexfer.Message) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.link != l || x.gone {
		return
	}
	if x.out {
		x.handleOut(m)
	} else {
		x.handleIn(m)
	}
}

// startWorker starts the transfer's worker, unless the engine is closed
// or the transfer deleted.
func (x *xfer) startWorker() {
	e := x.e
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.workers.Add(1)
	e.mu.Unlock()
	x.mu.Lock()
	if x.done != nil || x.gone {
		x.mu.Unlock()
		e.workers.Done()
		return
	}
	x.poke = make(chan struct{}, 1)
	x.stop = make(chan struct{})
	x.done = make(chan struct{})
	x.mu.Unlock()
	go func() {
		defer e.workers.Done()
		defer close(x.done)
		if x.out {
			x.runOut()
		} else {
			x.runIn()
		}
	}()
}

// wait waits for a poke; false when the worker must stop (Close or
// DeleteContact).
func (x *xfer) wait() bool {
	select {
	case <-x.poke:
		return true
	case <-x.e.quit:
	case <-x.stop:
	}
	return false
}

// stopping reports whether the worker must stop.
func (x *xfer) stopping() bool {
	select {
	case <-x.e.quit:
		return true
	case <-x.stop:
		return true
	default:
		return false
	}
}

// restore rebuilds a transfer from its record, at Open.
func (e *Engine) restore(name string, r *record) (*xfer, error) {
	x := &xfer{e: e, contact: r.Contact, out: r.Outgoing, name: name, rec: *r}
	if x.out {
		x.id = outgoingID(r.Offer.ID)
		x.shown = r.Offer.Name
	} else {
		x.id = incomingID(r.Offer.ID)
		x.shown, _ = filexfer.SafeName(r.Offer.Name) // check made sure it works
	}
	if r.State == StateFailed {
		if !r.Outgoing && r.Stored {
			// Ended while the engine stopped, before its partial file was
			// deleted.
			if err := e.store.Delete(r.StoreID); err == nil || errors.Is(err, filestore.ErrNotFound) {
				x.rec.Stored, x.rec.StoreID, x.dirty = false, filestore.ID{}, true
			}
		}
		if r.Partner {
			x.err = &filexfer.PartnerError{Code: r.Code, Reason: r.Detail}
		} else {
			x.err = &storedError{code: r.Code, detail: r.Detail}
		}
		return x, nil
	}
	if r.State == StateDone {
		return x, nil
	}
	var err error
	if x.out {
		x.bytes = int64(r.Acked) // until the receiver's Accept says more
		x.snd, err = filexfer.NewSender(r.Offer)
		return x, err
	}
	if r.State == StateWaiting {
		x.rcv, err = filexfer.NewReceiver(r.Offer)
		return x, err
	}
	// Accepted: the worker resumes the partial file, which reads it whole
	// (a few seconds for gigabytes): Open does not wait for that. Until
	// then the progress shown is what the file holds in whole chunks.
	x.resuming = true
	if r.Stored {
		if n, err := e.store.Written(r.StoreID); err == nil {
			x.bytes = int64(alignDown(uint64(n), r.Offer.Size))
		}
	}
	return x, nil
}

// alignDown is the offset a receiver may report for durable bytes: a
// multiple of filexfer.ChunkSize, or the size.
func alignDown(durable, size uint64) uint64 {
	if durable >= size {
		return size
	}
	return durable - durable%filexfer.ChunkSize
}

// storedError is a failure of ours read back from the journal: its words
// and its code's sentinel.
type storedError struct {
	code   filexfer.Code
	detail string
}

func (e *storedError) Error() string {
	if e.detail != "" {
		return e.detail
	}
	return e.code.Err().Error()
}

func (e *storedError) Unwrap() error { return e.code.Err() }

// cutText cuts s to at most n bytes of valid UTF-8.
func cutText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// rateMeter measures a speed over the last seconds.
type rateMeter struct {
	t [8]time.Time
	b [8]int64
	n int // samples held, the newest at (first+n-1)%8
	i int // where the next goes
}

const rateSpan = 4 * time.Second

func (m *rateMeter) add(t time.Time, b int64) {
	m.t[m.i], m.b[m.i] = t, b
	m.i = (m.i + 1) % len(m.t)
	if m.n < len(m.t) {
		m.n++
	}
}

// rate is the speed from the oldest sample of the last rateSpan to now.
func (m *rateMeter) rate(now time.Time) float64 {
	if m.n == 0 {
		return 0
	}
	newest := (m.i + len(m.t) - 1) % len(m.t)
	if now.Sub(m.t[newest]) > rateSpan {
		return 0
	}
	oldest := newest
	for k := 1; k < m.n; k++ {
		j := (newest - k + len(m.t)) % len(m.t)
		if now.Sub(m.t[j]) > rateSpan {
			break
		}
		oldest = j
	}
	dt := now.Sub(m.t[oldest]).Seconds()
	if oldest == newest || dt <= 0 {
		return 0
	}
	return float64(m.b[newest]-m.b[oldest]) / dt
}
