package transfer

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// Engine carries the file transfers of one profile. Its methods are safe
// for concurrent use.
//
// Each unfinished transfer has a worker goroutine that does its slow
// work: importing a file to send, reading and sending chunks, writing,
// syncing and verifying a received file. The methods the session calls
// (Connected, Disconnected, Handle) only update the transfers' machines
// and queue work; they never touch a file's bytes nor sync anything. The
// journal's records are written by the workers, by the methods of the
// front ends, and by one journal goroutine for the changes that happen in
// Handle.
type Engine struct {
	store      *filestore.Store
	jr         *journal
	now        func() time.Time
	autoAccept func(Transfer) bool

	// connMu serialises Connected and Disconnected, so that the links of
	// the transfers follow the order of the calls.
	connMu sync.Mutex

	mu       sync.Mutex
	peers    map[string]*peer
	closed   bool
	problems []error

	offers  atomic.Uint64 // the last xfer.offerSeq given
	quit    chan struct{} // closed by Close: the workers stop
	workers sync.WaitGroup

	// The journal goroutine writes the records of dirty transfers.
	jMu     sync.Mutex
	jDirty  map[*xfer]bool
	jPoke   chan struct{}
	jQuit   chan struct{}
	jDone   chan struct{}
	evMu    sync.Mutex
	evCond  *sync.Cond
	evQueue []Event
	evQuit  bool
	evDone  chan struct{}
	events  chan Event
}

// peer is what the engine knows of one contact.
type peer struct {
	link  Link // the current link; nil when none is up
	xfers map[string]*xfer

	// The offer slots of our files to this contact (see offerOn):
	// offered holds those offered on slotLink and not yet answered, at
	// most slots (filexfer.MaxWaitingOffers, fewer after a busy
	// Decline); held, oldest first, those waiting for a slot. slotMu is
	// a leaf lock, taken under an xfer's mu.
	slotMu   sync.Mutex
	slotLink Link
	slots    int
	offered  map[*xfer]bool
	held     []*xfer
}

// Open loads the transfers kept in o.Dir; unfinished ones wait for a link.
// A record of the journal that cannot be read does not stop the others:
// it is skipped, and [Engine.Problems] says why.
func Open(o Options) (*Engine, error) {
	store, err := filestore.Open(o.Dir, o.Key)
	if err != nil {
		return nil, err
	}
	jr, err := openJournal(o.Dir, o.Key)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		store:      store,
		jr:         jr,
		now:        o.Now,
		autoAccept: o.AutoAccept,
		peers:      make(map[string]*peer),
		quit:       make(chan struct{}),
		jDirty:     make(map[*xfer]bool),
		jPoke:      make(chan struct{}, 1),
		jQuit:      make(chan struct{}),
		jDone:      make(chan struct{}),
		evDone:     make(chan struct{}),
		events:     make(chan Event, 16),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.evCond = sync.NewCond(&e.evMu)
	recs, err := jr.load()
	if err != nil {
		return nil, err
	}
	var start []*xfer
	for _, l := range recs {
		if l.err != nil {
			e.problems = append(e.problems, l.err)
			continue
		}
		x, err := e.restore(l.name, l.rec)
		if err != nil {
			e.problems = append(e.problems, fmt.Errorf("transfer record %s: %w", l.name, err))
			continue
		}
		p := e.peer(x.contact)
		x.pe = p
		if p.xfers[x.id] != nil {
			e.problems = append(e.problems, fmt.Errorf("transfer record %s: %w: a second record of transfer %s", l.name, errJournal, x.id))
			continue
		}
		p.xfers[x.id] = x
		start = append(start, x)
	}
	if len(e.problems) == 0 {
		// Only when every record was read: a damaged one may be a
		// file's only reference.
		e.removeLeftovers(start)
	}
	go e.journalLoop()
	go e.eventLoop()
	for _, x := range start {
		if !x.rec.State.Over() {
			x.startWorker()
		} else if x.dirty {
			e.persistLater(x)
		}
	}
	return e, nil
}

