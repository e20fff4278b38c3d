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
	c := f.connected(roleHost)

	focused := f.win.Canvas().Focused()
	require.Equal(t, c.input, focused, "the input has the focus once connected")
	test.Type(focused, "hello Bob")
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})

	assert.Equal(t, []string{"hello Bob"}, f.ctrl.sent)
	assert.Empty(t, c.input.Text, "the input is cleared after sending")
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "focus returns to the input")
	texts := shownTexts(c.messages)
	assert.True(t, containsText(texts, "hello Bob"), "the sent message shows: %q", texts)
	assert.True(t, containsText(texts, "sending…"), "it shows as sending: %q", texts)
}

func TestChat_ShiftEnterAddsNewline(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)

	test.Type(c.input, "first line")
	pressShiftEnter(c.input)
	test.Type(c.input, "second line")
	assert.Equal(t, "first line\nsecond line", c.input.Text)
	assert.Empty(t, f.ctrl.sent, "Shift+Enter must not send")

	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter}) // keypad Enter sends too
	assert.Equal(t, []string{"first line\nsecond line"}, f.ctrl.sent)
}

func TestChat_SendButtonSendsAndEmptyInputDoesNothing(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleConnect)

	assert.True(t, c.send.Disabled(), "Send is disabled while the input is empty")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Type(c.input, "   ")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	assert.Empty(t, f.ctrl.sent)

	c.input.SetText("via button")
	require.False(t, c.send.Disabled())
	test.Tap(c.send)
	assert.Equal(t, []string{"via button"}, f.ctrl.sent)
}

func TestChat_SendDisabledWhileDisconnected(t *testing.T) {
	f := newFixture(t, true)
	c := f.chatAs(roleConnect)
	require.Equal(t, stateConnecting, c.state)

	test.Type(c.input, "too early")
	assert.True(t, c.send.Disabled(), "Send is disabled before the partner is connected")
	c.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	assert.Empty(t, f.ctrl.sent)
	assert.Equal(t, "too early", c.input.Text, "the text stays in the input")
	assert.True(t, c.hint.Visible(), "a hint says why nothing was sent")

	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
	assert.False(t, c.send.Disabled())

	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})
	assert.True(t, c.send.Disabled(), "Send is disabled again after a disconnect")
}

func TestChat_IncomingMessageRenders(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)

	f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &session.Message{
		ID: "x1", From: "Bob", Text: "Hi Alice, can you read this?", Time: time.Now()}})

	texts := shownTexts(c.messages)
	assert.True(t, containsText(texts, "Hi Alice, can you read this?"), "%q", texts)
	assert.True(t, containsText(texts, "Bob  ·  "), "the partner's name labels the message: %q", texts)
}

func TestChat_DeliveredEventChangesTick(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	c.input.SetText("are you there?")
	test.Tap(c.send)
	require.True(t, containsText(shownTexts(c.messages), "sending…"))

	f.ctrl.emit(session.Event{Kind: session.EventDelivered, ID: "m1"})

	texts := shownTexts(c.messages)
	assert.True(t, containsText(texts, "delivered"), "%q", texts)
	assert.False(t, containsText(texts, "sending…"), "%q", texts)
}

func TestChat_FailedMessageOffersRetry(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleConnect)
	c.input.SetText("lost")
	test.Tap(c.send)

	f.ctrl.emit(session.Event{Kind: session.EventFailed, ID: "m1", Reason: "connection lost"})
	require.True(t, containsText(shownTexts(c.messages), "not delivered: connection lost"))

	var retry *bubble
	for _, o := range test.LaidOutObjects(c.messages) {
		if b, ok := o.(*bubble); ok && b.Visible() && b.r.id == "m1" {
			retry = b
		}
	}
	require.NotNil(t, retry)
	require.True(t, retry.rend.button.Visible(), "a failed message shows Retry")
	test.Tap(retry.rend.button)
	assert.Equal(t, []string{"m1"}, f.ctrl.retried)
	assert.True(t, containsText(shownTexts(c.messages), "sending…"))
}

func TestChat_DisconnectShowsLineAndReconnect(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleConnect)

	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})

	assert.True(t, containsText(shownTexts(c.messages), "Partner has disconnected"))
	assert.Equal(t, "Reconnect", c.action.Text)
	assert.Equal(t, f.ui.chat, c, "the window keeps the conversation")
	test.Tap(c.action)
	assert.Equal(t, []string{"192.168.1.20:9999 ab12"}, f.ctrl.dialed, "the same address, expecting the key reached before")
	assert.Equal(t, stateConnecting, c.state)
}

