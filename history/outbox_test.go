package history

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	fpDave = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	fpEve  = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
)

func outMsg(contact string, i int, text string) OutboxMessage {
	return OutboxMessage{Contact: contact, ID: fmt.Sprintf("%032x", 0x0b0000+i), Text: text, Time: t0.Add(time.Duration(i) * time.Minute)}
}

// queueSync queues m and waits until it is durable.
func queueSync(t testing.TB, v *Vault, m OutboxMessage) {
	t.Helper()
	done := make(chan error, 1)
	v.QueueMessage(m.Contact, m, func(err error) { done <- err })
	require.NoError(t, <-done)
}

func ids(ms []OutboxMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// statuses returns the status of every message of contact's thread by id.
func statuses(t testing.TB, v *Vault, contact string) map[string]string {
	t.Helper()
	th, err := v.Thread(contact)
	require.NoError(t, err)
	out := map[string]string{}
	for _, m := range th.Messages {
		out[m.ID] = m.Status
	}
	return out
}

func TestOutbox_QueuedToAnOfflineContactSurvivesAReopenInOrder(t *testing.T) {
	v, dir := newVault(t, hooks{})
	var want []OutboxMessage
	for i := range 3 {
		m := outMsg(fpDave, i, fmt.Sprint("while you were away ", i))
		queueSync(t, v, m)
		want = append(want, m)
	}
	assert.Equal(t, want, v.Outbox(fpDave))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	got := v.Outbox(fpDave)
	require.Len(t, got, 3)
	for i := range got {
		assert.Equal(t, want[i].ID, got[i].ID)
		assert.Equal(t, want[i].Text, got[i].Text)
		assert.Equal(t, fpDave, got[i].Contact)
		assert.True(t, want[i].Time.Equal(got[i].Time))
	}
	th, err := v.Thread(fpDave)
	require.NoError(t, err)
	require.Len(t, th.Messages, 3)
	for i, m := range th.Messages {
		assert.Equal(t, StatusQueued, m.Status)
		assert.True(t, m.Outgoing)
		assert.Equal(t, want[i].Text, m.Text)
	}
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, 3, sums[0].Messages)
	assert.Equal(t, StatusQueued, sums[0].Last.Status)
	assert.Equal(t, want[2].Text, sums[0].Last.Text)
	convs, err := v.Conversations()
	require.NoError(t, err)
	assert.Empty(t, convs, "an outbox stream is no connection")
	hits, err := v.Search("were away 1")
	require.NoError(t, err)
	require.Len(t, hits, 1)
	assert.Equal(t, "outbox", hits[0].Conversation.Role)
	assert.Equal(t, fpDave, hits[0].Conversation.Fingerprint)
}

func TestOutbox_DeliveredAndCancelledMarksSurviveAReopen(t *testing.T) {
	v, dir := newVault(t, hooks{})
	var ms []OutboxMessage
	for i := range 3 {
		ms = append(ms, outMsg(fpDave, i, fmt.Sprint("m", i)))
		queueSync(t, v, ms[i])
	}
	require.NoError(t, v.MarkDelivered(fpDave, ms[0].ID))
	require.NoError(t, v.CancelQueued(fpDave, ms[1].ID))
	assert.Equal(t, []string{ms[2].ID}, ids(v.Outbox(fpDave)))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	assert.Equal(t, []string{ms[2].ID}, ids(v.Outbox(fpDave)))
	assert.Equal(t, map[string]string{ms[0].ID: StatusDelivered, ms[1].ID: StatusCancelled, ms[2].ID: StatusQueued}, statuses(t, v, fpDave))

	// Marks after a reopen name messages queued before it.
	require.NoError(t, v.MarkDelivered(fpDave, ms[2].ID))
	require.NoError(t, v.MarkDelivered(fpDave, ms[2].ID), "idempotent")
	require.NoError(t, v.MarkDelivered(fpDave, ms[0].ID), "idempotent after a reopen")
	require.ErrorIs(t, v.CancelQueued(fpDave, ms[0].ID), ErrAlreadyDelivered)
	require.NoError(t, v.CancelQueued(fpDave, ms[1].ID), "cancelling twice")
	assert.Empty(t, v.Outbox(fpDave))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	assert.Empty(t, v.Outbox(""))
	assert.Equal(t, map[string]string{ms[0].ID: StatusDelivered, ms[1].ID: StatusCancelled, ms[2].ID: StatusDelivered}, statuses(t, v, fpDave))
	th, err := v.Thread(fpDave)
	require.NoError(t, err)
	assert.Len(t, th.Messages, 3, "marks add no message")
}

