package filexfer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// pair is a sender and a receiver joined by two queues of messages in
// flight, with the receiver's "disk". Every message crosses as bytes
// (Marshal, then Parse), as it would inside a record. The receiver's user
// accepts at once unless manualAccept; the receiver syncs when
// ShouldSync says so unless slowSync.
type pair struct {
	t    *testing.T
	file []byte // what the sender reads
	s    *Sender
	r    *Receiver

	toR, toS [][]byte

	disk    []byte // the receiver's copy: written bytes, durable or not
	synced  uint64 // [0, synced) survives a receiver crash
	written uint64 // chunk bytes written to disk

	manualAccept, slowSync bool
	chunkBytesSent         int    // data in every Chunk the sender produced
	maxInFlight            uint64 // the most the sender ever had unacknowledged
	resendsDropped         int
	sErr, rErr             error // the first error each side returned
}

func newPair(t *testing.T, file []byte, o Offer) *pair {
	t.Helper()
	s, err := NewSender(o)
	require.NoError(t, err)
	return &pair{t: t, file: file, s: s, disk: make([]byte, o.Size)}
}

func offerFor(file []byte) Offer {
	return Offer{ID: vecID, Size: uint64(len(file)), SHA256: sha256.Sum256(file), MediaType: "application/octet-stream", Name: "file.bin"}
}

func (p *pair) send(to *[][]byte, m Message) {
	if m == nil {
		return
	}
	b, err := m.Marshal()
	require.NoError(p.t, err)
	*to = append(*to, b)
}

func (p *pair) noteS(m Message, err error) {
	p.send(&p.toR, m)
	if err != nil && p.sErr == nil {
		p.sErr = err
	}
}

func (p *pair) noteR(m Message, err error) {
	p.send(&p.toS, m)
	if err != nil && p.rErr == nil {
		p.rErr = err
	}
}

// connect: a new connection is up; each side says what it has to say.
func (p *pair) connect() {
	p.send(&p.toR, p.s.Connected())
	if p.r != nil {
		p.send(&p.toS, p.r.Connected())
	}
}

// restartReceiver: the receiver crashes, losing what it had not synced,
// and comes back from what it stored; with the whole file durable it
// checks the hash at once.
func (p *pair) restartReceiver() {
	clear(p.disk[p.synced:])
	r, err := ResumeReceiver(p.r.Offer(), p.r.Durable())
	require.NoError(p.t, err)
	p.r = r
	if r.State() == StateVerifying {
		p.noteR(r.Verify(sha256.Sum256(p.disk)))
	}
}

// disconnect loses everything in flight.
func (p *pair) disconnect() { p.toR, p.toS = nil, nil }

// pumpSender hands out chunks until the window or the file is exhausted.
func (p *pair) pumpSender() {
	for {
		m, err := p.s.Next(bytes.NewReader(p.file))
		p.noteS(m, err)
		if c, ok := m.(Chunk); ok {
			p.chunkBytesSent += len(c.Data)
		}
		p.maxInFlight = max(p.maxInFlight, p.s.InFlight())
		require.LessOrEqual(p.t, p.s.InFlight(), uint64(Window))
		if m == nil || err != nil {
			return
		}
	}
}

// sync makes everything written durable and reports it.
func (p *pair) sync() {
	p.synced = p.r.Received()
	p.noteR(p.r.Stored(p.synced))
	if p.r.State() == StateVerifying {
		p.noteR(p.r.Verify(sha256.Sum256(p.disk)))
	}
}

func (p *pair) deliverToR(b []byte) {
	m, err := Parse(b)
	require.NoError(p.t, err)
	switch m := m.(type) {
	case Offer:
		if p.r == nil {
			p.r, err = NewReceiver(m)
			require.NoError(p.t, err)
			if !p.manualAccept {
				p.noteR(p.r.Accept())
			}
			return
		}
		p.noteR(p.r.HandleOffer(m))
	case Chunk:
		write, reply, err := p.r.HandleChunk(m)
		p.noteR(reply, err)
		switch {
		case write:
			copy(p.disk[m.Offset:], m.Data)
			p.written += uint64(len(m.Data))
		case err == nil && p.r.State() == StateTransferring:
			p.resendsDropped++
		}
		if p.r.ShouldSync() && !p.slowSync {
			p.sync()
		}
	case Cancel:
		p.noteR(nil, p.r.HandleCancel(m))
	default:
		p.t.Fatalf("the receiver got a %T", m)
	}
}