// removeLeftovers deletes the store's files that no transfer of xs holds:
// what a crash left between making a file and journaling its transfer
// (a sent file copied into the store, a partial file made for an
// Accept). The profile is open in this process alone (its lock), and no
// transfer runs yet. A file that cannot be deleted is a problem.
func (e *Engine) removeLeftovers(xs []*xfer) {
	held := make(map[filestore.ID]bool, len(xs))
	for _, x := range xs {
		if x.rec.Stored {
			held[x.rec.StoreID] = true
		}
	}
	entries, err := e.store.List()
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("transfer: looking for leftover files: %w", err))
		return
	}
	for _, en := range entries {
		if held[en.ID] {
			continue
		}
		if err := e.store.Delete(en.ID); err != nil && !errors.Is(err, filestore.ErrNotFound) {
			e.problems = append(e.problems, fmt.Errorf("transfer: removing a leftover file: %w", err))
		}
	}
}

// peer returns contact's entry, making it; e.mu is held (or e is not yet
// shared).
func (e *Engine) peer(contact string) *peer {
	p := e.peers[contact]
	if p == nil {
		p = &peer{xfers: make(map[string]*xfer)}
		e.peers[contact] = p
	}
	return p
}

// Problems returns what went wrong with the journal: records that could
// not be read when the engine opened (they are skipped and left on disk),
// and records that could not be written since. Each error says which
// record and why.
func (e *Engine) Problems() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.problems)
}

func (e *Engine) problem(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.problems = append(e.problems, err)
}

// Close stops the engine; partial files stay for the next start. The
// channel of Events is closed.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var preparing []*preparation
	var xs []*xfer
	for _, p := range e.peers {
		for _, x := range p.xfers {
			if x.prep != nil {
				preparing = append(preparing, x.prep)
			}
			xs = append(xs, x)
		}
	}
	e.mu.Unlock()
	close(e.quit)
	for _, p := range preparing {
		p.stop() // a source that blocks in Read would keep its worker
	}
	e.workers.Wait()
	for _, x := range xs {
		x.mu.Lock()
		x.keepAcked()
		x.mu.Unlock()
	}
	close(e.jQuit)
	<-e.jDone
	e.evMu.Lock()
	e.evQuit = true
	e.evCond.Broadcast()
	e.evMu.Unlock()
	<-e.evDone
	close(e.events)
	return nil
}

// Events delivers the transfers' news until Close.
func (e *Engine) Events() <-chan Event { return e.events }

// emit queues an event. It never blocks: the queue is drained by one
// goroutine.
func (e *Engine) emit(t Transfer) {
	e.evMu.Lock()
	defer e.evMu.Unlock()
	if e.evQuit {
		return
	}
	e.evQueue = append(e.evQueue, Event{Transfer: t})
	e.evCond.Signal()
}

func (e *Engine) eventLoop() {
	defer close(e.evDone)
	for {
		e.evMu.Lock()
		for len(e.evQueue) == 0 && !e.evQuit {
			e.evCond.Wait()
		}
		if e.evQuit {
			e.evQueue = nil
			e.evMu.Unlock()
			return
		}
		ev := e.evQueue[0]
		e.evQueue[0] = Event{}
		e.evQueue = e.evQueue[1:]
		e.evMu.Unlock()
		select {
		case e.events <- ev:
		case <-e.quit:
			// Close: deliver nothing more; wait for evQuit.
			e.evMu.Lock()
			for !e.evQuit {
				e.evCond.Wait()
			}
			e.evMu.Unlock()
		}
	}
}

// persistLater has the journal goroutine write x's record.
func (e *Engine) persistLater(x *xfer) {
	e.jMu.Lock()
	e.jDirty[x] = true
	e.jMu.Unlock()
	select {
	case e.jPoke <- struct{}{}:
	default:
	}
}

func (e *Engine) journalLoop() {
	defer close(e.jDone)
	for {
		select {
		case <-e.jPoke:
		case <-e.jQuit:
			e.flushJournal()
			return
		}
		e.flushJournal()
	}
}