func TestOutbox_UnknownMessagesAndOtherContacts(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	m := outMsg(fpDave, 1, "for Dave")
	queueSync(t, v, m)
	err := v.MarkDelivered(fpEve, m.ID)
	require.ErrorIs(t, err, ErrUnknownMessage, "Eve cannot acknowledge Dave's message")
	require.ErrorIs(t, v.MarkDelivered(fpDave, fmt.Sprintf("%032x", 99)), ErrUnknownMessage)
	require.ErrorIs(t, v.CancelQueued(fpDave, fmt.Sprintf("%032x", 99)), ErrUnknownMessage)
	assert.Equal(t, []string{m.ID}, ids(v.Outbox(strings.ToUpper(fpDave))), "fingerprints in any case")

	done := make(chan error, 1)
	v.QueueMessage(fpDave, m, func(err error) { done <- err })
	err = <-done
	require.Error(t, err, "the same id twice")
	assert.NotContains(t, err.Error(), m.Text)
	v.QueueMessage("", outMsg("", 2, "nobody"), func(err error) { done <- err })
	require.Error(t, <-done)
	v.QueueMessage(fpDave, OutboxMessage{ID: "x", Text: strings.Repeat("y", maxTextSize+1)}, func(err error) { done <- err })
	require.Error(t, <-done)
}

func TestOutbox_EveryContactsOutboxInWrittenOrder(t *testing.T) {
	v, dir := newVault(t, hooks{})
	require.NoError(t, v.SaveContact(profile.Contact{ID: fpEve, Name: "My Eve", TheirName: "Eve"}))
	a := outMsg(fpDave, 1, "a")
	b := outMsg(fpEve, 2, "b")
	c := outMsg(fpDave, 3, "c")
	for _, m := range []OutboxMessage{a, b, c} {
		queueSync(t, v, m)
	}
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Equal(t, []string{a.ID, b.ID, c.ID}, ids(v.Outbox("")))
	assert.Equal(t, []string{b.ID}, ids(v.Outbox(fpEve)))
	all := v.Outbox("")
	assert.Equal(t, []string{fpDave, fpEve, fpDave}, []string{all[0].Contact, all[1].Contact, all[2].Contact})
	th, err := v.Thread(fpEve)
	require.NoError(t, err)
	require.Len(t, th.Messages, 1)
	assert.Equal(t, "Eve", th.Messages[0].From, "the name the contact last used")
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 2)
	for _, s := range sums {
		if s.Contact == fpEve {
			assert.Equal(t, "Eve", s.Name)
		}
	}
}

func TestReceived_AcrossAReopenPerContact(t *testing.T) {
	v, dir := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Dave", Fingerprint: fpDave, Role: "host", Start: t0})
	require.NoError(t, err)
	in := msg(7, false, "hello")
	out := msg(8, true, "hi")
	assert.False(t, v.Received(fpDave, in.ID))
	appendSync(t, w, in)
	appendSync(t, w, out)
	assert.True(t, v.Received(fpDave, in.ID), "once durable")
	require.NoError(t, w.End("bye", t0))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.True(t, v.Received(fpDave, in.ID))
	assert.True(t, v.Received(strings.ToUpper(fpDave), in.ID))
	assert.False(t, v.Received(fpDave, out.ID), "our own message is not received")
	assert.False(t, v.Received(fpDave, fmt.Sprintf("%032x", 12345)))
	assert.False(t, v.Received(fpEve, in.ID), "another contact's same id")
	assert.False(t, v.Received("", in.ID))

	// A later connection adds to the same thread.
	w, err = v.BeginConversation(ConversationMeta{Partner: "Dave", Fingerprint: fpDave, Role: "connect", Start: t0.Add(time.Hour)})
	require.NoError(t, err)
	in2 := msg(9, false, "again")
	appendSync(t, w, in2)
	assert.True(t, v.Received(fpDave, in2.ID))
	assert.True(t, v.Received(fpDave, in.ID))
}

