package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

func pressShiftEnter(e *messageEntry) {
	e.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	e.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
}

func TestChat_EnterSendsAndClearsInput(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()

	focused := f.win.Canvas().Focused()
	require.Equal(t, c.input, focused, "the input has the focus once connected")
	test.Type(focused, "hello Bob")
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})

	assert.Equal(t, []string{"hello Bob"}, f.ctrl.texts())
	assert.Empty(t, c.input.Text, "the input is cleared after sending")
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "focus returns to the input")
	assert.False(t, containsText(shownTexts(c.thread()), "hello Bob"), "shown once it is stored, not before")
	f.queued(bobFP, "m1", "hello Bob")
	texts := shownTexts(c.thread())
	assert.True(t, containsText(texts, "hello Bob"), "the sent message shows: %q", texts)
	assert.True(t, containsText(texts, "sending…"), "it shows as sending: %q", texts)
}

func TestChat_ShiftEnterAddsNewline(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()

	test.Type(c.input, "first line")
	pressShiftEnter(c.input)
	test.Type(c.input, "second line")
	assert.Equal(t, "first line\nsecond line", c.input.Text)
	assert.Empty(t, f.ctrl.texts(), "Shift+Enter must not send")

	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter}) // keypad Enter sends too
	assert.Equal(t, []string{"first line\nsecond line"}, f.ctrl.texts())
}

func TestChat_SendButtonSendsAndEmptyInputDoesNothing(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()

	assert.True(t, c.send.Disabled(), "Send is disabled while the input is empty")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Type(c.input, "   ")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	assert.Empty(t, f.ctrl.texts())

	c.input.SetText("via button")
	require.False(t, c.send.Disabled())
	test.Tap(c.send)
	assert.Equal(t, []string{"via button"}, f.ctrl.texts())
}

// The input works for a contact whether online or not; for a key that is
// not a contact it works only while connected.
func TestChat_InputWorksForAContactOnlineOrNot(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	require.Equal(t, peerOffline, c.selected.state)

	assert.False(t, c.input.Disabled(), "the input works while Bob is offline")
	assert.True(t, c.bar.Visible())
	assert.Contains(t, c.barText.Text, "Not connected to Bob: what you write is sent once you are connected.")
	c.input.SetText("while you are away")
	assert.False(t, c.send.Disabled())
	test.Tap(c.send)
	assert.Equal(t, []string{"while you are away"}, f.ctrl.texts())

	f.comesIn(1, partner(session.TrustKnown))
	assert.False(t, c.input.Disabled())
	assert.False(t, c.bar.Visible())
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndPartnerLeft})
	assert.False(t, c.input.Disabled(), "and after a disconnect")

	// a new key, not a contact: only while connected
	dave := someone("Dave", daveFP, session.TrustNew)
	f.ctrl.emit(session.Request{Link: 5, Partner: dave})
	c.selectPeer(c.peers[daveFP])
	assert.True(t, c.input.Disabled(), "a request is decided first")
	c.input.SetText("too early")
	c.sendTapped()
	assert.Equal(t, []string{"while you are away"}, f.ctrl.texts(), "nothing sent to a key not let in")
}

func TestChat_IncomingMessageRenders(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()

	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "x1", From: "Bob", Text: "Hi Alice, can you read this?", Time: time.Now()}})

	texts := shownTexts(c.thread())
	assert.True(t, containsText(texts, "Hi Alice, can you read this?"), "%q", texts)
	assert.True(t, containsText(texts, "Bob  ·  "), "the partner's name labels the message: %q", texts)
}

func TestChat_DeliveredEventChangesTick(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	c.input.SetText("are you there?")
	test.Tap(c.send)
	f.queued(bobFP, "m1", "are you there?")
	require.True(t, containsText(shownTexts(c.thread()), "sending…"))

	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "m1"})

	texts := shownTexts(c.thread())
	assert.True(t, containsText(texts, "delivered"), "%q", texts)
	assert.False(t, containsText(texts, "sending…"), "%q", texts)
}