func (p *pair) deliverToS(b []byte) {
	m, err := Parse(b)
	require.NoError(p.t, err)
	switch m := m.(type) {
	case Accept:
		p.noteS(p.s.HandleAccept(m))
	case Progress:
		p.noteS(p.s.HandleProgress(m))
	case Done:
		p.noteS(nil, p.s.HandleDone(m))
	case Decline:
		p.noteS(nil, p.s.HandleDecline(m))
	default:
		p.t.Fatalf("the sender got a %T", m)
	}
	p.pumpSender()
}

// step delivers the first message in flight, receiver-bound first; it
// reports whether there was one.
func (p *pair) step() bool {
	switch {
	case len(p.toR) > 0:
		b := p.toR[0]
		p.toR = p.toR[1:]
		p.deliverToR(b)
	case len(p.toS) > 0:
		b := p.toS[0]
		p.toS = p.toS[1:]
		p.deliverToS(b)
	default:
		return false
	}
	return true
}

func (p *pair) run() {
	for i := 0; p.step(); i++ {
		require.Less(p.t, i, 1_000_000, "the transfer does not end")
	}
}

// requireDelivered: both sides say done and the copy is the file.
func (p *pair) requireDelivered() {
	p.t.Helper()
	require.NoError(p.t, p.sErr)
	require.NoError(p.t, p.rErr)
	require.Equal(p.t, StateDone, p.s.State())
	require.Equal(p.t, StateDone, p.r.State())
	require.True(p.t, bytes.Equal(p.file, p.disk), "the copy differs from the file")
	require.Equal(p.t, uint64(len(p.file)), p.s.Durable())
}

func TestTransfer_CompletesAndVerifiesAtEverySizeAroundChunkAndWindow(t *testing.T) {
	for _, size := range []int{1, 2, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2*ChunkSize + 1,
		Window - 1, Window, Window + 1, 100_000, 3*Window + 12345} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			file := pattern(size)
			p := newPair(t, file, offerFor(file))
			p.connect()
			p.run()
			p.requireDelivered()
			require.Equal(t, size, p.chunkBytesSent, "every byte is sent exactly once")
			require.Equal(t, uint64(size), p.written)
			require.Equal(t, StateDone, p.r.State())
			require.Equal(t, "file.bin", p.r.Name())
		})
	}
}

// TestTransfer_SlowReceiverBoundsTheSenderToTheWindow: a receiver that
// does not sync makes the sender stop at Window bytes, not read ahead.
func TestTransfer_SlowReceiverBoundsTheSenderToTheWindow(t *testing.T) {
	file := pattern(5*Window + 7)
	p := newPair(t, file, offerFor(file))
	p.slowSync = true
	p.connect()
	p.run()
	require.Equal(t, StateTransferring, p.s.State())
	require.Equal(t, uint64(Window), p.s.InFlight())
	require.Equal(t, Window, p.chunkBytesSent)
	m, err := p.s.Next(bytes.NewReader(file))
	require.NoError(t, err)
	require.Nil(t, m, "a full window sends nothing more")

	for p.r.State() == StateTransferring {
		p.sync()
		p.run()
		require.LessOrEqual(t, p.maxInFlight, uint64(Window))
	}
	p.run()
	p.requireDelivered()
	require.Equal(t, uint64(Window), p.maxInFlight)
}

