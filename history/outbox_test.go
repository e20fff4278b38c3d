package history

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
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
