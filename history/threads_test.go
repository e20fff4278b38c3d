package history

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securechat/securechat/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	fpBob   = strings.Repeat("b0", 32)
	fpCarol = strings.Repeat("c0", 32)
)

// threeConversations writes two conversations with Bob (two connections,
// the second under a new display name) and one with Carol between them,
// and returns the conversation ids in the order written.
func threeConversations(t testing.TB, v *Vault) (bob1, carol, bob2 string) {
	t.Helper()
	w1, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Addr: "192.0.2.1:50000", Start: t0})
	require.NoError(t, err)
	appendSync(t, w1, msg(1, false, "bob one"))
	appendSync(t, w1, msg(2, true, "to bob two"))
	require.NoError(t, w1.AppendStatus(msg(2, true, "").ID, true, ""))
	appendSync(t, w1, msg(3, true, "to bob three, fails"))
	require.NoError(t, w1.AppendStatus(msg(3, true, "").ID, false, "partner left"))
	require.NoError(t, w1.End("bye", t0.Add(time.Minute)))

	w2, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: fpCarol, Role: "connect", Addr: "198.51.100.2:9999", Start: t0.Add(time.Hour)})
	require.NoError(t, err)
	appendSync(t, w2, msg(10, false, "carol one"))
	appendSync(t, w2, msg(11, true, "to carol"))

	w3, err := v.BeginConversation(ConversationMeta{Partner: "Bobby", Fingerprint: fpBob, Role: "connect", Addr: "192.0.2.1:9999", Start: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w3, msg(20, false, "bob four"))
	// Carol's connection is still open while Bob's second one runs.
	appendSync(t, w2, msg(12, false, "carol two"))
	appendSync(t, w3, msg(21, true, "to bob five"))
	require.NoError(t, w3.End("bye", t0.Add(3*time.Hour)))
	require.NoError(t, w2.End("bye", t0.Add(3*time.Hour)))
	return w1.ID(), w2.ID(), w3.ID()
}

func texts(th *Thread) []string {
	var out []string
	for _, m := range th.Messages {
		out = append(out, m.Text)
	}
	return out
}

func TestThreads_OneThreadPerKeyWithEveryConnectionInOrder(t *testing.T) {
	v, dir := newVault(t, hooks{})
	bob1, carol, bob2 := threeConversations(t, v)
	check := func(t *testing.T, v *Vault) {
		bob, err := v.Thread(fpBob)
		require.NoError(t, err)
		assert.Equal(t, fpBob, bob.Contact)
		assert.Equal(t, []string{"bob one", "to bob two", "to bob three, fails", "bob four", "to bob five"}, texts(bob))
		convs := []string{bob1, bob1, bob1, bob2, bob2}
		from := []string{"Bob", "Bob", "Bob", "Bobby", "Bobby"}
		status := []string{StatusDelivered, StatusDelivered, StatusFailed, StatusDelivered, StatusSending}
		for i, m := range bob.Messages {
			assert.Equal(t, convs[i], m.Conversation, i)
			assert.Equal(t, from[i], m.From, i)
			assert.Equal(t, status[i], m.Status, i)
		}
		assert.Equal(t, "partner left", bob.Messages[2].Reason)
		assert.True(t, bob.Messages[0].Time.Equal(msg(1, false, "").Time))
		assert.False(t, bob.Messages[0].Outgoing)
		assert.True(t, bob.Messages[1].Outgoing)

		c, err := v.Thread(strings.ToUpper(fpCarol))
		require.NoError(t, err)
		assert.Equal(t, []string{"carol one", "to carol", "carol two"}, texts(c))
		for _, m := range c.Messages {
			assert.Equal(t, carol, m.Conversation)
			assert.Equal(t, "Carol", m.From)
		}

		none, err := v.Thread(strings.Repeat("d0", 32))
		require.NoError(t, err)
		assert.Empty(t, none.Messages)

		sums, err := v.Threads()
		require.NoError(t, err)
		require.Len(t, sums, 2)
		assert.Equal(t, fpBob, sums[0].Contact, "Bob's last message is the newest")
		assert.Equal(t, "Bobby", sums[0].Name, "the name Bob used last")
		assert.Equal(t, 5, sums[0].Messages)
		assert.Equal(t, "to bob five", sums[0].Last.Text)
		assert.Equal(t, StatusSending, sums[0].Last.Status)
		assert.True(t, sums[0].Active.Equal(t0.Add(2*time.Hour)), "the second connection started after the last message's time: %v", sums[0].Active)
		assert.Equal(t, fpCarol, sums[1].Contact)
		assert.Equal(t, "Carol", sums[1].Name)
		assert.Equal(t, 3, sums[1].Messages)
		assert.Equal(t, "carol two", sums[1].Last.Text)
		assert.Equal(t, 2, sums[1].Unread)
		assert.Equal(t, 2, sums[0].Unread)
	}
	check(t, v)
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	check(t, v)
}