// TestTransfer_ResumesAfterADisconnectFromTheDurableOffset: bytes the
// receiver had synced are not sent again; bytes it had written but not
// synced are sent again and dropped.
func TestTransfer_ResumesAfterADisconnectFromTheDurableOffset(t *testing.T) {
	file := pattern(4*Window + 1000)
	p := newPair(t, file, offerFor(file))
	p.slowSync = true
	p.connect()
	p.run()  // a window written, nothing synced
	p.sync() // a window durable
	p.run()  // a second window written, not synced
	p.disconnect()
	durable, received := p.r.Durable(), p.r.Received()
	require.Equal(t, uint64(Window), durable)
	require.Equal(t, uint64(2*Window), received)

	p.slowSync = false
	sentBefore := p.chunkBytesSent
	p.connect()
	p.run()
	p.requireDelivered()
	require.Equal(t, len(file)-int(durable), p.chunkBytesSent-sentBefore, "only what was not durable is sent again")
	require.Equal(t, int(received-durable)/ChunkSize, p.resendsDropped)
	require.Equal(t, uint64(len(file)), p.written, "resent bytes are not written twice")
}

func TestTransfer_ResumesAfterTheReceiverRestarts(t *testing.T) {
	file := pattern(3*Window + 5)
	p := newPair(t, file, offerFor(file))
	p.slowSync = true
	p.connect()
	p.run()
	p.sync()
	p.run() // unsynced bytes in the page cache…
	p.disconnect()

	// …are lost in the crash; the receiver comes back from what it stored.
	p.restartReceiver()
	require.Equal(t, StateTransferring, p.r.State())
	p.slowSync = false
	sentBefore := p.chunkBytesSent
	p.connect()
	p.run()
	p.requireDelivered()
	require.Equal(t, len(file)-Window, p.chunkBytesSent-sentBefore)
	require.Zero(t, p.resendsDropped)
}

func TestTransfer_ResumesAfterTheSenderRestarts(t *testing.T) {
	file := pattern(3*Window + 5)
	p := newPair(t, file, offerFor(file))
	p.slowSync = true
	p.connect()
	p.run()
	p.sync()
	p.disconnect()

	s, err := NewSender(p.s.Offer()) // from the stored offer
	require.NoError(t, err)
	p.s = s
	p.slowSync = false
	sentBefore := p.chunkBytesSent
	p.connect()
	p.run()
	p.requireDelivered()
	require.Equal(t, len(file)-Window, p.chunkBytesSent-sentBefore)
}

// TestTransfer_ACutAfterTheLastByteStillEndsInDone: the Done (or the last
// Progress) is lost; the next connection's Offer is answered with Done.
func TestTransfer_ACutAfterTheLastByteStillEndsInDone(t *testing.T) {
	for _, lose := range []string{"done", "last progress and done"} {
		t.Run(lose, func(t *testing.T) {
			file := pattern(ChunkSize + 10)
			p := newPair(t, file, offerFor(file))
			p.connect()
			for p.r == nil || p.r.State() != StateDone {
				require.True(t, p.step())
			}
			if lose == "done" {
				for len(p.toS) > 1 {
					p.step()
				}
			}
			p.disconnect()
			require.NotEqual(t, StateDone, p.s.State())
			p.connect()
			p.run()
			p.requireDelivered()
		})
	}
}

// TestTransfer_RandomCutsAndRestartsStillDeliverTheFile: cuts, crashes of
// either side and lost messages at random points; the file always arrives
// whole and each side's memory stays within the window.
func TestTransfer_RandomCutsAndRestartsStillDeliverTheFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 30 {
		file := pattern(1 + rng.IntN(4*Window))
		p := newPair(t, file, offerFor(file))
		p.connect()
		for i := 0; p.s.State() != StateDone; i++ {
			require.Less(t, i, 100_000, "round %d does not end", round)
			if p.step() && rng.IntN(40) != 0 {
				continue
			}
			p.disconnect()
			switch rng.IntN(3) {
			case 0: // the receiver crashes
				if p.r != nil && p.r.State() != StateOffered {
					p.restartReceiver()
				}
			case 1: // the sender crashes
				s, err := NewSender(p.s.Offer())
				require.NoError(t, err)
				p.s = s
			}
			p.connect()
		}
		p.run()
		p.requireDelivered()
		require.LessOrEqual(t, p.maxInFlight, uint64(Window))
	}
}