func (e *Engine) flushJournal() {
	e.jMu.Lock()
	dirty := e.jDirty
	e.jDirty = make(map[*xfer]bool)
	e.jMu.Unlock()
	for x := range dirty {
		if err := e.persist(x); err != nil {
			e.problem(err)
		}
	}
}

// persist writes x's record now.
func (e *Engine) persist(x *xfer) error {
	x.jmu.Lock()
	defer x.jmu.Unlock()
	x.mu.Lock()
	if x.gone || x.name == "" {
		x.mu.Unlock()
		return nil
	}
	rec := x.rec
	x.dirty = false
	x.mu.Unlock()
	if err := e.jr.write(x.name, &rec); err != nil {
		return fmt.Errorf("transfer %s of %s: %w", x.id, x.contact, err)
	}
	return nil
}

// find returns the transfer id of contact.
func (e *Engine) find(contact, id string) (*xfer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[contact]; p != nil {
		if x := p.xfers[id]; x != nil {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%w (%s)", ErrUnknown, id)
}

// Accept is our user's yes to an incoming offer. The file is created and
// the Accept sent by the transfer's worker: a failure shows as the
// transfer's StateFailed.
func (e *Engine) Accept(contact, id string) error {
	x, err := e.find(contact, id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.out:
		return fmt.Errorf("transfer: %s is a file we send: only its receiver accepts it", id)
	case x.rec.State.Over():
		return fmt.Errorf("%w (%s)", ErrFinished, id)
	case x.rec.State != StateWaiting:
		return nil // accepted already
	}
	x.acceptAsked = true
	x.wake()
	return nil
}

// Decline is our user's no to an incoming offer, or its stop once
// accepted; for a file we send it is Cancel.
func (e *Engine) Decline(contact, id string) error { return e.Cancel(contact, id) }

// Cancel ends an unfinished transfer in either direction. A partial file
// received is deleted; a file we send stays in the store, for the thread.
func (e *Engine) Cancel(contact, id string) error {
	x, err := e.find(contact, id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.rec.State.Over() {
		return fmt.Errorf("%w (%s)", ErrFinished, id)
	}
	var m filexfer.Message
	switch {
	case x.out && x.snd == nil: // preparing: never offered
		if x.prep != nil {
			x.prep.stop()
		}
		x.failQuiet(filexfer.CodeCancelled, filexfer.ErrCancelled)
		return nil
	case x.out:
		m, err = x.snd.Cancel()
	case x.rcv == nil: // resuming after a restart
		m, err = filexfer.Decline{ID: x.rec.Offer.ID, Code: filexfer.CodeCancelled, Reason: "the transfer was cancelled"}, filexfer.ErrCancelled
	default:
		m, err = x.rcv.Decline()
	}
	if m == nil {
		return fmt.Errorf("transfer: %w", err) // ErrState: a bug
	}
	x.failLocal(m, err)
	return nil
}

// List returns the transfers of contact ("" for every contact), oldest
// first.
func (e *Engine) List(contact string) []Transfer {
	e.mu.Lock()
	var xs []*xfer
	for c, p := range e.peers {
		if contact != "" && c != contact {
			continue
		}
		for _, x := range p.xfers {
			xs = append(xs, x)
		}
	}
	e.mu.Unlock()
	out := make([]Transfer, 0, len(xs))
	for _, x := range xs {
		x.mu.Lock()
		out = append(out, x.snapshot())
		x.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Transfer) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Contact+" "+a.ID, b.Contact+" "+b.ID)
	})
	return out
}

