package session

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/securechat/securechat/filexfer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The chat machine is tested without sockets, goroutines or clocks: each
// input is a call, each output a value.

func deciding(t *testing.T) *chatMachine {
	t.Helper()
	m := newChatMachine(7)
	e := m.start("c0ffee", &Partner{Name: "alice", Fingerprint: "c0ffee"})
	require.Equal(t, []Event{Request{Link: 7, Partner: Partner{Name: "alice", Fingerprint: "c0ffee"}}}, e.events)
	return &m
}

func textRecord(id byte, text string) *wireMsg {
	w := &wireMsg{typ: msgText, time: time.UnixMilli(0), text: text}
	w.id[0] = id
	return w
}

func acceptOurs(t *testing.T, m *chatMachine) effects {
	t.Helper()
	require.NoError(t, m.beginAccept())
	e, err := m.accepted()
	require.NoError(t, err)
	return e
}

func TestChatMachine_APartnersFirstMessageRightAfterOurAcceptFindsUsConnected(t *testing.T) {
	// The race a review found in the old link: our Accept was queued before
	// we marked ourselves as having accepted, so the partner's first
	// message could be refused as "before accept". Here the state changes
	// in the step, before its effects (our Accept) can go out.
	m := deciding(t)
	e, err := m.record(&wireMsg{typ: msgAccept})
	require.NoError(t, err)
	assert.Empty(t, e.events, "nothing to tell until we accept")
	e = acceptOurs(t, m)
	require.Len(t, e.sends, 1)
	assert.Equal(t, encodeAccept(), e.sends[0].pt)
	assert.True(t, e.connected)
	assert.Equal(t, []Event{Connected{Link: 7, Partner: *m.partner}}, e.events)
	assert.Equal(t, linkConnected, m.state, "connected before our Accept is sent")
	// The partner's message, sent the moment our Accept arrives.
	e, err = m.record(textRecord(1, "hi"))
	require.NoError(t, err)
	assert.Equal(t, "hi", e.receive.text)
}

func TestChatMachine_WeAcceptFirstThenWaitForThePartner(t *testing.T) {
	m := deciding(t)
	e := acceptOurs(t, m)
	assert.Equal(t, []Event{Waiting{Link: 7, Partner: *m.partner}}, e.events)
	assert.False(t, e.connected)
	_, err := m.record(textRecord(1, "too early"))
	assert.ErrorIs(t, err, ErrProtocol, "a message before the partner accepted")
	e, err = m.record(&wireMsg{typ: msgAccept})
	require.NoError(t, err)
	assert.True(t, e.connected)
	assert.Equal(t, []Event{Connected{Link: 7, Partner: *m.partner}}, e.events)
}

func TestChatMachine_RecordsOutOfTurnAreProtocolErrors(t *testing.T) {
	m := deciding(t)
	_, err := m.record(textRecord(1, "before anyone accepted"))
	assert.ErrorIs(t, err, ErrProtocol)
	_, err = m.record(&wireMsg{typ: msgAccept})
	require.NoError(t, err)
	_, err = m.record(&wireMsg{typ: msgAccept})
	assert.ErrorIs(t, err, ErrProtocol, "a second accept")
	acceptOurs(t, m)
	_, err = m.record(&wireMsg{typ: msgAccept})
	assert.ErrorIs(t, err, ErrProtocol, "an accept once connected")
	assert.ErrorIs(t, m.beginAccept(), ErrNoRequest, "we accept once")
}

func TestChatMachine_FileMessagesFlowOnlyOnceConnected(t *testing.T) {
	offer := &wireMsg{typ: filexfer.TypeOffer, file: filexfer.Offer{Size: 1, MediaType: "text/plain", Name: "a"}}
	m := deciding(t)
	_, err := m.record(offer)
	assert.ErrorIs(t, err, ErrProtocol, "an offer before anyone accepted")
	_, err = m.record(&wireMsg{typ: msgAccept})
	require.NoError(t, err)
	_, err = m.record(offer)
	assert.ErrorIs(t, err, ErrProtocol, "an offer before we accepted")
	acceptOurs(t, m)
	e, err := m.record(offer)
	require.NoError(t, err)
	assert.Same(t, offer, e.file, "once connected, it goes to the file transfers")
}