// TestTransfer_TheSenderHasLessThanItAnnounced: a size that lies (the file
// got shorter) ends the transfer with ErrSourceChanged on both sides.
func TestTransfer_TheSenderHasLessThanItAnnounced(t *testing.T) {
	file := pattern(2*ChunkSize + 100)
	o := offerFor(file)
	o.Size += ChunkSize // the offer claims a chunk more than the file has
	p := newPair(t, file, o)
	p.disk = make([]byte, o.Size)
	p.connect()
	p.run()
	require.ErrorIs(t, p.sErr, ErrSourceChanged)
	require.ErrorContains(t, p.sErr, "the file ends at byte 98404, 147556 were announced")
	require.Equal(t, StateFailed, p.s.State())

	require.ErrorIs(t, p.r.Err(), ErrSourceChanged)
	var pe *PartnerError
	require.ErrorAs(t, p.r.Err(), &pe)
	require.Equal(t, CodeSourceChanged, pe.Code)
	require.Equal(t, StateFailed, p.r.State())
}

func TestTransfer_AReadErrorEndsTheTransferWithoutItsText(t *testing.T) {
	o := offerFor(pattern(10))
	s, err := NewSender(o)
	require.NoError(t, err)
	s.Connected()
	_, err = s.HandleAccept(Accept{ID: o.ID})
	require.NoError(t, err)
	m, err := s.Next(failingReader{errors.New("read /home/alice/secret.pdf: input/output error")})
	require.ErrorIs(t, err, ErrSourceChanged)
	require.ErrorContains(t, err, "/home/alice")
	c := m.(Cancel)
	require.Equal(t, CodeSourceChanged, c.Code)
	require.NotContains(t, c.Reason, "alice", "the partner learns nothing of our paths")
}

type failingReader struct{ err error }

func (f failingReader) ReadAt([]byte, int64) (int, error) { return 0, f.err }

// TestTransfer_AWrongHashIsDiscarded: every byte arrives, the announced
// SHA-256 is not theirs.
func TestTransfer_AWrongHashIsDiscarded(t *testing.T) {
	file := pattern(ChunkSize + 1)
	o := offerFor(file)
	o.SHA256[0] ^= 1
	p := newPair(t, file, o)
	p.connect()
	p.run()
	require.ErrorIs(t, p.rErr, ErrHashMismatch)
	require.ErrorContains(t, p.rErr, "hash mismatch: the file was discarded")
	require.Equal(t, StateFailed, p.r.State())
	require.ErrorIs(t, p.s.Err(), ErrHashMismatch, "the sender learns why")
	require.Equal(t, StateFailed, p.s.State())
}

func TestTransfer_TheUserDeclines(t *testing.T) {
	file := pattern(10)
	p := newPair(t, file, offerFor(file))
	p.manualAccept = true
	p.connect()
	p.run()
	require.Equal(t, StateOffered, p.r.State())
	require.Equal(t, StateOffered, p.s.State())
	p.noteR(p.r.Decline())
	require.ErrorIs(t, p.rErr, ErrDeclined)
	p.run()
	require.ErrorIs(t, p.s.Err(), ErrDeclined)
	require.Zero(t, p.chunkBytesSent)

	// The Decline was lost? It goes out again on the next connection.
	p.connect()
	require.Len(t, p.toS, 1)
	p.run()
	require.ErrorIs(t, p.s.Err(), ErrDeclined)
}

// TestTransfer_TheOfferWaitsForTheUserAcrossConnections: the sender
// re-offers; the receiver does not ask again and sends nothing until its
// user answers.
func TestTransfer_TheOfferWaitsForTheUserAcrossConnections(t *testing.T) {
	file := pattern(1000)
	p := newPair(t, file, offerFor(file))
	p.manualAccept = true
	p.connect()
	p.run()
	p.disconnect()
	p.connect()
	p.run()
	require.Equal(t, StateOffered, p.r.State())
	p.noteR(p.r.Accept())
	p.run()
	p.requireDelivered()
}