func TestChat_HostWaitsAgainAfterDisconnect(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	assert.Equal(t, ":9999", f.hostAddr)

	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})
	require.Equal(t, "Wait again", c.action.Text)
	test.Tap(c.action)
	assert.Equal(t, stateListening, c.state)

	// the same controller lets the next partner in, in the same view
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
	assert.Equal(t, stateConnected, c.state)
	assert.Equal(t, 2, f.ctrl.accepted)
}

func TestChat_TrustPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		role     role
		trust    session.Trust
		dialog   string // title of the dialog expected, "" for none
		accepted int
	}{
		{"host, new key: ask", roleHost, session.TrustNew, "Bob wants to chat", 0},
		{"host, contact: accept", roleHost, session.TrustKnown, "", 1},
		{"host, verified: accept", roleHost, session.TrustVerified, "", 1},
		{"host, invited: accept", roleHost, session.TrustInvited, "", 1},
		{"connect, new key: ask too", roleConnect, session.TrustNew, "First chat with Bob", 0},
		{"connect, contact: accept", roleConnect, session.TrustKnown, "", 1},
		{"connect, changed key: warn", roleConnect, session.TrustChanged, "Warning: Bob's key has changed", 0},
		{"host, changed key: warn", roleHost, session.TrustChanged, "Warning: Bob's key has changed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.chatAs(tc.role)
			f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(tc.trust)})
			assert.Equal(t, tc.accepted, f.ctrl.accepted)
			if tc.dialog == "" {
				assert.Nil(t, c.dialog)
				return
			}
			require.NotNil(t, c.dialog)
			assert.NotNil(t, f.win.Canvas().Overlays().Top())
			assert.Equal(t, 0, f.ctrl.accepted, "nothing flows before the user decides")
		})
	}
}

func TestChat_RequestDialogAcceptAndDecline(t *testing.T) {
	f := newFixture(t, true)
	c := f.chatAs(roleHost)
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustNew)})
	test.Tap(topDialogButton(t, f.win, "Decline"))
	assert.Equal(t, 1, f.ctrl.declined)
	assert.Equal(t, 0, f.ctrl.accepted)

	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustNew)})
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, 1, f.ctrl.accepted)
	f.ctrl.emit(session.Event{Kind: session.EventWaitingForPartner, Partner: partner(session.TrustKnown)})
	assert.Equal(t, stateAwaiting, c.state)
}

func TestChat_ChangedKeyCanBeTrusted(t *testing.T) {
	f := newFixture(t, true)
	c := f.chatAs(roleConnect)
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustChanged)})
	assert.True(t, containsText(shownTexts(c.messages), "another key answered for Bob"))
	test.Tap(topDialogButton(t, f.win, "Trust new key"))
	assert.Equal(t, 1, f.ctrl.accepted)
}

func TestChat_VerifyMarksPartnerVerified(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	assert.Equal(t, "not verified", c.trust.Text)
	assert.Equal(t, "12345 67890 24680 13579 11223 34455\n66778 89900 10293 84756 56473 82910", c.safety.Text)

	test.Tap(c.verify)
	test.Tap(topDialogButton(t, f.win, "They match"))

	assert.Equal(t, 1, f.ctrl.verified)
	assert.Equal(t, "verified", c.trust.Text)
	assert.True(t, containsText(shownTexts(c.messages), "Safety number verified"))
}

func TestChat_TitleNamesPartner(t *testing.T) {
	f := newFixture(t, true)
	c := f.chatAs(roleConnect)
	assert.Equal(t, "SecureChat — connecting to 192.168.1.20:9999", f.win.Title())
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
	assert.Equal(t, "SecureChat — Bob", f.win.Title())
	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})
	assert.Equal(t, "SecureChat — Bob (not connected)", f.win.Title())
	test.Tap(c.action)
	assert.Equal(t, "SecureChat — reconnecting to Bob", f.win.Title())
}

func TestChat_NotificationWhenWindowNotFocused(t *testing.T) {
	f := newFixture(t, true)
	f.connected(roleHost)
	msg := &session.Message{ID: "n1", From: "Bob", Text: "ping", Time: time.Now()}

	test.AssertNotificationSent(t, nil, func() {
		f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: msg})
	})
	f.app.Lifecycle().(interface{ OnExitedForeground() func() }).OnExitedForeground()()
	msg2 := *msg
	msg2.ID = "n2"
	// the default shows the name only: see TestSettings_Notifications...
	test.AssertNotificationSent(t, fyne.NewNotification("SecureChat — Bob", "New message"), func() {
		f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &msg2})
	})
}

