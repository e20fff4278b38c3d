package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
)

// bubbleText is what the bubble of message id says: its text and status.
func bubbleText(t *testing.T, l *messageList, id string) string {
	t.Helper()
	b := bubbleWith(t, l, id)
	return b.rend.text.String() + "\n" + b.rend.status.String()
}

// countRows counts the rows of a pane that show message id.
func countRows(l *messageList, id string) int {
	n := 0
	for _, r := range l.rows {
		if r.id == id {
			n++
		}
	}
	return n
}

// Write to an offline contact: the message shows once stored, says whom it
// waits for, and becomes delivered when the contact is online and acks it.
func TestOutbox_WriteToAnOfflineContactThenDelivered(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	require.Equal(t, peerOffline, c.selected.state)

	typeAndEnter(t, f, "while you are away")
	require.Equal(t, []string{"while you are away"}, f.ctrl.texts())
	assert.Empty(t, c.input.Text)
	assert.Zero(t, countRows(c.thread(), "m1"), "not shown before it is stored")

	f.queued(bobFP, "m1", "while you are away")
	text := bubbleText(t, c.thread(), "m1")
	assert.Contains(t, text, "while you are away")
	assert.Contains(t, text, "will be sent when Bob is online")
	assert.True(t, bubbleWith(t, c.thread(), "m1").rend.button.Visible(), "it can be cancelled while it waits")
	assert.Equal(t, "You: while you are away", c.peers[bobFP].preview())

	// Bob connects: the session sends it (a MessageEvent of the same id)
	f.comesIn(1, partner(session.TrustKnown))
	assert.Contains(t, bubbleText(t, c.thread(), "m1"), "sending…")
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "m1", Outgoing: true, From: "Alice", Text: "while you are away", Time: time.Now(), Wire: []byte{1, 2}}})
	assert.Equal(t, 1, countRows(c.thread(), "m1"), "one bubble")
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "m1"})
	text = bubbleText(t, c.thread(), "m1")
	assert.Contains(t, text, "delivered")
	assert.NotContains(t, text, "will be sent")
	assert.False(t, bubbleWith(t, c.thread(), "m1").rend.button.Visible())
}

// A queued message is cancelled from its bubble's menu: CancelMessage is
// called, Cancelled shows it, and nothing makes it delivered after that.
func TestOutbox_CancelAQueuedMessage(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	typeAndEnter(t, f, "never mind")
	f.queueSent()

	b := bubbleWith(t, c.thread(), "m1")
	test.TapSecondaryAt(b, fyne.NewPos(5, 5))
	require.NotNil(t, b.menu, "a right click opens the menu")
	var labels []string
	for _, it := range b.menu.Items {
		labels = append(labels, it.Label)
	}
	require.Contains(t, labels, "Cancel sending")
	f.win.Canvas().Overlays().Top().Hide() // the menu closes as its item is chosen
	for _, it := range b.menu.Items {
		if it.Label == "Cancel sending" {
			it.Action()
		}
	}
	assert.Equal(t, []string{bobFP + "/m1"}, f.ctrl.got(&f.ctrl.cancelledMsgs))
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the keyboard stays with the input")

	f.ctrl.emit(session.Cancelled{Contact: bobFP, ID: "m1"})
	text := bubbleText(t, c.thread(), "m1")
	assert.Contains(t, text, "cancelled, not sent")
	assert.False(t, bubbleWith(t, c.thread(), "m1").rend.button.Visible(), "nothing to cancel any more")

	// whatever comes after, it is never shown as delivered or waiting
	f.comesIn(1, partner(session.TrustKnown))
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "m1"})
	text = bubbleText(t, c.thread(), "m1")
	assert.Contains(t, text, "cancelled, not sent")
	assert.NotContains(t, text, "delivered")
	b = bubbleWith(t, c.thread(), "m1")
	b.menu = nil
	test.TapSecondaryAt(b, fyne.NewPos(5, 5))
	require.NotNil(t, b.menu)
	for _, it := range b.menu.Items {
		assert.NotEqual(t, "Cancel sending", it.Label)
	}
	f.win.Canvas().Overlays().Top().Hide()

	// the button on a waiting bubble cancels too
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndTimeout})
	typeAndEnter(t, f, "second thoughts")
	f.queueSent()
	test.Tap(bubbleWith(t, c.thread(), "m2").rend.button)
	assert.Equal(t, []string{bobFP + "/m1", bobFP + "/m2"}, f.ctrl.got(&f.ctrl.cancelledMsgs))
}