func TestTransfer_TheSenderCancels(t *testing.T) {
	file := pattern(3 * Window)
	p := newPair(t, file, offerFor(file))
	p.connect()
	for p.written < Window {
		p.step()
	}
	p.noteS(p.s.Cancel())
	require.ErrorIs(t, p.sErr, ErrCancelled)
	p.run()
	require.ErrorIs(t, p.r.Err(), ErrCancelled)
	var pe *PartnerError
	require.ErrorAs(t, p.r.Err(), &pe)
	require.Equal(t, StateFailed, p.r.State())
	require.Empty(t, p.toS, "a Cancel is not answered")
	_, err := p.s.Cancel()
	require.ErrorIs(t, err, ErrState)
}

// TestTransfer_TheReceiverStopsWhileChunksAreInFlight: the chunks that
// were already on their way are dropped quietly, not written, not
// answered.
func TestTransfer_TheReceiverStopsWhileChunksAreInFlight(t *testing.T) {
	file := pattern(3 * Window)
	p := newPair(t, file, offerFor(file))
	p.connect()
	for p.written < Window || len(p.toR) == 0 {
		require.True(t, p.step())
	}
	written := p.written
	p.noteR(p.r.Decline())
	require.ErrorIs(t, p.rErr, ErrCancelled)
	toS := len(p.toS)
	for len(p.toR) > 0 {
		p.step()
	}
	require.Equal(t, written, p.written)
	require.Len(t, p.toS, toS, "nothing but the Decline")
	p.run()
	require.ErrorIs(t, p.s.Err(), ErrCancelled)
	require.Equal(t, StateFailed, p.s.State())
}

// TestTransfer_DoneCrossingACancelWins: the receiver verified the file
// before the sender's Cancel reached it; both end with the file.
func TestTransfer_DoneCrossingACancelWins(t *testing.T) {
	file := pattern(100)
	p := newPair(t, file, offerFor(file))
	p.connect()
	for p.r == nil || p.r.State() != StateDone {
		p.step()
	}
	p.noteS(p.s.Cancel()) // crosses the Done
	p.sErr = nil
	p.run()
	p.requireDelivered()
}

func TestTransfer_StorageFailureIsDeclinedWithoutItsText(t *testing.T) {
	o := offerFor(pattern(10))
	r, err := NewReceiver(o)
	require.NoError(t, err)
	_, err = r.Accept()
	require.NoError(t, err)
	m, err := r.Fail(errors.New("write /home/bob/Downloads/.part: no space left on device"))
	require.ErrorIs(t, err, ErrStorage)
	d := m.(Decline)
	require.Equal(t, CodeStorage, d.Code)
	require.NotContains(t, d.Reason, "bob")
	require.Equal(t, "the receiver could not store the file", d.Reason)
}

// receiving is a receiver of a 100,000-byte file whose user accepted.
func receiving(t *testing.T) *Receiver {
	r, err := NewReceiver(offerFor(vecFile))
	require.NoError(t, err)
	_, err = r.Accept()
	require.NoError(t, err)
	return r
}