func TestOutbox_DeleteContactRemovesItsOutbox(t *testing.T) {
	v, dir := newVault(t, hooks{})
	queueSync(t, v, outMsg(fpDave, 1, "secret outbox text"))
	queueSync(t, v, outMsg(fpEve, 2, "for Eve"))
	w, err := v.BeginConversation(ConversationMeta{Partner: "Dave", Fingerprint: fpDave, Role: "host", Start: t0})
	require.NoError(t, err)
	in := msg(3, false, "from Dave")
	appendSync(t, w, in)
	v.log.mu.Lock()
	stream := v.log.outboxes[fpDave].id
	v.log.mu.Unlock()
	require.NoError(t, v.DeleteContactAndHistory(fpDave))
	assert.Empty(t, v.Outbox(fpDave))
	assert.False(t, v.Received(fpDave, in.ID))
	require.ErrorIs(t, v.MarkDelivered(fpDave, outMsg(fpDave, 1, "").ID), ErrUnknownMessage)

	// A message queued afterwards starts a new outbox stream.
	again := outMsg(fpDave, 4, "after the deletion")
	queueSync(t, v, again)
	require.NoError(t, v.Close())
	assertNotInFolder(t, dir, stream[:])

	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	assert.Equal(t, []string{again.ID}, ids(v.Outbox(fpDave)))
	assert.Equal(t, []string{outMsg(fpEve, 2, "").ID}, ids(v.Outbox(fpEve)))
	assert.False(t, v.Received(fpDave, in.ID))
}

func TestOutbox_ConcurrentQueueMarkAndThread(t *testing.T) {
	v, dir := newVault(t, hooks{})
	const n = 200
	var wg sync.WaitGroup
	for _, contact := range []string{fpDave, fpEve} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				m := outMsg(contact, i, fmt.Sprint("concurrent ", i))
				queueSync(t, v, m)
				if i%2 == 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						assert.NoError(t, v.MarkDelivered(contact, m.ID))
					}()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			th, err := v.Thread(fpDave)
			if !assert.NoError(t, err) {
				return
			}
			for i, m := range th.Messages {
				assert.Equal(t, fmt.Sprint("concurrent ", i), m.Text)
			}
			_ = v.Outbox("")
			_, err = v.Threads()
			assert.NoError(t, err)
		}
	}()
	wg.Wait()
	for _, contact := range []string{fpDave, fpEve} {
		assert.Len(t, v.Outbox(contact), n/2)
	}
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	for _, contact := range []string{fpDave, fpEve} {
		out := v.Outbox(contact)
		require.Len(t, out, n/2)
		for k, m := range out {
			assert.Equal(t, outMsg(contact, 2*k+1, "").ID, m.ID, "in the order queued")
		}
	}
}

// TestOutbox_ACrashLosesNothingReportedDurable copies the profile's files
// while the vault is open, as a crash would leave them, right after the
// durable callbacks; and again after the file broke for the next writes.
func TestOutbox_ACrashLosesNothingReportedDurable(t *testing.T) {
	cf := &countingFile{}
	v, dir := newVault(t, withCounter(cf))
	defer v.Close()
	var ms []OutboxMessage
	for i := range 3 {
		ms = append(ms, outMsg(fpDave, i, fmt.Sprint("durable ", i)))
		queueSync(t, v, ms[i])
	}
	require.NoError(t, v.MarkDelivered(fpDave, ms[0].ID))
	crashed := copyProfile(t, dir)

	// The next writes fail: what was reported durable stays.
	cf.failWrite.Store(true)
	cf.partial.Store(true)
	lost := outMsg(fpDave, 9, "never durable")
	done := make(chan error, 1)
	v.QueueMessage(fpDave, lost, func(err error) { done <- err })
	err := <-done
	require.ErrorIs(t, err, errInjected)
	assert.NotContains(t, err.Error(), lost.Text)
	err = v.CancelQueued(fpDave, ms[1].ID)
	require.ErrorIs(t, err, errInjected)
	assert.Equal(t, []string{ms[1].ID, ms[2].ID}, ids(v.Outbox(fpDave)), "a failed cancel cancels nothing")
	broken := copyProfile(t, dir)

	for _, d := range []string{crashed, broken} {
		c, err := Open(d, testPass)
		require.NoError(t, err)
		assert.Equal(t, []string{ms[1].ID, ms[2].ID}, ids(c.Outbox(fpDave)))
		assert.Equal(t, map[string]string{ms[0].ID: StatusDelivered, ms[1].ID: StatusQueued, ms[2].ID: StatusQueued}, statuses(t, c, fpDave))
		for _, n := range c.Notices() {
			assert.NotContains(t, n, "damaged")
		}
		// The next open's marks name the messages queued before the crash.
		require.NoError(t, c.CancelQueued(fpDave, ms[1].ID))
		require.NoError(t, c.Close())
		c = reopen(t, d)
		assert.Empty(t, c.Notices(), "the first write repaired the tail")
		assert.Equal(t, []string{ms[2].ID}, ids(c.Outbox(fpDave)))
	}

	// The same vault works again once the file does.
	cf.failWrite.Store(false)
	queueSync(t, v, lost)
	assert.Equal(t, []string{ms[1].ID, ms[2].ID, lost.ID}, ids(v.Outbox(fpDave)))
}