// After a restart on the same profile, a message still queued shows
// queued; the resend of the new run updates its bubble, no second one.
func TestOutbox_QueuedMessageAfterARestart(t *testing.T) {
	f := newFixture(t, true)
	queued := tm("q1", true, testTime.Add(5*time.Minute), "sent before the restart")
	queued.Status = history.StatusQueued
	cancelled := tm("q2", true, testTime.Add(6*time.Minute), "cancelled before the restart")
	cancelled.Status = history.StatusCancelled
	f.vault.threads[bobFP] = append(f.vault.threads[bobFP], queued, cancelled)

	c := f.unlock()
	f.selectContact(bobFP)
	assert.Contains(t, bubbleText(t, c.thread(), "q1"), "will be sent when Bob is online")
	assert.True(t, bubbleWith(t, c.thread(), "q1").rend.button.Visible(), "and can be cancelled")
	assert.Contains(t, bubbleText(t, c.thread(), "q2"), "cancelled, not sent")

	f.comesIn(1, partner(session.TrustKnown))
	for range 2 { // sent again on the new link, even twice
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
			ID: "q1", Outgoing: true, From: "Alice", Text: "sent before the restart", Time: testTime.Add(5 * time.Minute)}})
	}
	assert.Equal(t, 1, countRows(c.thread(), "q1"), "no second bubble")
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "q1"})
	assert.Contains(t, bubbleText(t, c.thread(), "q1"), "delivered")
	assert.Equal(t, 1, strings.Count(strings.Join(shownTexts(c.thread()), "\n"), "sent before the restart"))
}

// An event about a message that comes before its thread was read is
// kept for it: a thread read later shows the state the events said.
func TestOutbox_StateReportedBeforeTheThreadIsReadIsShown(t *testing.T) {
	f := newFixture(t, true)
	queued := tm("q1", true, testTime.Add(5*time.Minute), "sent before the restart")
	queued.Status = history.StatusQueued
	f.vault.threads[bobFP] = append(f.vault.threads[bobFP], queued)
	c := f.unlock()
	require.Nil(t, c.peers[bobFP].thread, "not read yet")
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "q1"})
	f.selectContact(bobFP)
	assert.Contains(t, bubbleText(t, c.thread(), "q1"), "delivered")
}

// The header of an offline contact counts down to the next automatic dial,
// once a second while it is shown, with Try now; the ticker stops when
// nothing needs it.
func TestOutbox_ReconnectingCountdownAndTryNow(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	assert.Equal(t, []bool{true}, f.ctrl.autoReconnect, "the app reconnects from unlock on")
	f.selectContact(bobFP)
	assert.Equal(t, []string{bobFP}, f.ctrl.got(&f.ctrl.reconnects), "opening a contact dials it at once")
	assert.Nil(t, c.tickStop, "nothing to count down yet")

	now := time.Now()
	clock = func() time.Time { return now }
	t.Cleanup(func() { clock = time.Now })
	f.ctrl.emit(session.Reconnecting{Contact: bobFP, At: now.Add(40 * time.Second), Attempt: 3})
	assert.Equal(t, "Reconnecting in 40 s", c.status.Text)
	assert.Equal(t, "Try now", c.connect.Text)
	require.NotNil(t, c.tickStop, "a ticker counts down")
	assert.Contains(t, f.win.Title(), "Bob (not connected)", "the title stays")

	now = now.Add(time.Second)
	f.tick()
	assert.Equal(t, "Reconnecting in 39 s", c.status.Text)
	now = now.Add(100 * time.Second)
	f.tick()
	assert.Equal(t, "Reconnecting…", c.status.Text)
	assert.Nil(t, c.tickStop, "stopped once the dial is due")

	test.Tap(c.connect)
	assert.Equal(t, []string{bobFP, bobFP}, f.ctrl.got(&f.ctrl.reconnects), "Try now dials at once")

	// the countdown is only for the contact shown
	f.ctrl.emit(session.Reconnecting{Contact: bobFP, At: now.Add(5 * time.Minute)})
	assert.Equal(t, "Reconnecting in 5 min", c.status.Text)
	require.NotNil(t, c.tickStop)
	f.selectContact(carolFP)
	assert.Nil(t, c.tickStop, "Carol has no countdown")
	assert.Equal(t, "Not connected", c.status.Text)
	f.ctrl.emit(session.Reconnecting{Contact: bobFP, At: now.Add(4 * time.Minute)})
	assert.Nil(t, c.tickStop)
	f.selectContact(bobFP)
	assert.Equal(t, "Reconnecting in 4 min", c.status.Text)
	f.comesIn(1, partner(session.TrustKnown))
	assert.Equal(t, "Connected · encrypted", c.status.Text)
	assert.Nil(t, c.tickStop, "connected: nothing to count")
}