// TestReceiver_RefusesChunksThatDoNotContinueTheFile: each bad chunk ends
// the transfer with its own error and a Decline with code 7.
func TestReceiver_RefusesChunksThatDoNotContinueTheFile(t *testing.T) {
	full := func(off int) Chunk { return Chunk{ID: vecID, Offset: uint64(off), Data: vecFile[off : off+ChunkSize]} }
	cases := []struct {
		name   string
		before []Chunk
		chunk  Chunk
		want   error
		says   string
	}{
		{"a chunk before accept", nil, full(0), ErrNotAccepted, "a chunk for a transfer that was never accepted"},
		{"a chunk past the size", []Chunk{full(0), full(ChunkSize)}, Chunk{ID: vecID, Offset: 2 * ChunkSize, Data: make([]byte, ChunkSize)}, ErrPastEnd, "bytes 98304 to 147456 of a 100000-byte file"},
		{"a chunk past the size by one byte", []Chunk{full(0), full(ChunkSize)}, Chunk{ID: vecID, Offset: 2 * ChunkSize, Data: make([]byte, 100_000-2*ChunkSize+1)}, ErrPastEnd, "a chunk past the announced size"},
		{"a chunk wholly past the size", nil, Chunk{ID: vecID, Offset: 3 * ChunkSize, Data: []byte{1}}, ErrPastEnd, "bytes 147456 to 147457"},
		{"a gap", []Chunk{full(0)}, Chunk{ID: vecID, Offset: 2 * ChunkSize, Data: vecFile[2*ChunkSize:]}, ErrOutOfOrder, "bytes at 98304, expected 49152"},
		{"a short chunk that is not the last", nil, Chunk{ID: vecID, Offset: 0, Data: vecFile[:100]}, ErrChunkLength, "100 bytes at 0, not 49152"},
		{"a short last chunk", []Chunk{full(0), full(ChunkSize)}, Chunk{ID: vecID, Offset: 2 * ChunkSize, Data: vecFile[2*ChunkSize : 2*ChunkSize+5]}, ErrChunkLength, "5 bytes at 98304, not 1696"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReceiver(offerFor(vecFile))
			require.NoError(t, err)
			if c.want != ErrNotAccepted {
				_, err = r.Accept()
				require.NoError(t, err)
			}
			for _, b := range c.before {
				write, _, err := r.HandleChunk(b)
				require.NoError(t, err)
				require.True(t, write)
			}
			write, reply, err := r.HandleChunk(c.chunk)
			require.False(t, write)
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, err, ErrProtocol)
			require.ErrorContains(t, err, c.says)
			require.Equal(t, StateFailed, r.State())
			require.Equal(t, err, r.Err())
			d := reply.(Decline)
			require.Equal(t, CodeProtocol, d.Code)
			mustMarshal(t, d)

			// Nothing more is written for this transfer, and nothing is answered.
			write, reply, err = r.HandleChunk(full(0))
			require.False(t, write)
			require.Nil(t, reply)
			require.NoError(t, err)
		})
	}
}

func TestReceiver_RefusesAChunkBeyondTheWindow(t *testing.T) {
	file := pattern(3 * Window)
	r, err := NewReceiver(offerFor(file))
	require.NoError(t, err)
	_, err = r.Accept()
	require.NoError(t, err)
	for off := 0; off < Window; off += ChunkSize {
		write, _, err := r.HandleChunk(Chunk{ID: vecID, Offset: uint64(off), Data: file[off : off+ChunkSize]})
		require.NoError(t, err)
		require.True(t, write)
	}
	_, reply, err := r.HandleChunk(Chunk{ID: vecID, Offset: Window, Data: file[Window : Window+ChunkSize]})
	require.ErrorIs(t, err, ErrWindow)
	require.Equal(t, CodeProtocol, reply.(Decline).Code)
}

func TestReceiver_AResentChunkIsDroppedNotWritten(t *testing.T) {
	r := receiving(t)
	first := Chunk{ID: vecID, Offset: 0, Data: vecFile[:ChunkSize]}
	write, _, err := r.HandleChunk(first)
	require.NoError(t, err)
	require.True(t, write)
	write, reply, err := r.HandleChunk(first)
	require.NoError(t, err)
	require.Nil(t, reply)
	require.False(t, write)
	require.Equal(t, StateTransferring, r.State())
	require.Equal(t, uint64(ChunkSize), r.Received())
}

func TestReceiver_AChangedOfferEndsTheTransfer(t *testing.T) {
	r := receiving(t)
	o := r.Offer()
	o.Name = "other.bin"
	reply, err := r.HandleOffer(o)
	require.ErrorIs(t, err, ErrOfferChanged)
	require.Equal(t, CodeProtocol, reply.(Decline).Code)
}

func TestReceiver_AnUnusableNameIsDeclined(t *testing.T) {
	o := offerFor(vecFile)
	o.Name = "..\u202e"
	_, err := NewReceiver(o)
	require.ErrorIs(t, err, ErrUnusableName)
	d := DeclineUnusable(o)
	require.Equal(t, CodeUnusableName, d.Code)
	b := mustMarshal(t, d)
	back, err := ParseDecline(b)
	require.NoError(t, err)
	require.Equal(t, d, back)

	o.Name = "../../con.txt"
	r, err := NewReceiver(o)
	require.NoError(t, err)
	require.Equal(t, "_._con.txt", r.Name(), "the UI shows the cleaned name")
}