func TestChat_NetworkViewShowsWireBytes(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	wire := make([]byte, 60)
	for i := range wire {
		wire[i] = byte(0xa0 + i)
	}
	f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &session.Message{
		ID: "w1", From: "Bob", Text: "secret plans", Time: time.Now(), Wire: wire}})
	assert.False(t, containsText(shownTexts(c.messages), "on the wire"))

	test.Tap(c.wireToggle)

	texts := shownTexts(c.messages)
	assert.True(t, containsText(texts, "on the wire: 60 bytes"), "%q", texts)
	assert.True(t, containsText(texts, "a0 a1 a2"), "%q", texts)
	assert.True(t, containsText(texts, "… d4 d5"), "the hex is shortened: %q", texts)
}

func TestChat_FollowsNewestUnlessScrolledUp(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	m := c.messages
	add := func(i int) {
		f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &session.Message{
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

func TestChat_CancelWhileWaitingReturnsToChoice(t *testing.T) {
	f := newFixture(t, true)
	c := f.chatAs(roleHost)
	f.ctrl.emit(session.Event{Kind: session.EventListening, Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	assert.True(t, c.waiting.Visible())
	assert.Contains(t, c.waitText.Text, "192.168.1.20:9999")

	test.Tap(c.waitCancel)
	assert.Nil(t, f.ui.chat)
	assert.True(t, f.ctrl.closed)
	assert.NotNil(t, f.ui.choose)
}

func TestChat_HistoryErrorIsShown(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	f.ctrl.emit(session.Event{Kind: session.EventHistoryError, Err: errors.New("disk full")})
	assert.True(t, containsText(shownTexts(c.messages), "This chat is not being saved: disk full"))
	assert.NotNil(t, f.win.Canvas().Overlays().Top(), "an error dialog tells the user")
}

func TestChat_TurnedAwayCallerIsMentioned(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	f.ctrl.emit(session.Event{Kind: session.EventTurnedAway, Addr: "10.0.0.9:4000"})
	assert.True(t, containsText(shownTexts(c.messages), "10.0.0.9:4000"))
	assert.Equal(t, stateConnected, c.state, "the chat goes on")
}

func TestChat_RetryAfterReconnect(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleConnect)
	c.input.SetText("while the link broke")
	test.Tap(c.send)
	f.ctrl.emit(session.Event{Kind: session.EventFailed, ID: "m1", Reason: "connection lost"})
	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Connection lost"})

	test.Tap(c.action) // Reconnect
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustKnown)})
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
	c.retry("m1")
	f.ctrl.emit(session.Event{Kind: session.EventDelivered, ID: "m1"})

	assert.Equal(t, []string{"m1"}, f.ctrl.retried)
	assert.Equal(t, statusDelivered, c.messages.byID["m1"].status)
	assert.Len(t, f.ctrl.dialed, 1)
}

// The input is one line tall, grows with its text and stops at five
// lines, after which it scrolls.
func TestChat_InputGrowsUpToFiveLines(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
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
	c := f.connected(roleHost)
	m := c.messages
	n := 0
	add := func() {
		n++
		f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &session.Message{
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
	assert.True(t, m.atBottom())
	assert.False(t, m.newer.Visible())
}

// One notch of the mouse wheel (25 pixels from Fyne on Linux) moves the
// list about three lines, as desktop apps do.
func TestChat_WheelScrollsAtANormalSpeed(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected(roleHost)
	for i := range 40 {
		f.ctrl.emit(session.Event{Kind: session.EventMessage, Message: &session.Message{
			ID: fmt.Sprintf("w%d", i), From: "Bob", Text: "text", Time: time.Now()}})
	}
	m := c.messages
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
	c := f.connected(roleHost)
	min := c.content.MinSize()
	assert.GreaterOrEqual(t, min.Width, chatMinSize.Width)
	assert.GreaterOrEqual(t, min.Height, chatMinSize.Height)
	f.win.Resize(min)
	capture(f)

	fits := func(l *widget.Label) {
		t.Helper()
		th := l.Theme()
		size := th.Size(theme.SizeNameText)
		if l.SizeName != "" {
			size = th.Size(l.SizeName)
		}
		for _, line := range strings.Split(l.Text, "\n") {
			w := fyne.MeasureText(line, size, l.TextStyle).Width + 2*th.Size(theme.SizeNameInnerPadding)
			assert.LessOrEqual(t, w, l.Size().Width+0.5, "%q is cut at the minimum width", line)
		}
	}
	fits(c.status)
	fits(c.safety)
	fits(c.partnerLbl)
	fits(c.trust)
	assert.GreaterOrEqual(t, c.messages.Size().Height, float32(200), "room for messages")

	// the longest statuses fit too
	f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})
	f.win.Resize(min)
	capture(f)
	require.Equal(t, "Not connected · still listening on port 9999", c.status.Text)
	fits(c.status)
}
