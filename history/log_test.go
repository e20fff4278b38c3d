package history

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeSample writes two conversations and returns the ids, older first.
func writeSample(t testing.TB, v *Vault) (string, string) {
	t.Helper()
	w1, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: "fp-bob", Role: "host", Addr: "192.0.2.1:50000", Start: t0})
	require.NoError(t, err)
	appendSync(t, w1, msg(1, false, "Hello Alice"))
	appendSync(t, w1, msg(2, true, "hello BOB, how are you?"))
	require.NoError(t, w1.AppendStatus(msg(2, true, "").ID, true, ""))
	appendSync(t, w1, msg(3, true, "this one fails"))
	require.NoError(t, w1.AppendStatus(msg(3, true, "").ID, false, "partner left"))
	require.NoError(t, w1.End("bye", t0.Add(time.Hour)))

	w2, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: "fp-carol", Role: "connect", Addr: "198.51.100.2:9999", Start: t0.Add(24 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w2, msg(10, true, "hi carol"))
	return w1.ID(), w2.ID()
}

func TestHistory_ReopenListsLoadsAndSearchesEveryConversation(t *testing.T) {
	v, dir := newVault(t, hooks{})
	id1, id2 := writeSample(t, v)
	check := func(t *testing.T, v *Vault) {
		sums, err := v.Conversations()
		require.NoError(t, err)
		require.Len(t, sums, 2)
		assert.Equal(t, id2, sums[0].ID, "newest first")
		assert.Equal(t, "Carol", sums[0].Partner)
		assert.Equal(t, "connect", sums[0].Role)
		assert.True(t, sums[0].End.IsZero())
		assert.Equal(t, 1, sums[0].Messages)
		s := sums[1]
		assert.Equal(t, Summary{ID: id1, Partner: "Bob", Fingerprint: "fp-bob", Role: "host", Addr: "192.0.2.1:50000",
			Start: s.Start, End: s.End, EndReason: "bye", Messages: 3}, s)
		assert.True(t, s.Start.Equal(t0))
		assert.True(t, s.End.Equal(t0.Add(time.Hour)))

		tr, err := v.Load(id1)
		require.NoError(t, err)
		require.Len(t, tr.Messages, 3)
		want := []StoredMessage{
			{ID: msg(1, false, "").ID, Outgoing: false, Text: "Hello Alice", Status: StatusDelivered},
			{ID: msg(2, true, "").ID, Outgoing: true, Text: "hello BOB, how are you?", Status: StatusDelivered},
			{ID: msg(3, true, "").ID, Outgoing: true, Text: "this one fails", Status: StatusFailed, Reason: "partner left"},
		}
		for i, m := range tr.Messages {
			assert.True(t, m.Time.Equal(t0.Add(time.Duration(i+1)*time.Second)))
			m.Time = time.Time{}
			assert.Equal(t, want[i], m)
		}
		byPrefix, err := v.Load(strings.ToUpper(id1[:8]))
		require.NoError(t, err)
		assert.Equal(t, id1, byPrefix.ID)

		hits, err := v.Search("HELLO")
		require.NoError(t, err)
		require.Len(t, hits, 2)
		assert.Equal(t, "Hello Alice", hits[0].Message.Text)
		assert.Equal(t, "Bob", hits[0].Conversation.Partner)
		hits, err = v.Search("carol")
		require.NoError(t, err)
		require.Len(t, hits, 1)
		assert.Equal(t, id2, hits[0].Conversation.ID)
		assert.Empty(t, v.Notices())
	}
	t.Run("while open", func(t *testing.T) { check(t, v) })
	require.NoError(t, v.Close())
	t.Run("after reopening", func(t *testing.T) { check(t, reopen(t, dir)) })
}

func TestHistory_LoadOfUnknownIDIsErrNoConversation(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	for _, id := range []string{"", "abc", strings.Repeat("0", 32), "zzzz"} {
		_, err := v.Load(id)
		require.ErrorIs(t, err, ErrNoConversation, id)
	}
}