// A message the history did not take was neither stored nor sent: it is
// not shown, and its text goes back to the input.
func TestChat_MessageNotStoredGoesBackToTheInput(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	c.input.SetText("lost")
	test.Tap(c.send)
	require.Empty(t, c.input.Text)

	f.ctrl.emit(session.Failed{Contact: bobFP, ID: "m1", Err: errors.New("disk full")})
	assert.Equal(t, "lost", c.input.Text, "back in the input")
	assert.Contains(t, c.hint.Text, "could not be saved on this computer, so it was not sent")
	assert.False(t, containsText(shownTexts(c.thread()), "lost"), "never shown as a message")
	assert.Contains(t, dialogText(t, f.win), "could not be saved")
}

func TestChat_DisconnectShowsLineAndReconnect(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()

	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndPartnerLeft})

	assert.True(t, containsText(shownTexts(c.thread()), "Bob left the chat."))
	f.ctrl.emit(session.ReconnectPaused{Contact: bobFP})
	assert.Equal(t, "Connect", c.connect.Text)
	assert.Equal(t, bobFP, c.selected.id, "the window keeps the thread")
	before := len(f.ctrl.got(&f.ctrl.reconnects))
	test.Tap(c.connect)
	assert.Len(t, f.ctrl.got(&f.ctrl.reconnects), before+1, "Connect dials Bob at once")
	f.ctrl.emit(session.Handshaking{Link: 101, Addr: "192.168.1.31:9999", Contact: bobFP})
	assert.Equal(t, peerDialing, c.selected.state)
	assert.Equal(t, "Cancel", c.connect.Text)
	test.Tap(c.connect)
	assert.Equal(t, []string{"101"}, f.ctrl.cancelled)
}

// A partner who comes back finds the earlier messages in the same thread,
// the live ones and those read from the history.
func TestChat_ReconnectShowsEarlierMessagesInTheSameThread(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.says(1, bobFP, "x1", "first visit")
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndPartnerLeft})
	first := c.thread()

	f.comesIn(2, partner(session.TrustKnown))
	f.says(2, bobFP, "x2", "second visit")
	require.Same(t, first, c.thread(), "one thread per contact")
	texts := rowTexts(c.thread())
	for _, want := range []string{"Did the parcel arrive?", "first visit", "Bob left the chat.", "second visit"} {
		assert.True(t, containsText(texts, want), "%q missing from %q", want, texts)
	}
	assert.Equal(t, peerConnected, c.selected.state)
	assert.Equal(t, 2, len(f.ctrl.accepted), "a contact is let in without asking, each time")
}

func TestChat_TrustPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dialed   bool
		trust    session.Trust
		dialog   string // title of the dialog expected, "" for none
		request  bool   // listed under Requests
		accepted int
	}{
		{"caller, new key: a request", false, session.TrustNew, "", true, 0},
		{"caller, contact: accept", false, session.TrustKnown, "", false, 1},
		{"caller, verified: accept", false, session.TrustVerified, "", false, 1},
		{"caller, invited: accept", false, session.TrustInvited, "", false, 1},
		{"caller, changed key: a request", false, session.TrustChanged, "", true, 0},
		{"dialed, new key: ask", true, session.TrustNew, "First chat with Bob", false, 0},
		{"dialed, contact: accept", true, session.TrustKnown, "", false, 1},
		{"dialed, changed key: warn", true, session.TrustChanged, "Warning: Bob's key has changed", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.unlock()
			link := session.LinkID(7)
			if tc.dialed {
				f.ui.showChoose()
				f.ui.choose.addr.SetText("192.168.1.31")
				test.Tap(f.ui.choose.connButton)
				link = f.ctrl.lastLink()
			}
			f.ctrl.emit(session.Request{Link: link, Partner: partner(tc.trust)})
			assert.Equal(t, tc.accepted, len(f.ctrl.accepted))
			assert.Equal(t, tc.request, len(c.requests) == 1, "listed under Requests")
			if tc.dialog == "" {
				assert.Nil(t, c.dialog)
				return
			}
			require.NotNil(t, c.dialog)
			assert.Contains(t, dialogText(t, f.win), tc.dialog)
			assert.Equal(t, 0, len(f.ctrl.accepted), "nothing flows before the user decides")
		})
	}
}