func TestThreads_SearchNamesTheThreadOfEachHit(t *testing.T) {
	v, _ := newVault(t, hooks{})
	threeConversations(t, v)
	hits, err := v.Search("BOB")
	require.NoError(t, err)
	require.Len(t, hits, 5)
	for _, h := range hits {
		assert.Equal(t, fpBob, h.Conversation.Fingerprint)
	}
}

func unread(t *testing.T, v *Vault, contact string) int {
	t.Helper()
	sums, err := v.Threads()
	require.NoError(t, err)
	for _, s := range sums {
		if s.Contact == contact {
			return s.Unread
		}
	}
	t.Fatalf("no thread for %s", contact)
	return 0
}

func TestMarkRead_ANewMessageAfterItIsUnreadAfterReopen(t *testing.T) {
	v, dir := newVault(t, hooks{})
	threeConversations(t, v)
	require.NoError(t, v.MarkRead(fpBob))
	assert.Equal(t, 0, unread(t, v, fpBob))
	assert.Equal(t, 2, unread(t, v, fpCarol), "other threads keep theirs")

	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0.Add(5 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w, msg(30, false, "are you there?"))
	appendSync(t, w, msg(31, true, "an outgoing message is never unread"))
	assert.Equal(t, 1, unread(t, v, fpBob))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Equal(t, 1, unread(t, v, fpBob))
	assert.Equal(t, 2, unread(t, v, fpCarol))
	require.NoError(t, v.MarkRead(fpCarol))
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Equal(t, 0, unread(t, v, fpCarol))
	assert.Equal(t, 1, unread(t, v, fpBob))
}

func TestDeleteContactAndHistory_RemovesTheThreadAndKeepsTheOthers(t *testing.T) {
	v, dir := newVault(t, hooks{})
	_, carol, _ := threeConversations(t, v)
	for _, fp := range []string{fpBob, fpCarol} {
		require.NoError(t, v.SaveContact(profile.Contact{ID: fp, Name: "x" + fp[:2], TheirName: "x"}))
	}
	require.NoError(t, v.MarkRead(fpBob))
	require.NoError(t, v.MarkRead(fpCarol))
	logPath := filepath.Join(dir, logFileName)
	before, err := os.ReadFile(logPath)
	require.NoError(t, err)
	oldInfo, err := os.Stat(logPath)
	require.NoError(t, err)

	require.NoError(t, v.DeleteContactAndHistory(fpBob))
	check := func(t *testing.T, v *Vault) {
		_, ok := v.Contact(fpBob)
		assert.False(t, ok)
		_, ok = v.Contact(fpCarol)
		assert.True(t, ok)
		bob, err := v.Thread(fpBob)
		require.NoError(t, err)
		assert.Empty(t, bob.Messages)
		sums, err := v.Threads()
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, fpCarol, sums[0].Contact)
		assert.Equal(t, 0, sums[0].Unread)
		c, err := v.Thread(fpCarol)
		require.NoError(t, err)
		assert.Equal(t, []string{"carol one", "to carol", "carol two"}, texts(c))
		tr, err := v.Load(carol)
		require.NoError(t, err)
		assert.Len(t, tr.Messages, 3)
		convs, err := v.Conversations()
		require.NoError(t, err)
		require.Len(t, convs, 1)
		hits, err := v.Search("bob")
		require.NoError(t, err)
		assert.Empty(t, hits)
		v.mu.RLock()
		_, marked := v.prof.Read[fpBob]
		v.mu.RUnlock()
		assert.False(t, marked, "the read mark goes too")
	}
	check(t, v)

	after, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Less(t, len(after), len(before), "history.log shrank")
	newInfo, err := os.Stat(logPath)
	require.NoError(t, err)
	assert.False(t, os.SameFile(oldInfo, newInfo), "the old history file is gone")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.NotContains(t, e.Name(), ".tmp", "no temporary file left")
	}
	// No record of Bob's is in any file of the folder: every record of the
	// old file that is not in the new one was Bob's.
	bobRecords := 0
	for pos := logHeaderSize; pos < len(before); {
		fr, n, st := parseFrame(before[pos:])
		require.Equal(t, frameOK, st)
		kept := bytes.Contains(after, before[pos:pos+n])
		v.mu.RLock()
		_, isKept := v.idx.convs[fr.conv]
		v.mu.RUnlock()
		assert.Equal(t, isKept, kept, "record at %d", pos)
		if !isKept {
			bobRecords++
			assertNotInFolder(t, dir, before[pos+recHeaderSize:pos+n])
		}
		pos += n
	}
	assert.Equal(t, (1+3+2+1)+(1+2+1), bobRecords, "the starts, messages, statuses and ends of Bob's two conversations")

	// Appends go on in the new file.
	w, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: fpCarol, Role: "host", Start: t0.Add(6 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w, msg(40, false, "carol again"))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	_, ok := v.Contact(fpBob)
	assert.False(t, ok)
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Equal(t, []string{"carol one", "to carol", "carol two", "carol again"}, texts(c))
	assert.Equal(t, 1, unread(t, v, fpCarol), "the read mark survives the deletion of another thread")
	assert.ErrorIs(t, v.DeleteContactAndHistory(fpBob), profile.ErrNoContact)
}