func TestChatMachine_OurMessagesAreStoredBeforeSentAndDeliveredOnce(t *testing.T) {
	m := deciding(t)
	_, err := m.sendText(&outgoing{text: "not yet"}, true)
	assert.ErrorIs(t, err, ErrNotConnected)
	_, _ = m.record(&wireMsg{typ: msgAccept})
	acceptOurs(t, m)

	first, second := &outgoing{text: "one"}, &outgoing{text: "two"}
	first.id[0], second.id[0] = 1, 2
	e, err := m.sendText(first, true)
	require.NoError(t, err)
	require.Len(t, e.sends, 1)
	assert.True(t, e.sends[0].fast, "alone in flight: the fast path")
	assert.Same(t, first, e.sends[0].msg)
	e, err = m.sendText(second, true)
	require.NoError(t, err)
	assert.False(t, e.sends[0].fast, "with another in flight: the writer batches")

	ack := &wireMsg{typ: msgAck, id: first.id}
	e, err = m.record(ack)
	require.NoError(t, err)
	id := hex.EncodeToString(first.id[:])
	assert.Equal(t, id, e.acked, "the link records it delivered, then reports it")
	e, err = m.record(ack)
	require.NoError(t, err)
	assert.Empty(t, e.acked, "a second ack delivers nothing")
	e, err = m.sendText(second, false)
	require.NoError(t, err)
	assert.Empty(t, e.sends, "a message in flight on the link is not sent twice")

	inFlight := m.finish()
	assert.Equal(t, []*outgoing{second}, inFlight, "what was in flight stays in the outbox")
	assert.Equal(t, linkEnding, m.state)
	_, err = m.sendText(&outgoing{text: "after"}, true)
	assert.ErrorIs(t, err, ErrNotConnected)
}

func TestChatMachine_NotSentForgetsTheMessage(t *testing.T) {
	m := deciding(t)
	_, _ = m.record(&wireMsg{typ: msgAccept})
	acceptOurs(t, m)
	o := &outgoing{text: "lost"}
	_, err := m.sendText(o, true)
	require.NoError(t, err)
	id := hex.EncodeToString(o.id[:])
	m.notSent(id)
	assert.Empty(t, m.finish(), "a message that was never sent is not in flight")
}

func TestChatMachine_DeclineDeadlineAndKeepalive(t *testing.T) {
	m := deciding(t)
	e, err := m.decline()
	require.NoError(t, err)
	assert.Equal(t, EndWeDeclined, e.leave)
	assert.Equal(t, EndTimeout, m.acceptDeadline().leave, "nobody answered in time")
	assert.Len(t, m.pingDue(1).sends, 1)

	m = deciding(t)
	acceptOurs(t, m)
	_, err = m.decline()
	assert.ErrorIs(t, err, ErrNoRequest, "too late to decline")
	_, _ = m.record(&wireMsg{typ: msgAccept})
	assert.Zero(t, m.acceptDeadline().leave, "a connected chat has no accept deadline")

	e, err = m.record(&wireMsg{typ: msgPing, nonce: 9})
	require.NoError(t, err)
	require.Len(t, e.sends, 1)
	assert.Equal(t, encodePing(msgPong, 9), e.sends[0].pt)
	assert.True(t, e.sends[0].fast)
	m.stop()
	assert.Empty(t, m.pingDue(2).sends, "no ping once ending")
}

func TestChatMachine_AGoodbyeMeansBusyDeclinedOrLeft(t *testing.T) {
	m := deciding(t)
	_, err := m.record(&wireMsg{typ: msgBye, reason: "goodbye"})
	var bye *errBye
	require.ErrorAs(t, err, &bye)
	assert.Equal(t, EndPartnerDeclined, m.byeReason(bye), "a goodbye before both accepted")
	assert.Equal(t, EndBusy, m.byeReason(&errBye{reason: "busy: try later"}))
	_, _ = m.record(&wireMsg{typ: msgAccept})
	acceptOurs(t, m)
	assert.Equal(t, EndPartnerLeft, m.byeReason(bye))
}