func TestHistory_ResentMessageAppearsOnce(t *testing.T) {
	v, _ := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "connect"})
	require.NoError(t, err)
	m := msg(1, true, "again")
	appendSync(t, w, m)
	require.NoError(t, w.AppendStatus(m.ID, false, "timeout"))
	appendSync(t, w, m)
	require.NoError(t, w.AppendStatus(m.ID, true, ""))
	appendSync(t, w, msg(2, false, "got it"))
	appendSync(t, w, msg(2, false, "got it"))

	tr := reloadClean(t, v, w.ID())
	require.Len(t, tr.Messages, 2)
	assert.Equal(t, 2, tr.Summary.Messages)
	assert.Equal(t, StatusDelivered, tr.Messages[0].Status)
	assert.Equal(t, "got it", tr.Messages[1].Text)
}

func TestWriter_AppendsAfterEndOrCloseFail(t *testing.T) {
	v, _ := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.NoError(t, err)
	require.NoError(t, w.End("done", time.Now()))
	done := make(chan error, 1)
	w.AppendMessage(msg(1, true, "late"), func(err error) { done <- err })
	require.ErrorIs(t, <-done, ErrClosed)
	require.ErrorIs(t, w.AppendStatus("x", true, ""), ErrClosed)
	require.ErrorIs(t, w.End("again", time.Now()), ErrClosed)
	require.NoError(t, v.Close())
	_, err = v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.ErrorIs(t, err, ErrClosed)
	_, err = v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "spectator"})
	require.Error(t, err)
}

// noSyncFile skips fsync, for tests that open a profile many times.
type noSyncFile struct{ logFile }

func (noSyncFile) Sync() error { return nil }

// countingFile counts fsyncs and can be made to fail.
type countingFile struct {
	logFile
	syncs     atomic.Int64
	syncDelay time.Duration
	failWrite atomic.Bool
	failSync  atomic.Bool
	partial   atomic.Bool // a failing write writes half its bytes first
}

var errInjected = errors.New("injected: no space left on device")

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	if f.failWrite.Load() {
		if f.partial.Load() {
			n, _ := f.logFile.WriteAt(p[:len(p)/2], off)
			return n, errInjected
		}
		return 0, errInjected
	}
	return f.logFile.WriteAt(p, off)
}

func (f *countingFile) Sync() error {
	f.syncs.Add(1)
	time.Sleep(f.syncDelay)
	if f.failSync.Load() {
		return errInjected
	}
	return f.logFile.Sync()
}

func withCounter(cf *countingFile) hooks {
	return hooks{wrapLog: func(f logFile) logFile { cf.logFile = f; return cf }}
}

func TestGroupCommit_ABurstOfAppendsSharesFewFsyncs(t *testing.T) {
	cf := &countingFile{syncDelay: 2 * time.Millisecond} // about a laptop SSD
	v, dir := newVault(t, withCounter(cf))
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.NoError(t, err)
	before := cf.syncs.Load()

	const n = 200
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			w.AppendMessage(msg(i, i%2 == 0, fmt.Sprint("burst ", i)), func(err error) {
				if err != nil {
					failed.Add(1)
				}
				wg.Done()
			})
		}()
	}
	wg.Wait()
	syncs := cf.syncs.Load() - before
	t.Logf("%d appends, %d fsyncs", n, syncs)
	assert.Zero(t, failed.Load())
	assert.Less(t, syncs, int64(n/10), "a burst should share fsyncs")
	require.NoError(t, v.Close())

	tr, err := reopen(t, dir).Load(w.ID())
	require.NoError(t, err)
	assert.Len(t, tr.Messages, n)
}

func TestAppend_FailedWriteIsReportedAndLaterWritesRepairTheFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(cf *countingFile, on bool)
	}{
		{"write fails", func(cf *countingFile, on bool) { cf.failWrite.Store(on) }},
		{"write fails half way", func(cf *countingFile, on bool) { cf.partial.Store(true); cf.failWrite.Store(on) }},
		{"fsync fails", func(cf *countingFile, on bool) { cf.failSync.Store(on) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cf := &countingFile{}
			v, _ := newVault(t, withCounter(cf))
			w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
			require.NoError(t, err)
			appendSync(t, w, msg(1, true, "before"))

			tc.fail(cf, true)
			done := make(chan error, 1)
			w.AppendMessage(msg(2, true, "lost"), func(err error) { done <- err })
			err = <-done
			require.ErrorIs(t, err, errInjected)
			assert.Contains(t, err.Error(), "failed to save")
			assert.NotContains(t, err.Error(), "lost")
			assert.Error(t, w.AppendStatus(msg(1, true, "").ID, true, ""), "the last write failed")

			tc.fail(cf, false)
			appendSync(t, w, msg(3, true, "after"))
			require.NoError(t, w.End("bye", t0))

			tr := reloadClean(t, v, w.ID())
			require.Len(t, tr.Messages, 2)
			assert.Equal(t, "before", tr.Messages[0].Text)
			assert.Equal(t, "after", tr.Messages[1].Text)
			assert.Equal(t, "bye", tr.EndReason)
		})
	}
}

