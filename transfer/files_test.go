package transfer

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func TestEngine_APastedPictureArrivesWithItsThumbnail(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir(), func(o *Options) { o.AutoAccept = func(Transfer) bool { return true } })
	connect(t, a, b)
	pic := pngBytes(t, 300, 200)

	// The caller's media type is wrong: the bytes decide what is shown.
	sent, err := a.SendReader(bob, "paste.png", "", bytes.NewReader(pic))
	require.NoError(t, err)
	out := waitState(t, a, bob, sent.ID, StateDone)
	assert.True(t, out.Picture)
	assert.Equal(t, "image/png", out.MediaType)
	in := waitState(t, b, alice, theirs(sent.ID), StateDone)
	assert.True(t, in.Picture)
	assert.Equal(t, "image/png", in.MediaType)

	img, err := b.Thumbnail(alice, in.ID, 64)
	require.NoError(t, err)
	assert.Equal(t, 64, img.Bounds().Dx())
	_, err = a.Thumbnail(bob, sent.ID, 64)
	require.NoError(t, err, "the sender shows its copy")

	dst := filepath.Join(t.TempDir(), "saved.png")
	require.NoError(t, b.SaveAs(alice, in.ID, dst))
	saved, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, pic, saved)

	// Text is no picture.
	txt, err := a.SendReader(bob, "notes.txt", "text/plain", bytes.NewReader([]byte("hello")))
	require.NoError(t, err)
	got := waitState(t, b, alice, theirs(txt.ID), StateDone)
	assert.False(t, got.Picture)
	_, err = b.Thumbnail(alice, got.ID, 64)
	assert.ErrorIs(t, err, filestore.ErrNotImage)
}

func TestEngine_SenderCancelsBeforeTheAccept(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	connect(t, a, b)
	path, _ := randomFile(t, t.TempDir(), "x.bin", 100)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	in := waitState(t, b, alice, theirs(sent.ID), StateWaiting)
	require.NoError(t, a.Cancel(bob, sent.ID))
	got := waitState(t, b, alice, in.ID, StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrCancelled)
	assert.ErrorIs(t, b.Accept(alice, in.ID), ErrFinished)
}

func TestEngine_CancelWhilePreparingStopsTheImport(t *testing.T) {
	a := openEngine(t, t.TempDir())
	r, w := io.Pipe()
	sent, err := a.SendReader(bob, "stream.bin", "", r)
	require.NoError(t, err)
	_, _ = w.Write(make([]byte, 1000))
	require.NoError(t, a.Cancel(bob, sent.ID))
	got := waitState(t, a, bob, sent.ID, StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrCancelled)
	_, err = w.Write([]byte("x"))
	assert.ErrorIs(t, err, io.ErrClosedPipe, "the source was closed")
	_, err = a.Open(bob, sent.ID)
	assert.ErrorIs(t, err, ErrNotReady)
}

func TestEngine_ReceiverThatRestartsWithTheWholeFileVerifiesAtOnce(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(3*filexfer.ChunkSize + 7)
	o := offerOf(data, "whole.bin")
	// Every byte durable, then a crash before the hash was checked.
	st, err := filestore.Open(dir, testKey)
	require.NoError(t, err)
	wr, err := st.Create(filestore.Meta{Name: "whole.bin", MediaType: o.MediaType, Size: int64(len(data)), SHA256: o.SHA256})
	require.NoError(t, err)
	require.NoError(t, wr.WriteAt(0, data))
	_, err = wr.Sync()
	require.NoError(t, err)
	require.NoError(t, wr.Close())
	jr, err := openJournal(dir, testKey)
	require.NoError(t, err)
	require.NoError(t, jr.write(newName(), &record{State: StateTransferring, Stored: true, StoreID: wr.ID(), Offer: o, Contact: alice}))

	b := openEngine(t, dir)
	got := waitState(t, b, alice, incomingID(o.ID), StateDone)
	assert.Equal(t, data, contents(t, b, alice, got.ID))
	// The sender offers again on the next connection: Done.
	l := newFakeLink()
	b.Connected(alice, l)
	b.Handle(alice, l, o)
	expect[filexfer.Done](t, l, o.ID)
}