// assertNotInFolder checks that no file of dir holds b.
func assertNotInFolder(t *testing.T, dir string, b []byte) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.False(t, bytes.Contains(data, b), "%s holds a deleted record", e.Name())
	}
}

func TestDeleteContactAndHistory_ACrashLeavingATempFileLosesNothing(t *testing.T) {
	v, dir := newVault(t, hooks{})
	threeConversations(t, v)
	require.NoError(t, v.MarkRead(fpCarol))
	require.NoError(t, v.Close())
	// What a rewrite killed before its rename leaves: part of a new file.
	logBytes, err := os.ReadFile(filepath.Join(dir, logFileName))
	require.NoError(t, err)
	stale := filepath.Join(dir, logFileName+".tmp123456")
	require.NoError(t, os.WriteFile(stale, logBytes[:len(logBytes)/2], 0o600))

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	bob, err := v.Thread(fpBob)
	require.NoError(t, err)
	assert.Len(t, bob.Messages, 5)
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Len(t, c.Messages, 3)
	assert.Equal(t, 0, unread(t, v, fpCarol))
	assert.NoFileExists(t, stale, "the stale copy is removed")

	// And the deletion can be done again.
	require.NoError(t, v.DeleteContactAndHistory(fpBob))
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 1)
}

func TestDeleteContactAndHistory_ACrashBeforeTheProfileIsSavedKeepsNewMessagesUnread(t *testing.T) {
	v, dir := newVault(t, hooks{})
	threeConversations(t, v)
	require.NoError(t, v.MarkRead(fpBob))
	// The history file is rewritten, then the process dies before the
	// profile drops Bob's read mark.
	require.NoError(t, v.log.rewriteWithout(fpBob))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0.Add(9 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w, msg(50, false, "hi again"))
	assert.Equal(t, 1, unread(t, v, fpBob), "the stale mark of the deleted thread went")
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Equal(t, 1, unread(t, v, fpBob))
}

func TestDeleteContactAndHistory_AFailedCopyChangesNothing(t *testing.T) {
	cf := &failingReadFile{}
	v, dir := newVault(t, hooks{wrapLog: func(f logFile) logFile { cf.logFile = f; return cf }})
	threeConversations(t, v)
	before := hashFiles(t, dir)
	cf.fail.Store(true)
	err := v.DeleteContactAndHistory(fpBob)
	require.ErrorIs(t, err, errInjected)
	assert.ErrorContains(t, err, "rewrite")
	cf.fail.Store(false)
	assert.Equal(t, before, hashFiles(t, dir), "no file changed and no temporary file is left")
	bob, err := v.Thread(fpBob)
	require.NoError(t, err)
	assert.Len(t, bob.Messages, 5)

	// The vault goes on, and a second try works.
	w, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: fpCarol, Role: "host", Start: t0.Add(7 * time.Hour)})
	require.NoError(t, err)
	appendSync(t, w, msg(60, false, "still here"))
	require.NoError(t, v.DeleteContactAndHistory(fpBob))
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Equal(t, []string{"carol one", "to carol", "carol two", "still here"}, texts(c))
	bob, err = v.Thread(fpBob)
	require.NoError(t, err)
	assert.Empty(t, bob.Messages)
}