func TestChat_RequestDialogAcceptAndDecline(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	dave := someone("Dave", daveFP, session.TrustNew)
	f.ctrl.emit(session.Request{Link: 3, Partner: dave})
	_, decline := c.requestButtons(daveFP)
	require.NotNil(t, decline)
	test.Tap(decline)
	assert.Equal(t, []string{daveFP}, f.ctrl.declined)
	assert.Empty(t, c.requests)

	f.ctrl.emit(session.Request{Link: 4, Partner: dave})
	accept, _ := c.requestButtons(daveFP)
	test.Tap(accept)
	assert.Contains(t, dialogText(t, f.win), "Dave wants to chat")
	assert.Empty(t, f.ctrl.accepted, "Accept… asks first, with the safety number")
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, []string{daveFP}, f.ctrl.accepted)
	assert.Empty(t, c.requests)
	f.ctrl.emit(session.Waiting{Link: 4, Partner: dave})
	assert.Equal(t, peerAwaiting, c.peers[daveFP].state)
	f.ctrl.emit(session.Connected{Link: 4, Partner: dave})
	assert.Equal(t, peerConnected, c.peers[daveFP].state)
	assert.True(t, c.peers[daveFP].listed, "Dave is a contact in the list now")
}

func TestChat_ChangedKeyCanBeTrusted(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	f.dials(7, bobFP)
	f.ctrl.emit(session.Request{Link: 7, Partner: partner(session.TrustChanged)})
	assert.True(t, containsText(shownTexts(c.thread()), "another key answered for Bob"))
	test.Tap(topDialogButton(t, f.win, "Trust new key"))
	assert.Equal(t, []string{bobFP}, f.ctrl.accepted)
}

func TestChat_VerifyMarksPartnerVerified(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	assert.Equal(t, "not verified", c.trust.Text)
	assert.Equal(t, "12345 67890 24680 13579 11223 34455\n66778 89900 10293 84756 56473 82910", c.safety.Text)

	test.Tap(c.verify)
	test.Tap(topDialogButton(t, f.win, "They match"))

	assert.Equal(t, []string{bobFP}, f.ctrl.verified)
	assert.Equal(t, "verified", c.trust.Text)
	assert.True(t, containsText(shownTexts(c.thread()), "Safety number verified"))
}

func TestChat_TitleNamesPartner(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	assert.Equal(t, "SecureChat", f.win.Title())
	f.selectContact(bobFP)
	assert.Equal(t, "SecureChat — Bob (not connected)", f.win.Title())
	f.comesIn(1, partner(session.TrustKnown))
	assert.Equal(t, "SecureChat — Bob", f.win.Title())
	f.comesIn(2, someone("Carol", carolFP, session.TrustKnown))
	f.says(2, carolFP, "k1", "hi")
	f.says(2, carolFP, "k2", "there")
	assert.Equal(t, "(2) SecureChat — Bob", f.win.Title(), "Carol's unread messages are counted")
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndPartnerLeft})
	assert.Equal(t, "(2) SecureChat — Bob (not connected)", f.win.Title())
	f.selectContact(carolFP)
	assert.Equal(t, "SecureChat — Carol", f.win.Title(), "read once shown")
}

