package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"path/filepath"
	"slices"
	"sync"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/transfer"
)

// fakeFiles is a Files that keeps its transfers in memory and behaves as
// the contract says the engine does: every change of a transfer, by the
// user's calls or by the partner (the test's partner* helpers), is an
// event. Events are handed over one at a time and each is handled before
// the call that caused it returns, like fakeCtrl.emit.
type fakeFiles struct {
	events chan transfer.Event
	once   sync.Once

	mu                      sync.Mutex
	ts                      map[string]transfer.Transfer // by contact/id
	sent                    []string                     // contact and path of SendFile
	readers                 []string                     // contact, name, media type and bytes of SendReader
	accepted, declined      []string                     // contact/id
	cancelled, deleted      []string
	saved                   []string // id and path of SaveAs
	thumbSides              []int    // the maxSide of each Thumbnail call
	sendErr, saveErr        error
	pictureW, pictureH, ids int
	closed                  bool
}

func newFakeFiles() *fakeFiles {
	return &fakeFiles{events: make(chan transfer.Event), ts: map[string]transfer.Transfer{}, pictureW: 800, pictureH: 600}
}

func fkey(contact, id string) string { return contact + "/" + id }

// emit hands t's news to the app and returns once it was handled.
func (f *fakeFiles) emit(t transfer.Transfer) {
	f.events <- transfer.Event{Transfer: t}
	f.events <- transfer.Event{} // taken once t was handled
}

// put stores t without an event (what the engine had before the app
// started).
func (f *fakeFiles) put(t transfer.Transfer) {
	f.mu.Lock()
	f.ts[fkey(t.Contact, t.ID)] = t
	f.mu.Unlock()
}

// change changes a transfer and reports it.
func (f *fakeFiles) change(contact, id string, fn func(t *transfer.Transfer)) transfer.Transfer {
	f.mu.Lock()
	t, ok := f.ts[fkey(contact, id)]
	if !ok {
		f.mu.Unlock()
		panic("fakeFiles: no transfer " + id)
	}
	fn(&t)
	f.ts[fkey(contact, id)] = t
	f.mu.Unlock()
	f.emit(t)
	return t
}

// offer is the partner offering a file: it waits for our user.
func (f *fakeFiles) offer(contact, id, name, mediaType string, size int64) transfer.Transfer {
	t := transfer.Transfer{ID: id, Contact: contact, Name: name, MediaType: mediaType, Size: size,
		Time: clock(), State: transfer.StateWaiting, Connected: true}
	f.put(t)
	f.emit(t)
	return t
}

// progress is bytes arriving (or leaving) at rate.
func (f *fakeFiles) progress(contact, id string, n int64, rate float64) transfer.Transfer {
	return f.change(contact, id, func(t *transfer.Transfer) { t.Bytes, t.Rate = n, rate })
}

// connected is the partner's link going up or down.
func (f *fakeFiles) connected(contact, id string, up bool) transfer.Transfer {
	return f.change(contact, id, func(t *transfer.Transfer) {
		t.Connected = up
		if !up {
			t.Rate = 0
		}
	})
}

// done is the transfer verified; picture says the bytes are a picture.
func (f *fakeFiles) done(contact, id string, picture bool) transfer.Transfer {
	return f.change(contact, id, func(t *transfer.Transfer) {
		t.State, t.Bytes, t.Rate, t.Picture = transfer.StateDone, t.Size, 0, picture
	})
}

// partnerEnds is the partner declining or cancelling with code and reason.
func (f *fakeFiles) partnerEnds(contact, id string, code filexfer.Code, reason string) transfer.Transfer {
	return f.change(contact, id, func(t *transfer.Transfer) {
		t.State, t.Rate, t.Err = transfer.StateFailed, 0, &filexfer.PartnerError{Code: code, Reason: reason}
	})
}

// got returns a copy of a recorded list, under the lock.
func (f *fakeFiles) got(list *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(*list)
}

func (f *fakeFiles) SendFile(contact, path string) (transfer.Transfer, error) {
	f.mu.Lock()
	if f.sendErr != nil {
		defer f.mu.Unlock()
		return transfer.Transfer{}, f.sendErr
	}
	f.ids++
	t := transfer.Transfer{ID: fmt.Sprintf("o-%032x", f.ids), Contact: contact, Outgoing: true, Name: filepath.Base(path),
		MediaType: "application/octet-stream", Size: 4200, Time: clock(), State: transfer.StatePreparing}
	f.ts[fkey(contact, t.ID)] = t
	f.sent = append(f.sent, contact+" "+path)
	f.mu.Unlock()
	return t, nil
}