// failingReadFile fails reads while fail is set.
type failingReadFile struct {
	logFile
	fail atomic.Bool
}

func (f *failingReadFile) ReadAt(p []byte, off int64) (int, error) {
	if f.fail.Load() {
		return 0, errInjected
	}
	return f.logFile.ReadAt(p, off)
}

func TestDeleteContactAndHistory_AFailedFolderSyncIsInEffect(t *testing.T) {
	var fail atomic.Bool
	v, dir := newVault(t, failingDirSync(&fail))
	threeConversations(t, v)
	fail.Store(true)
	err := v.DeleteContactAndHistory(fpBob)
	require.ErrorIs(t, err, ErrNotDurable)
	fail.Store(false)
	bob, err := v.Thread(fpBob)
	require.NoError(t, err)
	assert.Empty(t, bob.Messages)
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, fpCarol, sums[0].Contact)
}

func TestDeleteContactAndHistory_EndsTheDeletedKeysRunningConversation(t *testing.T) {
	v, dir := newVault(t, hooks{})
	wb, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, wb, msg(1, false, "bob here"))
	wc, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: fpCarol, Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, wc, msg(2, false, "carol here"))

	require.NoError(t, v.DeleteContactAndHistory(fpBob))
	done := make(chan error, 1)
	wb.AppendMessage(msg(3, false, "bob again"), func(err error) { done <- err })
	assert.ErrorIs(t, <-done, ErrClosed)
	assert.ErrorIs(t, wb.AppendStatus(msg(1, false, "").ID, true, ""), ErrClosed)
	assert.ErrorIs(t, wb.End("bye", t0), ErrClosed)
	appendSync(t, wc, msg(4, true, "carol goes on"))
	require.NoError(t, wc.AppendStatus(msg(4, true, "").ID, true, ""))
	require.NoError(t, wc.End("bye", t0.Add(time.Hour)))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 1)
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	require.Equal(t, []string{"carol here", "carol goes on"}, texts(c))
	assert.Equal(t, StatusDelivered, c.Messages[1].Status, "a status after the rewrite finds its message")
}

func TestDeleteContactAndHistory_KeepsTheRecordsAroundADamagedOne(t *testing.T) {
	v, dir := newVault(t, hooks{})
	threeConversations(t, v)
	require.NoError(t, v.Close())
	// Damage a byte in the header of Carol's first message record.
	path := filepath.Join(dir, logFileName)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	ends := recordEnds(t, data)
	// Records: Bob's start, 3 messages, 2 statuses, end (7), then Carol's
	// start (8), Carol's first message (9).
	data[ends[7]+10] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o600))

	v = reopen(t, dir)
	require.Len(t, v.Notices(), 2, "the damaged record, and the gap it leaves in Carol's conversation")
	require.NoError(t, v.DeleteContactAndHistory(fpBob))
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Equal(t, []string{"to carol", "carol two"}, texts(c))
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	// The damaged bytes, which nothing could read, are not copied; the gap
	// they left stays.
	require.Len(t, v.Notices(), 1)
	assert.Contains(t, v.Notices()[0], "1 records missing")
	c, err = v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Equal(t, []string{"to carol", "carol two"}, texts(c))
}