func TestChat_NotificationWhenWindowNotFocused(t *testing.T) {
	f := newFixture(t, true)
	f.connected()
	msg := &session.Message{ID: "n1", From: "Bob", Text: "ping", Time: time.Now()}

	test.AssertNotificationSent(t, nil, func() {
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: *msg})
	})
	f.app.Lifecycle().(interface{ OnExitedForeground() func() }).OnExitedForeground()()
	msg2 := *msg
	msg2.ID = "n2"
	// the default shows the name only: see TestSettings_Notifications...
	test.AssertNotificationSent(t, fyne.NewNotification("SecureChat — Bob", "New message"), func() {
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: msg2})
	})
}

func TestChat_NetworkViewShowsWireBytes(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	wire := make([]byte, 60)
	for i := range wire {
		wire[i] = byte(0xa0 + i)
	}
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
		ID: "w1", From: "Bob", Text: "secret plans", Time: time.Now(), Wire: wire}})
	assert.False(t, containsText(shownTexts(c.thread()), "on the wire"))

	test.Tap(c.wireToggle)

	texts := shownTexts(c.thread())
	assert.True(t, containsText(texts, "on the wire: 60 bytes"), "%q", texts)
	assert.True(t, containsText(texts, "a0 a1 a2"), "%q", texts)
	assert.True(t, containsText(texts, "… d4 d5"), "the hex is shortened: %q", texts)
}

func TestChat_FollowsNewestUnlessScrolledUp(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	m := c.thread()
	add := func(i int) {
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
			ID: "f" + string(rune('a'+i%26)) + strings.Repeat("x", i), From: "Bob",
			Text: "message number " + strings.Repeat("long ", i%7), Time: time.Now()}})
	}
	for i := 0; i < 40; i++ {
		add(i)
	}
	require.Greater(t, m.contentHeight(), m.list.Size().Height, "enough to scroll")
	assert.True(t, m.atBottom(), "the newest message is in view")

	m.list.ScrollToTop()
	add(41)
	assert.False(t, m.atBottom(), "a new message must not pull a reader who scrolled up")
	assert.Zero(t, m.list.GetScrollOffset())

	m.list.ScrollToBottom()
	add(42)
	assert.True(t, m.atBottom())
}

// A connection started in the New chat dialog shows its progress there;
// Cancel stops it and the dialog keeps the address for another try.
func TestChat_CancelWhileConnectingKeepsTheDialog(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	f.ui.showChoose()
	s := f.ui.choose
	s.addr.SetText("192.168.1.50")
	test.Tap(s.connButton)
	link := f.ctrl.lastLink()
	require.True(t, s.progressBx.Visible())
	assert.Contains(t, s.progressLb.Text, "192.168.1.50:9999")
	assert.True(t, s.connButton.Disabled())

	test.Tap(s.cancel)
	assert.Equal(t, []string{fmt.Sprint(link)}, f.ctrl.cancelled)
	f.ctrl.emit(session.Ended{Link: link, Addr: "192.168.1.50:9999", Reason: session.EndCancelled})
	assert.False(t, s.progressBx.Visible())
	assert.False(t, s.connectErr.Visible(), "a cancel needs no explaining")
	assert.False(t, s.connButton.Disabled())
	assert.Equal(t, "192.168.1.50", s.addr.Text, "the address stays")
	assert.Same(t, s, f.ui.choose, "the dialog stays open")
}

func TestChat_HistoryErrorIsShown(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.ctrl.emit(session.HistoryError{Contact: bobFP, Err: errors.New("disk full")})
	assert.True(t, containsText(shownTexts(c.thread()), "The chat with Bob was stopped: its messages could not be saved"))
	text := dialogText(t, f.win)
	assert.Contains(t, text, "The chat with Bob was stopped", "a dialog tells the user")
	assert.NotContains(t, text, "disk full", "the error itself only on Details")
	test.Tap(topDialogButton(t, f.win, "Details"))
	assert.Contains(t, dialogText(t, f.win), "disk full")
}