// TestOutbox_AFailedFirstWriteStartsTheStreamWithTheNextOne makes the
// first write of an outbox stream (its start record and first message)
// fail: the next message must still begin with the start record, or the
// stream would belong to no thread.
func TestOutbox_AFailedFirstWriteStartsTheStreamWithTheNextOne(t *testing.T) {
	for _, failSync := range []bool{false, true} {
		t.Run(fmt.Sprint("fsync fails ", failSync), func(t *testing.T) {
			cf := &countingFile{}
			v, dir := newVault(t, withCounter(cf))
			if failSync {
				cf.failSync.Store(true)
			} else {
				cf.failWrite.Store(true)
			}
			done := make(chan error, 1)
			first := outMsg(fpDave, 1, "first")
			v.QueueMessage(fpDave, first, func(err error) { done <- err })
			require.ErrorIs(t, <-done, errInjected)
			assert.Empty(t, v.Outbox(fpDave))
			cf.failWrite.Store(false)
			cf.failSync.Store(false)
			second := outMsg(fpDave, 2, "second")
			queueSync(t, v, second)
			queueSync(t, v, first) // the failed one, queued again
			require.NoError(t, v.Close())

			v = reopen(t, dir)
			assert.Empty(t, v.Notices())
			assert.Equal(t, []string{second.ID, first.ID}, ids(v.Outbox(fpDave)))
			sums, err := v.Threads()
			require.NoError(t, err)
			require.Len(t, sums, 1)
			assert.Equal(t, fpDave, sums[0].Contact)
		})
	}
}

// TestOutbox_EveryCutOfTheFileOpensWithTheCompleteRecords cuts a history
// with an outbox stream at every byte: the open never reports damage, the
// outbox holds exactly the messages whose records are complete, minus
// those whose marks are complete, and the next write repairs the tail.
func TestOutbox_EveryCutOfTheFileOpensWithTheCompleteRecords(t *testing.T) {
	v, dir := newVault(t, hooks{})
	a, b := outMsg(fpDave, 1, "a"), outMsg(fpDave, 2, "b")
	queueSync(t, v, a) // start and a, one write
	queueSync(t, v, b)
	require.NoError(t, v.MarkDelivered(fpDave, a.ID))
	require.NoError(t, v.Close())
	data, err := os.ReadFile(filepath.Join(dir, logFileName))
	require.NoError(t, err)
	ends := recordEnds(t, data)
	require.Len(t, ends, 4) // start, a, b, delivered a

	cp := copyProfile(t, dir)
	noSync := hooks{wrapLog: func(f logFile) logFile { return noSyncFile{f} }}
	for cut := 0; cut < len(data); cut++ {
		var want []string
		if cut >= ends[1] && cut < ends[3] {
			want = append(want, a.ID)
		}
		if cut >= ends[2] {
			want = append(want, b.ID)
		}
		require.NoError(t, os.WriteFile(filepath.Join(cp, logFileName), data[:cut], 0o600))
		c, err := open(cp, testPass, noSync)
		require.NoError(t, err, "cut at %d", cut)
		require.Equal(t, want, ids(c.Outbox(fpDave)), "cut at %d", cut)
		for _, n := range c.Notices() {
			require.NotContains(t, n, "damaged", "cut at %d", cut)
		}
		after := outMsg(fpDave, 3, "after the cut")
		queueSync(t, c, after)
		require.NoError(t, c.Close())
		c, err = open(cp, testPass, noSync)
		require.NoError(t, err)
		require.Empty(t, c.Notices(), "cut at %d", cut)
		require.Equal(t, append(want, after.ID), ids(c.Outbox(fpDave)), "cut at %d", cut)
		require.NoError(t, c.Close())
	}
}

func TestOutbox_OlderHistoriesOpenUnchanged(t *testing.T) {
	v, dir := newVault(t, hooks{})
	_, _, _ = threeConversations(t, v)
	require.NoError(t, v.Close())
	before := hashFiles(t, dir)
	v = reopen(t, dir)
	assert.Empty(t, v.Outbox(""))
	bob, err := v.Thread(fpBob)
	require.NoError(t, err)
	for _, m := range bob.Messages {
		assert.Contains(t, []string{StatusSending, StatusDelivered, StatusFailed}, m.Status)
	}
	require.NoError(t, v.Close())
	assert.Equal(t, before, hashFiles(t, dir), "opening and reading writes nothing")
}