func (f *fakeFiles) SendReader(contact, name, mediaType string, r io.Reader) (transfer.Transfer, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return transfer.Transfer{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids++
	t := transfer.Transfer{ID: fmt.Sprintf("o-%032x", f.ids), Contact: contact, Outgoing: true, Name: name,
		MediaType: mediaType, Size: int64(len(data)), Time: clock(), State: transfer.StatePreparing}
	f.ts[fkey(contact, t.ID)] = t
	f.readers = append(f.readers, fmt.Sprintf("%s %q %s %x", contact, name, mediaType, data))
	return t, nil
}

// decide moves an unfinished transfer to its next state, or fails.
func (f *fakeFiles) decide(contact, id string, list *[]string, ok func(transfer.Transfer) bool, fn func(*transfer.Transfer)) error {
	f.mu.Lock()
	t, found := f.ts[fkey(contact, id)]
	switch {
	case !found:
		f.mu.Unlock()
		return transfer.ErrUnknown
	case t.State.Over() || !ok(t):
		f.mu.Unlock()
		return transfer.ErrFinished
	}
	*list = append(*list, fkey(contact, id))
	fn(&t)
	f.ts[fkey(contact, id)] = t
	f.mu.Unlock()
	f.emit(t)
	return nil
}

func waitingOffer(t transfer.Transfer) bool { return !t.Outgoing && t.State == transfer.StateWaiting }
func anyUnfinished(transfer.Transfer) bool  { return true }

func (f *fakeFiles) Accept(contact, id string) error {
	return f.decide(contact, id, &f.accepted, waitingOffer, func(t *transfer.Transfer) { t.State = transfer.StateTransferring })
}

func (f *fakeFiles) Decline(contact, id string) error {
	return f.decide(contact, id, &f.declined, anyUnfinished, func(t *transfer.Transfer) {
		t.Err = filexfer.ErrDeclined
		if t.State != transfer.StateWaiting {
			t.Err = filexfer.ErrCancelled
		}
		t.State, t.Rate = transfer.StateFailed, 0
	})
}

func (f *fakeFiles) Cancel(contact, id string) error {
	return f.decide(contact, id, &f.cancelled, anyUnfinished, func(t *transfer.Transfer) {
		t.State, t.Rate, t.Err = transfer.StateFailed, 0, filexfer.ErrCancelled
	})
}

func (f *fakeFiles) List(contact string) []transfer.Transfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []transfer.Transfer
	for _, t := range f.ts {
		if contact == "" || t.Contact == contact {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b transfer.Transfer) int { return a.Time.Compare(b.Time) })
	return out
}

func (f *fakeFiles) Get(contact, id string) (transfer.Transfer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.ts[fkey(contact, id)]
	return t, ok
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

func (f *fakeFiles) Open(contact, id string) (io.ReadSeekCloser, error) {
	t, ok := f.Get(contact, id)
	switch {
	case !ok:
		return nil, transfer.ErrUnknown
	case !t.Outgoing && t.State != transfer.StateDone:
		return nil, transfer.ErrNotReady
	}
	return readSeekNopCloser{bytes.NewReader(make([]byte, t.Size))}, nil
}

func (f *fakeFiles) SaveAs(contact, id, path string) error {
	t, ok := f.Get(contact, id)
	switch {
	case !ok:
		return transfer.ErrUnknown
	case t.State != transfer.StateDone:
		return transfer.ErrNotReady
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saveErr != nil {
		return f.saveErr
	}
	f.saved = append(f.saved, id+" "+path)
	return nil
}

// Thumbnail is a picture of pictureW×pictureH scaled to fit maxSide.
func (f *fakeFiles) Thumbnail(contact, id string, maxSide int) (image.Image, error) {
	t, ok := f.Get(contact, id)
	if !ok {
		return nil, transfer.ErrUnknown
	}
	if !t.Picture {
		return nil, fmt.Errorf("fakeFiles: not a picture")
	}
	f.mu.Lock()
	f.thumbSides = append(f.thumbSides, maxSide)
	w, h := f.pictureW, f.pictureH
	f.mu.Unlock()
	if s := max(w, h); s > maxSide {
		w, h = w*maxSide/s, h*maxSide/s
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 0x80, A: 0xff})
		}
	}
	return img, nil
}

func (f *fakeFiles) DeleteContact(contact string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, t := range f.ts {
		if t.Contact == contact {
			delete(f.ts, k)
		}
	}
	f.deleted = append(f.deleted, contact)
	return nil
}

func (f *fakeFiles) Events() <-chan transfer.Event { return f.events }

func (f *fakeFiles) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.once.Do(func() { close(f.events) })
	return nil
}

// withFiles gives the fixture's app a fake Files (before unlocking), and
// answers its file dialogs: open gives path, save gives savePath.
func (f *fixture) withFiles() *fakeFiles {
	files := newFakeFiles()
	f.ui.backend.Files = func(Vault) (Files, error) { return files, nil }
	f.ui.chooseOpen = func(done func(string)) {
		if f.openPath != "" {
			done(f.openPath)
		}
	}
	f.ui.chooseSave = func(name string, done func(string)) {
		f.saveAsked = append(f.saveAsked, name)
		if f.savePath != "" {
			done(f.savePath)
		}
	}
	return files
}
