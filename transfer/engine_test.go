package transfer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
)

func TestEngine_FileArrivesByteIdenticalAndBothSidesSayDone(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	connect(t, a, b)
	path, data := randomFile(t, t.TempDir(), "report.pdf", 5*filexfer.ChunkSize+123)

	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	assert.Equal(t, StatePreparing, sent.State)
	assert.True(t, sent.Outgoing)
	assert.Equal(t, "report.pdf", sent.Name)

	in := waitIncoming(t, b, alice)
	assert.Equal(t, StateWaiting, in.State)
	assert.Equal(t, "report.pdf", in.Name)
	assert.Equal(t, int64(len(data)), in.Size)
	assert.Equal(t, sum(data), in.SHA256)
	assert.Equal(t, "application/pdf", in.MediaType)
	assert.Equal(t, "i-"+sent.ID[2:], in.ID)

	require.NoError(t, b.Accept(alice, in.ID))
	done := waitState(t, b, alice, in.ID, StateDone)
	assert.Equal(t, done.Size, done.Bytes)
	assert.NoError(t, done.Err)
	waitState(t, a, bob, sent.ID, StateDone)

	assert.Equal(t, data, contents(t, b, alice, in.ID))
	assert.Equal(t, data, contents(t, a, bob, sent.ID), "the sender keeps its copy")
}

// offerAndAccept sends a file of n bytes from a to b and has b accept it;
// it returns alice's and bob's ids and the data.
func offerAndAccept(t *testing.T, a, b *Engine, n int) (string, string, []byte) {
	t.Helper()
	path, data := randomFile(t, t.TempDir(), "movie.bin", n)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	in := waitState(t, b, alice, theirs(sent.ID), StateWaiting)
	require.NoError(t, b.Accept(alice, in.ID))
	return sent.ID, in.ID, data
}

// dropProgress makes bob's Progress messages vanish: alice's window fills
// and she waits, the transfer stays half-way.
func dropProgress(c *conn) {
	c.ba.setFilter(func(m filexfer.Message) filexfer.Message {
		if _, ok := m.(filexfer.Progress); ok {
			return nil
		}
		return m
	})
}

// halfWay waits until bob holds some bytes durably and alice has filled
// her window.
func halfWay(t *testing.T, c *conn, inID string) Transfer {
	t.Helper()
	tr := waitFor(t, c.b, alice, inID, "some bytes durable", func(tr Transfer) bool {
		return tr.State == StateTransferring && tr.Bytes >= filexfer.Window/2
	})
	require.Less(t, tr.Bytes, tr.Size)
	return tr
}

func TestEngine_DeclineEndsBothSidesAndKeepsNothing(t *testing.T) {
	dirB := t.TempDir()
	a := openEngine(t, t.TempDir())
	b := openEngine(t, dirB)
	connect(t, a, b)
	path, _ := randomFile(t, t.TempDir(), "x.bin", 1000)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	in := waitIncoming(t, b, alice)

	require.NoError(t, b.Decline(alice, in.ID))
	got := waitState(t, b, alice, in.ID, StateFailed)
	assert.ErrorIs(t, got.Err, filexfer.ErrDeclined)
	out := waitState(t, a, bob, sent.ID, StateFailed)
	assert.ErrorIs(t, out.Err, filexfer.ErrDeclined)
	var pe *filexfer.PartnerError
	assert.ErrorAs(t, out.Err, &pe, "alice learns it from bob")
	assert.Empty(t, storeFiles(t, dirB))
	assert.ErrorIs(t, b.Accept(alice, in.ID), ErrFinished)
	assert.ErrorIs(t, b.Cancel(alice, in.ID), ErrFinished)
	_, err = b.Open(alice, in.ID)
	assert.ErrorIs(t, err, ErrNotReady)
}

func TestEngine_CancelMidwayBySenderDeletesThePartialFile(t *testing.T) {
	dirB := t.TempDir()
	a := openEngine(t, t.TempDir())
	b := openEngine(t, dirB)
	c := connect(t, a, b)
	dropProgress(c)
	outID, inID, _ := offerAndAccept(t, a, b, 8<<20)
	halfWay(t, c, inID)
	require.NotEmpty(t, storeFiles(t, dirB), "the partial file")

	require.NoError(t, a.Cancel(bob, outID))
	out := waitState(t, a, bob, outID, StateFailed)
	assert.ErrorIs(t, out.Err, filexfer.ErrCancelled)
	in := waitState(t, b, alice, inID, StateFailed)
	assert.ErrorIs(t, in.Err, filexfer.ErrCancelled)
	waitFor(t, b, alice, inID, "partial file gone", func(Transfer) bool { return len(storeFiles(t, dirB)) == 0 })
}

func TestEngine_CancelMidwayByReceiverDeletesThePartialFile(t *testing.T) {
	dirB := t.TempDir()
	a := openEngine(t, t.TempDir())
	b := openEngine(t, dirB)
	c := connect(t, a, b)
	dropProgress(c)
	outID, inID, _ := offerAndAccept(t, a, b, 8<<20)
	halfWay(t, c, inID)
	c.ba.setFilter(nil)

	require.NoError(t, b.Cancel(alice, inID))
	in := waitState(t, b, alice, inID, StateFailed)
	assert.ErrorIs(t, in.Err, filexfer.ErrCancelled)
	out := waitState(t, a, bob, outID, StateFailed)
	assert.ErrorIs(t, out.Err, filexfer.ErrCancelled)
	waitFor(t, b, alice, inID, "partial file gone", func(Transfer) bool { return len(storeFiles(t, dirB)) == 0 })
	_, err := a.Open(bob, outID)
	assert.NoError(t, err, "the sender's copy stays for the thread")
}