func TestChat_TurnedAwayCallerIsMentioned(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	f.ctrl.emit(session.TurnedAway{Addr: "10.0.0.9:4000", Reason: session.EndBusy})
	assert.Contains(t, c.listenStatus.Text, "10.0.0.9")
	assert.Equal(t, peerConnected, c.selected.state, "the chat goes on")
}

// A message sent while the link broke waits; the session sends it again
// on the next link, and the one bubble becomes delivered.
func TestChat_MessageWaitsOverABrokenLinkAndIsDeliveredOnTheNext(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	c.input.SetText("while the link broke")
	test.Tap(c.send)
	f.queued(bobFP, "m1", "while the link broke")
	f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{ID: "m1", Outgoing: true, From: "Alice", Text: "while the link broke", Time: time.Now(), Wire: []byte{1}}})
	f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndTimeout})
	assert.True(t, containsText(shownTexts(c.thread()), "Bob stopped responding"))
	assert.True(t, containsText(shownTexts(c.thread()), "will be sent when Bob is online"))

	test.Tap(c.connect)
	f.ctrl.emit(session.Handshaking{Link: 7, Addr: "192.168.1.31:9999", Contact: bobFP})
	assert.Equal(t, peerDialing, c.selected.state)
	f.ctrl.emit(session.Request{Link: 7, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Connected{Link: 7, Partner: partner(session.TrustKnown)})
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the keyboard once connected again")
	f.ctrl.emit(session.MessageEvent{Link: 7, Contact: bobFP, Message: session.Message{ID: "m1", Outgoing: true, From: "Alice", Text: "while the link broke", Time: time.Now(), Wire: []byte{2}}})
	f.ctrl.emit(session.Delivered{Contact: bobFP, ID: "m1"})

	assert.Equal(t, statusDelivered, c.thread().byID["m1"].status)
	assert.Equal(t, 1, strings.Count(strings.Join(rowTexts(c.thread()), "\n"), "while the link broke"), "one bubble")
	assert.Empty(t, f.ctrl.dialed, "the session dials; the app only asks it to")
}

// The input is one line tall, grows with its text and stops at five
// lines, after which it scrolls.
func TestChat_InputGrowsUpToFiveLines(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	require.Greater(t, c.input.Size().Width, float32(100), "the input is laid out")

	height := func(text string) float32 {
		c.input.SetText(text)
		return c.input.MinSize().Height
	}
	one := height("")
	assert.Equal(t, one, height("one line"))
	two := height("one\ntwo")
	line := two - one
	require.Greater(t, line, float32(10), "a second line makes it taller")
	assert.Equal(t, one+2*line, height("one\ntwo\nthree"))
	five := height("1\n2\n3\n4\n5")
	assert.Equal(t, one+4*line, five)
	assert.Equal(t, five, height("1\n2\n3\n4\n5\n6\n7\n8"), "it stops growing at five lines")

	long := strings.Repeat("wrapping words ", 40) // one line, wrapped
	assert.Greater(t, height(long), one, "wrapped lines count")

	pressShiftEnter(c.input) // typing a new line grows it too
	c.input.SetText("")
	test.Type(c.input, "a")
	pressShiftEnter(c.input)
	test.Type(c.input, "b")
	assert.Equal(t, two, c.input.MinSize().Height)
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	assert.Equal(t, one, c.input.MinSize().Height, "sending shrinks it back")
}