func TestEngine_AnUndecidedOfferIsNotAskedAgain(t *testing.T) {
	dir := t.TempDir()
	asked := 0
	b := openEngine(t, dir, func(o *Options) { o.AutoAccept = func(Transfer) bool { asked++; return false } })
	l := newFakeLink()
	b.Connected(alice, l)
	o := offerOf([]byte("data"), "a.txt")
	b.Handle(alice, l, o)
	waitState(t, b, alice, incomingID(o.ID), StateWaiting)
	b.Handle(alice, l, o) // the same offer again
	require.NoError(t, b.Close())
	assert.Equal(t, 1, asked)

	b2 := openEngine(t, dir)
	l2 := newFakeLink()
	b2.Connected(alice, l2)
	b2.Handle(alice, l2, o)
	tr := waitState(t, b2, alice, incomingID(o.ID), StateWaiting)
	require.NoError(t, b2.Accept(alice, tr.ID))
	assert.Equal(t, uint64(0), expect[filexfer.Accept](t, l2, o.ID).Offset)
	b2.Handle(alice, l2, filexfer.Chunk{ID: o.ID, Data: []byte("data")})
	expect[filexfer.Done](t, l2, o.ID)

	// An offer that changes under the same id is a protocol violation.
	o2 := offerOf([]byte("other"), "b.txt")
	b2.Handle(alice, l2, o2)
	waitState(t, b2, alice, incomingID(o2.ID), StateWaiting)
	o2.Name = "c.txt"
	b2.Handle(alice, l2, o2)
	assert.Equal(t, filexfer.CodeProtocol, expect[filexfer.Decline](t, l2, o2.ID).Code)
	got := waitState(t, b2, alice, incomingID(o2.ID), StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrOfferChanged)
}

func TestEngine_CloseEndsAnImportThatWaitsForItsSource(t *testing.T) {
	a, err := Open(Options{Dir: t.TempDir(), Key: testKey})
	require.NoError(t, err)
	r, w := io.Pipe()
	_, err = a.SendReader(bob, "never.bin", "", r)
	require.NoError(t, err)
	_, _ = w.Write([]byte("some"))
	require.NoError(t, a.Close())
	_, err = w.Write([]byte("x"))
	assert.ErrorIs(t, err, io.ErrClosedPipe)
}

func TestEngine_AResentChunkIsWrittenOnlyPastWhatTheFileHas(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(5*filexfer.ChunkSize + 100)
	o := offerOf(data, "overlap.bin")
	b := openEngine(t, dir)
	l := newFakeLink()
	b.Connected(alice, l)
	b.Handle(alice, l, o)
	id := incomingID(o.ID)
	waitState(t, b, alice, id, StateWaiting)
	require.NoError(t, b.Accept(alice, id))
	expect[filexfer.Accept](t, l, o.ID)
	// Three chunks (144 KiB): the store seals two of its 64 KiB chunks.
	sendAll(b, l, o.ID, data[:3*filexfer.ChunkSize])
	require.NoError(t, b.Close()) // keeps 128 KiB

	b2 := openEngine(t, dir)
	l2 := newFakeLink()
	b2.Connected(alice, l2)
	b2.Handle(alice, l2, o)
	acc := expect[filexfer.Accept](t, l2, o.ID)
	assert.Equal(t, uint64(2*filexfer.ChunkSize), acc.Offset, "128 KiB durable, reported at a chunk boundary")
	for off := int(acc.Offset); off < len(data); off += filexfer.ChunkSize {
		b2.Handle(alice, l2, filexfer.Chunk{ID: o.ID, Offset: uint64(off), Data: data[off:min(off+filexfer.ChunkSize, len(data))]})
	}
	expect[filexfer.Done](t, l2, o.ID)
	waitState(t, b2, alice, id, StateDone)
	assert.Equal(t, data, contents(t, b2, alice, id))
}