// sample is a closed profile with the history of writeSample.
type sample struct {
	dir      string
	data     []byte // history.log
	id1, id2 string
	fid      fileID
	dataKey  []byte
}

func sampleLog(t testing.TB) sample {
	v, dir := newVault(t, hooks{})
	s := sample{dir: dir, fid: v.log.fid, dataKey: slices.Clone(v.dataKey)} // Close clears the key
	s.id1, s.id2 = writeSample(t, v)
	require.NoError(t, v.Close())
	var err error
	s.data, err = os.ReadFile(filepath.Join(dir, logFileName))
	require.NoError(t, err)
	return s
}

func TestTornTail_EveryCutOpensWithEveryCompleteRecordAndTheNextWriteRepairs(t *testing.T) {
	v, dir := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "connect", Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, false, "one"))
	appendSync(t, w, msg(2, true, "two"))
	require.NoError(t, w.AppendStatus(msg(2, true, "").ID, true, ""))
	require.NoError(t, w.End("bye", t0))
	require.NoError(t, v.Close())
	data, err := os.ReadFile(filepath.Join(dir, logFileName))
	require.NoError(t, err)
	ends := recordEnds(t, data)
	require.Len(t, ends, 5) // start, message, message, status, end
	msgEnds := []int{ends[1], ends[2]}

	cp := copyProfile(t, dir)
	noSync := hooks{wrapLog: func(f logFile) logFile { return noSyncFile{f} }} // keeps a thousand opens fast
	for cut := 0; cut < len(data); cut++ {
		wantMsgs := 0
		for _, e := range msgEnds {
			if e <= cut {
				wantMsgs++
			}
		}
		require.NoError(t, os.WriteFile(filepath.Join(cp, logFileName), data[:cut], 0o600))
		v, err := open(cp, testPass, noSync)
		require.NoError(t, err, "cut at %d", cut)
		total := func() int {
			sums, err := v.Conversations()
			require.NoError(t, err)
			n := 0
			for _, s := range sums {
				n += s.Messages
			}
			return n
		}
		require.Equal(t, wantMsgs, total(), "cut at %d", cut)
		for _, n := range v.Notices() {
			require.NotContains(t, n, "damaged", "cut at %d", cut)
		}

		w, err := v.BeginConversation(ConversationMeta{Partner: "Dan", Role: "host"})
		require.NoError(t, err)
		appendSync(t, w, msg(99, true, "after the cut"))
		require.NoError(t, v.Close())
		v, err = open(cp, testPass, noSync)
		require.NoError(t, err)
		require.Empty(t, v.Notices(), "cut at %d: the write repaired the tail", cut)
		require.Equal(t, wantMsgs+1, total(), "cut at %d", cut)
		require.NoError(t, v.Close())
	}
}

// scanAll scans a history file and returns the records that opened, as
// "conversation/seq", and the notices. It scans twice, reading the file a
// few MiB at a time as Open does and a few bytes at a time, so that records
// and headers straddle the reads, and fails the test if the two differ.
func scanAll(t *testing.T, data []byte, fid fileID, dataKey []byte) (map[string]bool, []string) {
	t.Helper()
	if len(data) < logHeaderSize {
		return map[string]bool{}, []string{"short"}
	}
	scan := func(chunk int) (map[string]bool, []string, int64) {
		got := map[string]bool{}
		var notices []string
		keys := keyring{dataKey: dataKey}
		res, err := scanChunked(bytes.NewReader(data), int64(logHeaderSize), int64(len(data)), chunk, fid, &keys,
			func(c convID, seq uint64, _ recordAt, r record) { got[fmt.Sprintf("%x/%d", c, seq)] = true },
			func(s string) { notices = append(notices, s) })
		require.NoError(t, err)
		return got, notices, res.good
	}
	got, notices, good := scan(scanChunk)
	for _, chunk := range []int{1, 7, 50} {
		got2, notices2, good2 := scan(chunk)
		require.Equal(t, got, got2, "records read %d bytes at a time", chunk)
		require.Equal(t, notices, notices2, "notices reading %d bytes at a time", chunk)
		require.Equal(t, good, good2, "good end reading %d bytes at a time", chunk)
	}
	return got, notices
}