func TestReceiver_StoredAndVerifyCheckTheCaller(t *testing.T) {
	r := receiving(t)
	_, err := r.Stored(ChunkSize)
	require.ErrorIs(t, err, ErrState, "nothing was received")
	_, err = r.Verify(vecSum)
	require.ErrorIs(t, err, ErrState)
	_, err = r.Accept()
	require.ErrorIs(t, err, ErrState)
	_, _, err = r.HandleChunk(Chunk{ID: ID{1}, Data: []byte{1}})
	require.ErrorIs(t, err, ErrState, "a chunk of another transfer")
	require.Equal(t, StateTransferring, r.State(), "a misuse changes nothing")

	_, err = ResumeReceiver(offerFor(vecFile), 5)
	require.ErrorIs(t, err, ErrState)
}

func TestSender_RefusesAcceptsAndProgressThatCannotBe(t *testing.T) {
	file := pattern(3 * ChunkSize)
	accepted := func() *Sender {
		s, err := NewSender(offerFor(file))
		require.NoError(t, err)
		s.Connected()
		_, err = s.HandleAccept(Accept{ID: vecID})
		require.NoError(t, err)
		for m, _ := s.Next(bytes.NewReader(file)); m != nil; m, _ = s.Next(bytes.NewReader(file)) {
		}
		return s
	}
	cases := []struct {
		name string
		do   func(*Sender) (Message, error)
		want error
	}{
		{"accept at an offset that is not a chunk's", func(s *Sender) (Message, error) {
			s.Connected()
			return s.HandleAccept(Accept{ID: vecID, Offset: 5})
		}, ErrBadOffset},
		{"accept past the size", func(s *Sender) (Message, error) {
			s.Connected()
			return s.HandleAccept(Accept{ID: vecID, Offset: 4 * ChunkSize})
		}, ErrBadOffset},
		{"a second accept", func(s *Sender) (Message, error) { return s.HandleAccept(Accept{ID: vecID}) }, ErrUnexpected},
		{"progress past the size", func(s *Sender) (Message, error) {
			return s.HandleProgress(Progress{ID: vecID, Durable: 4 * ChunkSize})
		}, ErrBadOffset},
		{"progress in the middle of a chunk", func(s *Sender) (Message, error) {
			return s.HandleProgress(Progress{ID: vecID, Durable: ChunkSize + 1})
		}, ErrBadOffset},
		{"progress going back", func(s *Sender) (Message, error) {
			_, _ = s.HandleProgress(Progress{ID: vecID, Durable: 2 * ChunkSize})
			return s.HandleProgress(Progress{ID: vecID, Durable: ChunkSize})
		}, ErrBadOffset},
		{"progress before accept", func(s *Sender) (Message, error) {
			s.Connected()
			return s.HandleProgress(Progress{ID: vecID})
		}, ErrUnexpected},
		{"done before every byte is durable", func(s *Sender) (Message, error) {
			return nil, s.HandleDone(Done{ID: vecID})
		}, ErrUnexpected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := accepted()
			reply, err := c.do(s)
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, err, ErrProtocol)
			require.Equal(t, StateFailed, s.State())
			if reply != nil {
				require.Equal(t, CodeProtocol, reply.(Cancel).Code)
			} else {
				require.Equal(t, CodeProtocol, s.Connected().(Cancel).Code, "the Cancel goes out on the next connection")
			}
		})
	}
}

// hugeFile reads as zeros up to 4 GiB without holding any of it.
type hugeFile struct{}

func (hugeFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= MaxSize {
		return 0, io.EOF
	}
	n := copy(p, make([]byte, min(int64(len(p)), MaxSize-off)))
	return n, nil
}