func TestThreads_ConcurrentReadsWritesMarksAndDeletes(t *testing.T) {
	v, _ := newVault(t, hooks{})
	threeConversations(t, v)
	w, err := v.BeginConversation(ConversationMeta{Partner: "Carol", Fingerprint: fpCarol, Role: "host", Start: t0.Add(8 * time.Hour)})
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	reader := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	reader(func() error { _, err := v.Threads(); return err })
	reader(func() error { _, err := v.Thread(fpCarol); return err })
	reader(func() error { _, err := v.Search("carol"); return err })
	reader(func() error { return v.MarkRead(fpCarol) })
	for i := range 200 {
		appendSync(t, w, msg(100+i, i%2 == 0, fmt.Sprint("carol msg ", i)))
		if i%50 == 25 {
			wb, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0})
			require.NoError(t, err)
			appendSync(t, wb, msg(1000+i, false, "bob again"))
			require.NoError(t, v.DeleteContactAndHistory(fpBob))
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := v.Thread(fpCarol)
	require.NoError(t, err)
	assert.Len(t, c.Messages, 3+200)
	for i, m := range c.Messages[3:] {
		assert.Equal(t, fmt.Sprint("carol msg ", i), m.Text)
	}
}

func TestThreads_VersionOneProfileGivesItsThreadsRead(t *testing.T) {
	dir := copyProfile(t, filepath.Join("testdata", "profile-v1"))
	v, err := Open(dir, []byte("fixture passphrase"))
	require.NoError(t, err)
	check := func(v *Vault) {
		sums, err := v.Threads()
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, strings.Repeat("1", 64), sums[0].Contact)
		assert.Equal(t, "Bob", sums[0].Name)
		assert.Equal(t, 1, sums[0].Messages)
		assert.Equal(t, 0, sums[0].Unread, "a history from before read marks counts as read")
		assert.Equal(t, "hello Bob", sums[0].Last.Text)
		th, err := v.Thread(sums[0].Contact)
		require.NoError(t, err)
		require.Len(t, th.Messages, 1)
		assert.Equal(t, "hello Bob", th.Messages[0].Text)
		assert.Equal(t, "Bob", th.Messages[0].From)
		assert.Equal(t, StatusDelivered, th.Messages[0].Status)
	}
	check(v)
	require.NoError(t, v.Close())
	v = reopen2(t, dir, "fixture passphrase")
	defer v.Close()
	assert.Contains(t, sealedProfileJSON(t, v), `"version":5`, "the marks were saved at open")
	check(v)
}

func TestThreads_ConversationWithoutAKeyIsInNoThread(t *testing.T) {
	v, _ := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "?", Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, false, "who am I"))
	sums, err := v.Threads()
	require.NoError(t, err)
	assert.Empty(t, sums)
	_, err = v.Thread("")
	assert.Error(t, err)
}

func TestThread_InterleavedConnectionsOfOneKeyAreInWriteOrder(t *testing.T) {
	v, dir := newVault(t, hooks{})
	// A partner that restarted: the new connection starts before the old
	// one has written its last records.
	old, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, old, msg(1, false, "m1"))
	cur, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Fingerprint: fpBob, Role: "host", Start: t0.Add(time.Second)})
	require.NoError(t, err)
	var want []string
	want = append(want, "m1")
	for i := 2; i < 12; i++ {
		w := cur
		if i%3 == 0 {
			w = old
		}
		// Sender clocks that go backwards do not reorder the thread.
		m := msg(i, i%2 == 0, fmt.Sprint("m", i))
		m.Time = t0.Add(-time.Duration(i) * time.Minute)
		appendSync(t, w, m)
		want = append(want, m.Text)
	}
	require.NoError(t, old.AppendStatus(msg(3, false, "").ID, false, "replaced"))
	require.NoError(t, old.End("replaced", t0.Add(time.Minute))) // durable, and so is the status before it
	check := func(v *Vault) {
		th, err := v.Thread(fpBob)
		require.NoError(t, err)
		assert.Equal(t, want, texts(th))
		for i, m := range th.Messages {
			n := i + 1
			if n == 1 || n%3 == 0 {
				assert.Equal(t, old.ID(), m.Conversation, m.Text)
			} else {
				assert.Equal(t, cur.ID(), m.Conversation, m.Text)
			}
		}
		assert.Equal(t, StatusFailed, th.Messages[2].Status)
		assert.Equal(t, "replaced", th.Messages[2].Reason)
		sums, err := v.Threads()
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, "m11", sums[0].Last.Text)
		assert.Equal(t, 11, sums[0].Messages)
	}
	check(v)
	require.NoError(t, v.Close())
	check(reopen(t, dir))
}