func TestDamagedByte_OnlyTheRecordHoldingItIsLost(t *testing.T) {
	smp := sampleLog(t)
	data, fid, key := smp.data, smp.fid, smp.dataKey
	all, notices := scanAll(t, data, fid, key)
	require.Empty(t, notices)
	require.Len(t, all, 9)
	ends := recordEnds(t, data)

	for off := logHeaderSize; off < len(data); off++ {
		rec := 0
		for ends[rec] <= off {
			rec++
		}
		for _, change := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte(nil), data...)
			bad[off] ^= change
			got, notices := scanAll(t, bad, fid, key)
			require.Len(t, got, len(all)-1, "byte %d of record %d changed", off, rec)
			damaged := 0
			for _, n := range notices {
				if strings.Contains(n, "damaged") {
					damaged++
				}
			}
			require.Equal(t, 1, damaged, "byte %d changed: %v", off, notices)
		}
	}
}

func TestDamagedByte_VaultReportsTheRecordAndKeepsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(ends []int) int
		want int // messages still readable, of 4
	}{
		{"in the file header", func([]int) int { return 3 }, 4},
		{"in a message's header", func(e []int) int { return e[1] + 10 }, 3},
		{"in a message's ciphertext", func(e []int) int { return e[2] - 5 }, 3},
		{"in the last byte", func(e []int) int { return e[8] - 1 }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			smp := sampleLog(t)
			dir, data, id1 := smp.dir, smp.data, smp.id1
			data[tc.at(recordEnds(t, data))] ^= 0x20
			require.NoError(t, os.WriteFile(filepath.Join(dir, logFileName), data, 0o600))
			v := reopen(t, dir)
			require.NotEmpty(t, v.Notices())
			assert.Contains(t, strings.Join(v.Notices(), "\n"), "damaged")
			sums, err := v.Conversations()
			require.NoError(t, err)
			n := 0
			for _, s := range sums {
				n += s.Messages
			}
			assert.Equal(t, tc.want, n)
			_, err = v.Load(id1)
			require.NoError(t, err)

			w, err := v.BeginConversation(ConversationMeta{Partner: "Dan", Role: "host"})
			require.NoError(t, err)
			appendSync(t, w, msg(42, true, "after the damage"))
			require.NoError(t, v.Close())
			v = reopen(t, dir)
			for _, n := range v.Notices() {
				assert.NotContains(t, n, "header", "the write repaired the header")
			}
			hits, err := v.Search("after the damage")
			require.NoError(t, err)
			assert.Len(t, hits, 1)
		})
	}
}

func TestRecords_SwappedOrMovedRecordsAreNoticed(t *testing.T) {
	smp := sampleLog(t)
	dir, data, fid, key := smp.dir, smp.data, smp.fid, smp.dataKey
	ends := recordEnds(t, data)

	t.Run("swapped", func(t *testing.T) {
		// records 1 and 2 are both messages of the first conversation
		swapped := append([]byte(nil), data[:ends[0]]...)
		swapped = append(swapped, data[ends[1]:ends[2]]...)
		swapped = append(swapped, data[ends[0]:ends[1]]...)
		swapped = append(swapped, data[ends[2]:]...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, logFileName), swapped, 0o600))
		v := reopen(t, dir)
		assert.Contains(t, strings.Join(v.Notices(), "\n"), "out of order")
		require.NoError(t, v.Close())
	})
	t.Run("moved to another file", func(t *testing.T) {
		other := fid
		other[0] ^= 1
		got, notices := scanAll(t, data, other, key)
		assert.Empty(t, got)
		assert.Len(t, notices, 9)
	})
	t.Run("moved to another conversation", func(t *testing.T) {
		moved := append([]byte(nil), data...)
		// give record 1 the conversation id of the second conversation, with a valid header checksum
		fr, _, _ := parseFrame(data[ends[7]:])
		copy(moved[ends[0]+8:ends[0]+24], fr.conv[:])
		h := moved[ends[0] : ends[0]+recHeaderSize]
		putCRC(h)
		got, notices := scanAll(t, moved, fid, key)
		assert.Len(t, got, 8)
		assert.Contains(t, strings.Join(notices, "\n"), "record 2 damaged")
	})
}