func TestSender_TheLastChunkOfA4GiBFile(t *testing.T) {
	s, err := NewSender(Offer{ID: vecID, Size: MaxSize, MediaType: "a/b", Name: "disk.img"})
	require.NoError(t, err)
	s.Connected()
	last := uint64(MaxSize - MaxSize%ChunkSize)
	_, err = s.HandleAccept(Accept{ID: vecID, Offset: last}) // resuming near the end
	require.NoError(t, err)
	m, err := s.Next(hugeFile{})
	require.NoError(t, err)
	c := m.(Chunk)
	require.Equal(t, last, c.Offset)
	require.Len(t, c.Data, MaxSize%ChunkSize)
	mustMarshal(t, c)
	m, err = s.Next(hugeFile{})
	require.NoError(t, err)
	require.Nil(t, m)
	_, err = s.HandleProgress(Progress{ID: vecID, Durable: MaxSize})
	require.NoError(t, err)
	require.Equal(t, StateVerifying, s.State())
}

func TestHandleUnknown_AnswersOnlyWhatWouldOtherwiseWait(t *testing.T) {
	for _, c := range []struct {
		m    Message
		want Message
	}{
		{Chunk{ID: vecID, Data: []byte{1}}, Decline{}},
		{Accept{ID: vecID}, Cancel{}},
		{Progress{ID: vecID}, Cancel{}},
		{Decline{ID: vecID, Code: CodeDeclined}, nil},
		{Cancel{ID: vecID, Code: CodeCancelled}, nil},
		{Done{ID: vecID}, nil},
	} {
		reply, err := HandleUnknown(c.m)
		require.ErrorIs(t, err, ErrUnknownTransfer)
		require.ErrorIs(t, err, ErrProtocol)
		switch c.want.(type) {
		case nil:
			require.Nil(t, reply, "%T", c.m)
		case Decline:
			require.Equal(t, CodeProtocol, reply.(Decline).Code)
			require.Equal(t, vecID, reply.Transfer())
		case Cancel:
			require.Equal(t, CodeProtocol, reply.(Cancel).Code)
		}
		if reply != nil {
			mustMarshal(t, reply)
		}
	}
	_, err := HandleUnknown(Offer{})
	require.ErrorIs(t, err, ErrState)
}

func TestErrors_PartnerErrorsMatchTheirCode(t *testing.T) {
	for c := CodeDeclined; c <= CodeProtocol; c++ {
		err := error(&PartnerError{Code: c, Reason: "why\u202e"})
		require.ErrorIs(t, err, c.Err())
		require.Contains(t, err.Error(), c.String())
		require.Contains(t, err.Error(), `"why\u202e"`, "the reason is quoted and escaped")
	}
	require.Nil(t, Code(0).Err())
	require.Equal(t, "Code(9)", Code(9).String())
	require.Equal(t, "State(9)", State(9).String())
	require.Equal(t, "verifying", StateVerifying.String())
}

// TestSender_ProgressPastWhatThisConnectionSentSkipsAhead: after a cut the
// receiver may sync bytes it had written on the old connection; the sender
// continues from there instead of resending them.
func TestSender_ProgressPastWhatThisConnectionSentSkipsAhead(t *testing.T) {
	file := pattern(4 * Window)
	s, err := NewSender(offerFor(file))
	require.NoError(t, err)
	s.Connected()
	_, err = s.HandleAccept(Accept{ID: vecID, Offset: ChunkSize})
	require.NoError(t, err)
	m, err := s.Next(bytes.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, uint64(ChunkSize), m.(Chunk).Offset)

	_, err = s.HandleProgress(Progress{ID: vecID, Durable: 2 * Window})
	require.NoError(t, err)
	require.Zero(t, s.InFlight())
	m, err = s.Next(bytes.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, uint64(2*Window), m.(Chunk).Offset)
}

// TestSender_FailTellsSourceChangedWhateverTheCallersError: the code comes
// from the call, not from what the caller's error happens to wrap.
func TestSender_FailTellsSourceChangedWhateverTheCallersError(t *testing.T) {
	s, err := NewSender(offerFor(pattern(10)))
	require.NoError(t, err)
	m, err := s.Fail(fmt.Errorf("reopen: %w", ErrDeclined))
	require.ErrorIs(t, err, ErrSourceChanged)
	require.Equal(t, CodeSourceChanged, m.(Cancel).Code)
	mustMarshal(t, m)
	require.Equal(t, m, s.Connected(), "the Cancel goes out again on the next connection")
}