func TestOutbox_TheSameIDQueuedTwiceAtOnceIsWrittenOnce(t *testing.T) {
	v, dir := newVault(t, hooks{})
	m := outMsg(fpDave, 1, "once")
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.QueueMessage(fpDave, m, func(err error) { errs <- err })
		}()
	}
	wg.Wait()
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else {
			assert.ErrorContains(t, err, "already in the outbox")
		}
	}
	assert.Equal(t, 1, ok)
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	assert.Equal(t, []string{m.ID}, ids(v.Outbox(fpDave)))
}

func TestIDSet_HoldsWhatWasPutAtAnySize(t *testing.T) {
	ix := newIndex()
	for _, reserve := range []int{0, 1, 7, 1000, 5000} {
		var s idSet
		s.reserve(reserve)
		assert.False(t, s.has(ix.key("absent")))
		for i := range 3000 {
			s.put(ix.key(fmt.Sprint(i)))
			s.put(ix.key(fmt.Sprint(i))) // twice counts once
		}
		s.put(idKey{}) // the zero hash is stored as another key
		assert.Equal(t, 3001, s.n)
		assert.LessOrEqual(t, s.n*4, len(s.keys)*3)
		for i := range 3000 {
			require.True(t, s.has(ix.key(fmt.Sprint(i))), "reserve %d, key %d", reserve, i)
			require.False(t, s.has(ix.key(fmt.Sprint(-i-1))), "reserve %d, key %d", reserve, -i-1)
		}
		assert.True(t, s.has(idKey{}))
	}
}

func TestThread_QueuedMessagesTakeTheirPlaceAmongAConnectionsMessages(t *testing.T) {
	v, dir := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Dave", Fingerprint: fpDave, Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, false, "in 1"))
	q1 := outMsg(fpDave, 2, "out 2")
	queueSync(t, v, q1)
	appendSync(t, w, msg(3, false, "in 3"))
	q2 := outMsg(fpDave, 4, "out 4")
	queueSync(t, v, q2)
	require.NoError(t, v.MarkDelivered(fpDave, q1.ID))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	th, err := v.Thread(fpDave)
	require.NoError(t, err)
	var got []string
	for _, m := range th.Messages {
		got = append(got, m.Text+" "+m.Status)
	}
	assert.Equal(t, []string{"in 1 delivered", "out 2 delivered", "in 3 delivered", "out 4 queued"}, got)
	sums, err := v.Threads()
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, "Dave", sums[0].Name, "the name of the connection, not of the outbox")
	assert.Equal(t, 4, sums[0].Messages)
	assert.Equal(t, 2, sums[0].Unread)
	assert.Equal(t, "out 4", sums[0].Last.Text)
	assert.Equal(t, StatusQueued, sums[0].Last.Status)
	assert.Equal(t, "Dave", th.Messages[3].From)
}

// TestOutbox_DeletingAContactWhileItsMessagesAreQueued queues and marks
// messages of a contact while it is deleted: every callback is called, a
// message reported durable after the deletion is in the outbox, and the
// history reopens without a notice.
func TestOutbox_DeletingAContactWhileItsMessagesAreQueued(t *testing.T) {
	v, dir := newVault(t, hooks{})
	queueSync(t, v, outMsg(fpDave, 0, "before"))
	const n = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	durable := map[string]bool{}
	for i := 1; i <= n; i++ {
		wg.Add(1)
		m := outMsg(fpDave, i, fmt.Sprint("racing ", i))
		v.QueueMessage(fpDave, m, func(err error) {
			if err != nil {
				assert.ErrorIs(t, err, ErrClosed)
				wg.Done()
				return
			}
			mu.Lock()
			durable[m.ID] = true
			mu.Unlock()
			go func() { // a callback must not block the committer
				defer wg.Done()
				// The mark may find the message deleted meanwhile.
				if err := v.MarkDelivered(fpDave, m.ID); err != nil {
					assert.ErrorIs(t, err, ErrUnknownMessage)
				}
			}()
		})
		if i == n/2 {
			require.NoError(t, v.DeleteContactAndHistory(fpDave))
		}
	}
	wg.Wait()
	th, err := v.Thread(fpDave)
	require.NoError(t, err)
	for _, m := range th.Messages {
		assert.True(t, durable[m.ID], "%s is in the thread but was not reported durable", m.ID)
	}
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	assert.Empty(t, v.Notices())
	again, err := v.Thread(fpDave)
	require.NoError(t, err)
	assert.Equal(t, len(th.Messages), len(again.Messages))
	for _, m := range again.Messages {
		assert.NotEqual(t, "before", m.Text)
	}
}