func TestOutbox_ReconnectWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second:                  "Reconnecting in 40 s",
		39*time.Second + time.Millisecond: "Reconnecting in 40 s",
		time.Millisecond:                  "Reconnecting in 1 s",
		0:                                 "Reconnecting…",
		-time.Second:                      "Reconnecting…",
		90 * time.Second:                  "Reconnecting in 1 min 30 s",
		5 * time.Minute:                   "Reconnecting in 5 min",
	} {
		assert.Equal(t, want, reconnectWords(d), "%v", d)
	}
}

// A goodbye pauses the reconnects: the header says so, and Connect dials.
func TestOutbox_ReconnectPausedAndConnect(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	test.Tap(c.action)
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndWeLeft},
		session.ReconnectPaused{Contact: bobFP})
	assert.Equal(t, "Not connected. You or Bob ended the chat", c.status.Text)
	assert.Equal(t, "Connect", c.connect.Text)
	assert.True(t, c.connect.Visible())
	assert.Nil(t, c.tickStop)
	assert.False(t, c.input.Disabled(), "a message can still be written")

	before := len(f.ctrl.got(&f.ctrl.reconnects))
	test.Tap(c.connect)
	assert.Len(t, f.ctrl.got(&f.ctrl.reconnects), before+1, "Connect dials at once")
	assert.NotContains(t, c.status.Text, "ended the chat", "the pause is over")
	assert.Equal(t, c.input, f.win.Canvas().Focused())
}

// A known contact's request is let in without a dialog, on any link; a
// new key still asks, and a changed key with its warning.
func TestOutbox_KnownContactAcceptedNewKeyAsks(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	for _, trust := range []session.Trust{session.TrustKnown, session.TrustVerified, session.TrustInvited} {
		f.ctrl.emit(session.Handshaking{Link: 3, Addr: "192.168.1.31:9999", Contact: bobFP}, // the reconnect loop
			session.Request{Link: 3, Partner: partner(trust)})
		assert.Nil(t, f.win.Canvas().Overlays().Top(), "%v: no dialog", trust)
		assert.Empty(t, c.requests)
	}
	assert.Equal(t, []string{bobFP, bobFP, bobFP}, f.ctrl.got(&f.ctrl.accepted))

	f.ctrl.emit(session.Handshaking{Link: 4, Addr: "192.168.1.40:50000", Incoming: true},
		session.Request{Link: 4, Partner: someone("Dave", daveFP, session.TrustNew)})
	require.Len(t, c.requests, 1, "a new key waits under Requests")
	assert.Equal(t, []string{bobFP, bobFP, bobFP}, f.ctrl.got(&f.ctrl.accepted), "not let in")

	// a changed key on a dial the user asked for: asked at once, warned
	f.selectContact(carolFP)
	f.dials(5, carolFP)
	changed := someone("Carol", eveFP, session.TrustChanged)
	changed.Expected = "Carol"
	f.ctrl.emit(session.Request{Link: 5, Partner: changed})
	assert.Contains(t, dialogText(t, f.win), "Someone may be intercepting this chat")
	assert.Equal(t, []string{bobFP, bobFP, bobFP}, f.ctrl.got(&f.ctrl.accepted))
}

// The bar above the input grows when a dial fails (it says why): the
// newest message stays in view.
func TestOutbox_NewestStaysInViewWhenTheBarGrows(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	for i := range 12 {
		typeAndEnter(t, f, fmt.Sprintf("message %d, written while Bob is away", i))
		f.queueSent()
	}
	l := c.thread()
	require.True(t, l.atBottom())
	h := l.Size().Height
	l.Resize(fyne.NewSize(l.Size().Width, h-60)) // a line more of the bar, and more
	assert.True(t, l.atBottom(), "the newest message stays in view")
	l.Resize(fyne.NewSize(l.Size().Width, h))
	assert.True(t, l.atBottom())
}