func TestRecords_UnknownKindIsSkippedWithANotice(t *testing.T) {
	v, dir := newVault(t, hooks{})
	id1, _ := writeSample(t, v)
	require.NoError(t, v.Close())
	v, err := Open(dir, testPass)
	require.NoError(t, err)
	// append, as a newer version might, a record of kind 9 to the first conversation
	var c convID
	_, err = hex.Decode(c[:], []byte(id1))
	require.NoError(t, err)
	aead, err := conversationKey(v.dataKey, c)
	require.NoError(t, err)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	rec := sealRecord(nil, aead, v.log.fid, c, 7, nonce, []byte{9, 'n', 'e', 'w'})
	require.NoError(t, v.Close())
	f, err := os.OpenFile(filepath.Join(dir, logFileName), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(rec)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	v = reopen(t, dir)
	assert.Equal(t, []string{"record 10 of unknown kind 9 skipped"}, v.Notices())
	tr, err := v.Load(id1)
	require.NoError(t, err)
	assert.Len(t, tr.Messages, 3)
}

func TestVault_ReadsWhileAppendingAreSafe(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.NoError(t, err)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sums, _ := v.Conversations()
				for _, s := range sums {
					if tr, err := v.Load(s.ID); err == nil {
						for i := range tr.Messages {
							tr.Messages[i].Text += "!" // the copy is the caller's
						}
					}
				}
				v.Search("message")
				v.Notices()
				v.RecentAddrs()
			}
		}()
	}
	var writers sync.WaitGroup
	for g := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 25 {
				id := g*100 + i
				appendSync(t, w, msg(id, g%2 == 0, fmt.Sprint("message ", id)))
				require.NoError(t, w.AppendStatus(msg(id, true, "").ID, true, ""))
			}
		}()
	}
	writers.Add(1)
	go func() { defer writers.Done(); require.NoError(t, v.AddRecentAddr("a:1")) }()
	writers.Wait()
	close(stop)
	readers.Wait()
	tr, err := v.Load(w.ID())
	require.NoError(t, err)
	assert.Len(t, tr.Messages, 100)
	for _, m := range tr.Messages {
		assert.NotContains(t, m.Text, "!")
	}
}

func TestAppendMessage_TextSizeBoundaries(t *testing.T) {
	v, _ := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.NoError(t, err)
	for i, size := range []int{0, 1, maxTextSize - 1, maxTextSize, maxTextSize + 1} {
		done := make(chan error, 1)
		w.AppendMessage(msg(i, true, strings.Repeat("x", size)), func(err error) { done <- err })
		err := <-done
		if size > maxTextSize {
			require.ErrorContains(t, err, "too large", "size %d", size)
		} else {
			require.NoError(t, err, "size %d", size)
		}
	}
	tr := reloadClean(t, v, w.ID())
	require.Len(t, tr.Messages, 4)
	assert.Len(t, tr.Messages[3].Text, maxTextSize)
}

func TestParseFrame_LengthBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n    uint32
		want frameStatus
	}{
		{0, frameBad},
		{tagSize, frameBad},
		{tagSize + 1, frameOK},
		{maxSealedSize - 1, frameOK},
		{maxSealedSize, frameOK},
		{maxSealedSize + 1, frameBad},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			b := make([]byte, recHeaderSize+int(tc.n))
			copy(b, recMagic)
			binary.BigEndian.PutUint32(b[4:], tc.n)
			putCRC(b)
			_, size, st := parseFrame(b)
			assert.Equal(t, tc.want, st)
			if st == frameOK {
				assert.Equal(t, len(b), size)
				_, _, st = parseFrame(b[:len(b)-1])
				assert.Equal(t, frameIncomplete, st, "one byte short")
			}
		})
	}
}