// Get returns one transfer.
func (e *Engine) Get(contact, id string) (Transfer, bool) {
	x, err := e.find(contact, id)
	if err != nil {
		return Transfer{}, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.snapshot(), true
}

// readable returns the store id of a file that can be read: a received
// one once verified, one we send once it is in the store.
func (e *Engine) readable(contact, id string) (filestore.ID, error) {
	x, err := e.find(contact, id)
	if err != nil {
		return filestore.ID{}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.rec.Stored || !x.out && x.rec.State != StateDone {
		return filestore.ID{}, fmt.Errorf("%w (%s)", ErrNotReady, id)
	}
	return x.rec.StoreID, nil
}

// Open returns the plaintext of a complete file, streamed.
func (e *Engine) Open(contact, id string) (io.ReadSeekCloser, error) {
	sid, err := e.readable(contact, id)
	if err != nil {
		return nil, err
	}
	r, _, err := e.store.Open(sid)
	if err != nil {
		return nil, notReady(err)
	}
	return r, nil
}

// notReady is the error of a stored file that cannot be opened.
func notReady(err error) error {
	if errors.Is(err, filestore.ErrNotFound) || errors.Is(err, filestore.ErrIncomplete) {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return err
}

// SaveAs writes a plaintext copy of a complete file to path, atomically.
func (e *Engine) SaveAs(contact, id, path string) error {
	sid, err := e.readable(contact, id)
	if err != nil {
		return err
	}
	return notReady(e.store.SaveAs(sid, path))
}

// Thumbnail decodes a complete picture with bounded memory, scaled to fit
// maxSide.
func (e *Engine) Thumbnail(contact, id string, maxSide int) (image.Image, error) {
	r, err := e.Open(contact, id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return filestore.Thumbnail(r, maxSide)
}

// DeleteContact removes every transfer and file of contact from disk. Its
// workers are stopped first.
func (e *Engine) DeleteContact(contact string) error {
	e.mu.Lock()
	p := e.peers[contact]
	var xs []*xfer
	if p != nil {
		for _, x := range p.xfers {
			xs = append(xs, x)
		}
		p.xfers = make(map[string]*xfer)
	}
	e.mu.Unlock()
	var errs []error
	for _, x := range xs {
		x.mu.Lock()
		x.gone = true
		if x.stop != nil {
			close(x.stop)
		}
		done := x.done
		x.mu.Unlock()
		if done != nil {
			<-done
		}
		x.jmu.Lock() // no record write is under way, and none will start
		x.mu.Lock()
		stored, sid := x.rec.Stored, x.rec.StoreID
		x.mu.Unlock()
		if stored {
			if err := e.store.Delete(sid); err != nil && !errors.Is(err, filestore.ErrNotFound) && !errors.Is(err, filestore.ErrNotDurable) {
				errs = append(errs, err)
			}
		}
		if x.name != "" {
			if err := e.jr.remove(x.name); err != nil {
				errs = append(errs, err)
			}
		}
		x.jmu.Unlock()
	}
	return errors.Join(errs...)
}

// Connected is the session's news that a link of contact is up: every
// unfinished transfer with contact says what filexfer says to say on a
// new connection (the Offer again; the Accept and the rest come in answer
// to it), and the ones we ended say their Decline or Cancel once more.
// The session calls it before it hands the engine any message from l:
// messages from a link that is not contact's current one are dropped.
func (e *Engine) Connected(contact string, l Link) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	p := e.peer(contact)
	p.link = l
	p.resetSlots(l)
	type ordered struct {
		x   *xfer
		seq uint64
	}
	xs := make([]ordered, 0, len(p.xfers))
	for _, x := range p.xfers {
		xs = append(xs, ordered{x: x})
	}
	e.mu.Unlock()
	for i := range xs {
		xs[i].x.mu.Lock()
		xs[i].seq = xs[i].x.offerSeq
		xs[i].x.mu.Unlock()
	}
	// Offered before first, in that order (the partner may keep them
	// among its waiting offers, see offerOn), then the others by time.
	slices.SortFunc(xs, func(a, b ordered) int {
		switch {
		case a.seq != 0 && b.seq != 0:
			return cmp.Compare(a.seq, b.seq)
		case a.seq != 0:
			return -1
		case b.seq != 0:
			return 1
		}
		return a.x.rec.Time.Compare(b.x.rec.Time)
	})
	for _, o := range xs {
		o.x.connected(l)
	}
}

// Disconnected is the session's news that l is gone: nothing more is sent
// on it, and the transfers wait for the next link.
func (e *Engine) Disconnected(contact string, l Link) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	e.mu.Lock()
	p := e.peers[contact]
	if p == nil || p.link != l {
		e.mu.Unlock()
		return
	}
	p.link = nil
	p.resetSlots(nil)
	xs := make([]*xfer, 0, len(p.xfers))
	for _, x := range p.xfers {
		xs = append(xs, x)
	}
	e.mu.Unlock()
	for _, x := range xs {
		x.disconnected(l)
	}
}

// Handle takes one file message that arrived on l. A message from a link
// that is not contact's current one is dropped. The engine keeps a
// Chunk's data until it is written (filexfer.Parse gives it its own copy).
// Handle does no disk I/O and waits for no worker.
func (e *Engine) Handle(contact string, l Link, m filexfer.Message) {
	e.mu.Lock()
	p := e.peers[contact]
	if e.closed || p == nil || p.link != l || m == nil {
		e.mu.Unlock()
		return
	}
	var x *xfer
	switch m.(type) {
	case filexfer.Offer, filexfer.Chunk, filexfer.Cancel:
		x = p.xfers[incomingID(m.Transfer())]
	default:
		x = p.xfers[outgoingID(m.Transfer())]
	}
	if o, ok := m.(filexfer.Offer); ok && x == nil {
		xs := make([]*xfer, 0, len(p.xfers))
		for _, y := range p.xfers {
			xs = append(xs, y)
		}
		e.mu.Unlock()
		if e.waitingOffers(xs) >= filexfer.MaxWaitingOffers {
			_ = l.Send(filexfer.DeclineBusy(o))
			return
		}
		x, reply := e.newIncoming(contact, l, o)
		e.mu.Lock()
		if e.closed || e.peers[contact] != p || p.link != l {
			e.mu.Unlock()
			return
		}
		if x != nil {
			p.xfers[x.id] = x
		}
		e.mu.Unlock()
		if reply != nil {
			_ = l.Send(reply)
		}
		if x != nil {
			x.mu.Lock()
			x.emitState()
			x.mu.Unlock()
			x.startWorker()
		}
		return
	}
	e.mu.Unlock()
	if x == nil {
		if reply, _ := filexfer.HandleUnknown(m); reply != nil {
			_ = l.Send(reply)
		}
		return
	}
	x.handle(l, m)
}

// waitingOffers counts the transfers among xs (a contact's) that take a
// place among its waiting offers (filexfer.MaxWaitingOffers): incoming
// ones our user has not answered, and ones the partner withdrew before an
// answer that were offered less than filexfer.WithdrawnHold ago.
func (e *Engine) waitingOffers(xs []*xfer) int {
	now := e.now()
	n := 0
	for _, x := range xs {
		x.mu.Lock()
		r := &x.rec
		switch {
		case r.Outgoing:
		case r.State == StateWaiting:
			n++
		case r.State == StateFailed && r.Partner && !r.Stored && now.Sub(r.Time) < filexfer.WithdrawnHold:
			n++
		}
		x.mu.Unlock()
	}
	return n
}

func incomingID(id filexfer.ID) string { return "i-" + id.String() }
func outgoingID(id filexfer.ID) string { return "o-" + id.String() }

// Profile is what [OpenProfile] needs of an unlocked profile
// (*history.Vault): the folder of its files and their key.
type Profile interface {
	FilesDir() string
	FilesKey() ([]byte, error)
}

// OpenProfile opens the engine of p's files, with autoAccept deciding
// incoming offers (nil: they wait for the user). The key is cleared once
// the engine has its copy.
func OpenProfile(p Profile, autoAccept func(Transfer) bool) (*Engine, error) {
	key, err := p.FilesKey()
	if err != nil {
		return nil, fmt.Errorf("transfer: failed to read the files key: %w", err)
	}
	defer clear(key)
	return Open(Options{Dir: p.FilesDir(), Key: key, AutoAccept: autoAccept})
}
