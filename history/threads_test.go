package history

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		require.NoError(t, v.SaveContact(Contact{ID: fp, Name: "x" + fp[:2], TheirName: "x"}))
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
	assert.ErrorIs(t, v.DeleteContactAndHistory(fpBob), ErrNoContact)
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