func TestEngine_CutMidwayResumesFromTheDurableOffset(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	c := connect(t, a, b)
	dropProgress(c)
	size := 8 << 20
	outID, inID, data := offerAndAccept(t, a, b, size)
	halfWay(t, c, inID)
	c.cut()
	waitFor(t, a, bob, outID, "disconnected", func(tr Transfer) bool { return !tr.Connected })
	tr, _ := b.Get(alice, inID)
	assert.Equal(t, StateTransferring, tr.State, "it waits")
	assert.False(t, tr.Connected)

	c2 := connect(t, a, b)
	waitState(t, b, alice, inID, StateDone)
	waitState(t, a, bob, outID, StateDone)
	assert.Equal(t, data, contents(t, b, alice, inID))
	resent := c.ab.chunks.Load() + c2.ab.chunks.Load() - int64(size)
	t.Logf("bytes sent again after the cut: %d", resent)
	assert.LessOrEqual(t, resent, int64(filexfer.Window))
}

func TestEngine_ReceiverRestartResumes(t *testing.T) {
	dirB := t.TempDir()
	a := openEngine(t, t.TempDir())
	b := openEngine(t, dirB)
	c := connect(t, a, b)
	dropProgress(c)
	outID, inID, data := offerAndAccept(t, a, b, 8<<20)
	before := halfWay(t, c, inID)
	c.cut()
	require.NoError(t, b.Close())

	b2 := openEngine(t, dirB)
	tr, ok := b2.Get(alice, inID)
	require.True(t, ok, "the journal has it")
	assert.Equal(t, StateTransferring, tr.State)
	assert.Greater(t, tr.Bytes, int64(0), "right after the start, the progress is not back at zero")
	assert.GreaterOrEqual(t, tr.Bytes, before.Bytes-80<<10)
	// The partial file is resumed by the worker. It keeps whole chunks of
	// 64 KiB, reported at a multiple of 48 KiB: at most 80 KiB below
	// what was reported before.
	waitFor(t, b2, alice, inID, "the durable bytes", func(tr Transfer) bool {
		return tr.Bytes >= before.Bytes-80<<10
	})
	c2 := connect(t, a, b2)
	waitState(t, b2, alice, inID, StateDone)
	waitState(t, a, bob, outID, StateDone)
	assert.Equal(t, data, contents(t, b2, alice, inID))
	assert.LessOrEqual(t, c.ab.chunks.Load()+c2.ab.chunks.Load()-int64(len(data)), int64(filexfer.Window))
}

func TestEngine_SenderRestartResumes(t *testing.T) {
	dirA := t.TempDir()
	a := openEngine(t, dirA)
	b := openEngine(t, t.TempDir())
	c := connect(t, a, b)
	dropProgress(c)
	outID, inID, data := offerAndAccept(t, a, b, 8<<20)
	halfWay(t, c, inID)
	c.cut()
	require.NoError(t, a.Close())

	a2 := openEngine(t, dirA)
	tr, ok := a2.Get(bob, outID)
	require.True(t, ok, "the journal has it")
	assert.Equal(t, StateTransferring, tr.State)
	connect(t, a2, b)
	waitState(t, b, alice, inID, StateDone)
	waitState(t, a2, bob, outID, StateDone)
	assert.Equal(t, data, contents(t, b, alice, inID))
}

func TestEngine_AutoAccept(t *testing.T) {
	var asked []Transfer
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir(), func(o *Options) {
		o.AutoAccept = func(tr Transfer) bool { asked = append(asked, tr); return true }
	})
	connect(t, a, b)
	path, data := randomFile(t, t.TempDir(), "photo.jpg", 70000)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	in := waitIncoming(t, b, alice)
	waitState(t, b, alice, in.ID, StateDone)
	waitState(t, a, bob, sent.ID, StateDone)
	assert.Equal(t, data, contents(t, b, alice, in.ID))
	require.Len(t, asked, 1)
	assert.Equal(t, "photo.jpg", asked[0].Name)
}

// theirs is the id the receiver gives the transfer the sender calls id.
func theirs(id string) string { return "i-" + id[2:] }

// After a restart the sender shows what the receiver had last reported,
// not 0, until the receiver's Accept on the next link says where it is.
func TestEngine_ASenderRestartedShowsWhatTheReceiverLastReported(t *testing.T) {
	dirA := t.TempDir()
	a := openEngine(t, dirA)
	b := openEngine(t, t.TempDir())
	c := connect(t, a, b)
	c.ba.setFilter(func(m filexfer.Message) filexfer.Message {
		if p, ok := m.(filexfer.Progress); ok && p.Durable > 1<<20 {
			return nil // the reports stop past 1 MiB: the sender waits there
		}
		return m
	})
	outID, inID, data := offerAndAccept(t, a, b, 8<<20)
	waitFor(t, a, bob, outID, "a report past 1 MiB's half", func(tr Transfer) bool { return tr.Bytes > 1<<19 })
	time.Sleep(100 * time.Millisecond) // the last reports that pass
	shown, _ := a.Get(bob, outID)
	c.cut()
	require.NoError(t, a.Close())

	a2 := openEngine(t, dirA)
	tr, ok := a2.Get(bob, outID)
	require.True(t, ok)
	assert.Equal(t, StateTransferring, tr.State)
	assert.Equal(t, shown.Bytes, tr.Bytes, "the last report, kept")
	assert.Positive(t, tr.Bytes)
	connect(t, a2, b)
	waitState(t, a2, bob, outID, StateDone)
	assert.Equal(t, data, contents(t, b, alice, inID))
}