// A message that arrives while the reader is scrolled up shows a "New
// messages" button; it takes the reader to the newest and goes away.
func TestChat_NewMessagesButton(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	m := c.thread()
	n := 0
	add := func() {
		n++
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
			ID: fmt.Sprintf("n%d", n), From: "Bob", Text: fmt.Sprintf("message %d", n), Time: time.Now()}})
	}
	for range 40 {
		add()
	}
	require.True(t, m.atBottom())
	assert.False(t, m.newer.Visible(), "no button while following the newest")

	m.list.ScrollToTop()
	add()
	assert.True(t, m.newer.Visible(), "a message arrived out of view")
	assert.False(t, m.atBottom())

	test.Tap(m.newer)
	assert.True(t, m.atBottom(), "the button goes to the newest message")
	assert.False(t, m.newer.Visible())
	assert.True(t, containsText(shownTexts(m), "message 41"))
	assert.Equal(t, c.input, f.win.Canvas().Focused())

	// scrolling down to the newest by wheel also ends it
	m.list.ScrollToTop()
	add()
	require.True(t, m.newer.Visible())
	for i := 0; i < 1000 && !m.atBottom(); i++ {
		m.wheel.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -25)})
	}
	assert.True(t, m.atBottom())
	assert.False(t, m.newer.Visible())

	// what the user sends is always brought into view
	m.list.ScrollToTop()
	typeAndEnter(t, f, "mine")
	f.queueSent()
	assert.True(t, m.atBottom())
	assert.False(t, m.newer.Visible())
}

// One notch of the mouse wheel (25 pixels from Fyne on Linux) moves the
// list about three lines, as desktop apps do.
func TestChat_WheelScrollsAtANormalSpeed(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	for i := range 40 {
		f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
			ID: fmt.Sprintf("w%d", i), From: "Bob", Text: "text", Time: time.Now()}})
	}
	m := c.thread()
	m.list.ScrollToTop()
	m.wheel.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -25)})
	assert.Equal(t, float32(25*wheelStep), m.list.GetScrollOffset())
	line := fyne.MeasureText("Ag", m.Theme().Size(theme.SizeNameText), fyne.TextStyle{}).Height
	assert.InDelta(t, 3, m.list.GetScrollOffset()/line, 0.8, "about three lines a notch")
	m.wheel.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, 25)})
	assert.Zero(t, m.list.GetScrollOffset())
}

// At the window's minimum size the status and the whole safety number
// are readable, and there is room for messages.
func TestChat_HeaderReadableAtMinimumSize(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	min := c.content.MinSize()
	assert.GreaterOrEqual(t, min.Width, chatMinSize.Width)
	assert.GreaterOrEqual(t, min.Height, chatMinSize.Height)
	assert.LessOrEqual(t, min.Width, chatMinSize.Width+1, "the minimum is the one chosen")
	f.win.Resize(min)
	capture(f)

	fits := func(text string, size float32, style fyne.TextStyle, width float32) {
		t.Helper()
		th := c.status.Theme()
		for _, line := range strings.Split(text, "\n") {
			w := fyne.MeasureText(line, size, style).Width + 2*th.Size(theme.SizeNameInnerPadding)
			assert.LessOrEqual(t, w, width+0.5, "%q is cut at the minimum width", line)
		}
	}
	label := func(l *widget.Label) {
		t.Helper()
		th := l.Theme()
		size := th.Size(theme.SizeNameText)
		if l.SizeName != "" {
			size = th.Size(l.SizeName)
		}
		fits(l.Text, size, l.TextStyle, l.Size().Width)
	}
	label(c.status)
	label(c.safety)
	label(c.trust)
	th := c.status.Theme()
	icon := th.Size(theme.SizeNameInlineIcon) + th.Size(theme.SizeNamePadding)
	fits(c.partnerLbl.Text, th.Size(theme.SizeNameText), fyne.TextStyle{Bold: true}, c.partnerLbl.Size().Width-icon)
	assert.GreaterOrEqual(t, c.thread().Size().Height, float32(200), "room for messages")
	assert.GreaterOrEqual(t, c.list.Size().Width, float32(180), "the contact list stays usable")

	// the longest statuses fit too
	f.ctrl.emit(session.Waiting{Link: 1, Partner: partner(session.TrustKnown)})
	c.selected.state = peerAwaiting
	c.refreshThread()
	f.win.Resize(min)
	capture(f)
	label(c.status)
}
