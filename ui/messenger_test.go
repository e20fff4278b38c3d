package ui

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/session"
)

// Three partners chat with us at once: each message lands in its own
// thread, the threads not shown count their unread messages, and what we
// type goes to the contact shown.
func TestMessenger_ThreePartnersChatAtOnce(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.comesIn(1, partner(session.TrustKnown))
	f.comesIn(2, someone("Carol", carolFP, session.TrustKnown))
	f.comesIn(3, someone("Dave", daveFP, session.TrustInvited))
	f.selectContact(bobFP)

	f.says(1, bobFP, "b1", "from Bob")
	f.says(2, carolFP, "c1", "from Carol")
	f.says(3, daveFP, "d1", "from Dave")
	f.says(3, daveFP, "d2", "Dave again")

	assert.True(t, containsText(rowTexts(c.peers[bobFP].thread), "from Bob"))
	assert.False(t, containsText(rowTexts(c.peers[bobFP].thread), "from Carol"), "nothing of Carol's in Bob's thread")
	assert.True(t, containsText(rowTexts(c.peers[carolFP].thread), "from Carol"))
	assert.False(t, containsText(rowTexts(c.peers[carolFP].thread), "Dave"))
	assert.Equal(t, []string{"Connected to Dave. Messages are end-to-end encrypted.", "from Dave", "Dave again"}, rowTexts(c.peers[daveFP].thread))

	assert.Equal(t, 0, c.viewOf(c.peers[bobFP]).unread, "the thread shown is read")
	assert.Equal(t, 1, c.viewOf(c.peers[carolFP]).unread)
	assert.Equal(t, 2, c.viewOf(c.peers[daveFP]).unread)
	assert.True(t, c.viewOf(c.peers[carolFP]).online)
	assert.Equal(t, "Dave again", c.viewOf(c.peers[daveFP]).preview)
	assert.Equal(t, daveFP, c.order[0].id, "the newest activity is listed first")
	assert.Equal(t, "(3) SecureChat — Bob", f.win.Title())

	typeAndEnter(t, f, "to Bob")
	f.selectContact(daveFP)
	assert.Equal(t, 0, c.viewOf(c.peers[daveFP]).unread, "read once shown")
	assert.Contains(t, f.vault.marked, daveFP, "and the vault is told")
	typeAndEnter(t, f, "to Dave")
	f.queueSent()
	assert.Equal(t, []sentMsg{{bobFP, "to Bob", "m1"}, {daveFP, "to Dave", "m2"}}, f.ctrl.sent)
	assert.True(t, containsText(rowTexts(c.peers[daveFP].thread), "to Dave"))
	assert.False(t, containsText(rowTexts(c.peers[bobFP].thread), "to Dave"))

	// one leaves; the others go on
	f.ctrl.emit(session.Ended{Link: 2, Contact: carolFP, Connected: true, Reason: session.EndPartnerLeft})
	assert.False(t, c.viewOf(c.peers[carolFP]).online)
	assert.True(t, c.viewOf(c.peers[daveFP]).online)
	typeAndEnter(t, f, "still here")
	assert.Equal(t, sentMsg{daveFP, "still here", "m3"}, f.ctrl.sent[2])
}

// A request from an unknown key while chatting waits under Requests, with
// a notification; the thread shown, the text being typed and the focus are
// left alone.
func TestMessenger_RequestWhileChattingLeavesTheThreadAndInputAlone(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	test.Type(c.input, "half a sen")
	thread := c.thread()

	eve := someone("Eve", eveFP, session.TrustNew)
	test.AssertNotificationSent(t, fyne.NewNotification("SecureChat — request", "Eve wants to chat"), func() {
		f.ctrl.emit(session.Handshaking{Link: 8, Addr: "10.0.0.5:4000", Incoming: true},
			session.Request{Link: 8, Partner: eve})
	})
	require.Len(t, c.requests, 1)
	assert.True(t, c.requestsHead.Visible())
	assert.Equal(t, "Requests (1)", c.requestsHead.Text)
	assert.Nil(t, f.win.Canvas().Overlays().Top(), "no dialog pops up")
	assert.Equal(t, bobFP, c.selected.id)
	assert.Same(t, thread, c.thread())
	assert.Equal(t, "half a sen", c.input.Text)
	assert.Equal(t, c.input, f.win.Canvas().Focused())
	assert.False(t, c.peers[eveFP].listed, "not a contact before it is accepted")

	test.Type(f.win.Canvas().Focused(), "tence")
	f.win.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	assert.Equal(t, []sentMsg{{bobFP, "half a sentence", "m1"}}, f.ctrl.sent)

	// the caller gives up: the request goes
	f.ctrl.emit(session.Ended{Link: 8, Contact: eveFP, Reason: session.EndTimeout})
	assert.Empty(t, c.requests)
	assert.False(t, c.requestsHead.Visible())
}

// Delete contact and history asks first, naming the contact; then the
// vault forgets both and the contact leaves the list.
func TestMessenger_DeleteContactAsksThenRemovesIt(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(carolFP)
	test.Tap(c.partnerLbl)
	d := f.ui.details
	require.NotNil(t, d)

	test.Tap(d.delete)
	text := dialogText(t, f.win)
	assert.Contains(t, text, "Delete Carol and all your messages with Carol")
	test.Tap(topDialogButton(t, f.win, "Cancel"))
	assert.Empty(t, f.vault.deleted)
	assert.Len(t, c.order, 2)

	test.Tap(d.delete)
	test.Tap(topDialogButton(t, f.win, "Delete"))
	assert.Equal(t, []string{carolFP}, f.vault.deleted)
	require.Len(t, c.order, 1)
	assert.Equal(t, bobFP, c.order[0].id)
	assert.Nil(t, c.selected)
	assert.Nil(t, f.ui.details, "the details are closed")
	assert.Equal(t, "SecureChat", f.win.Title())
}

// Deleting a connected contact says goodbye to it first.
func TestMessenger_DeleteConnectedContactDisconnects(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	test.Tap(c.partnerLbl)
	test.Tap(f.ui.details.delete)
	test.Tap(topDialogButton(t, f.win, "Delete"))
	assert.Equal(t, []string{bobFP}, f.ctrl.byes)
	assert.Equal(t, []string{bobFP}, f.vault.deleted)
	assert.NotContains(t, c.peers, bobFP)
}

// A new name shows everywhere at once: the list, the header, the window
// title and the partner's messages.
func TestMessenger_RenameShowsEverywhere(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.says(1, bobFP, "r1", "hello")
	test.Tap(c.partnerLbl)
	d := f.ui.details
	require.NotNil(t, d)
	assert.Equal(t, "Bob", d.name.Text)

	d.name.SetText("Bobby (work)")
	test.Tap(d.rename)
	assert.Equal(t, "Bobby (work)", f.vault.contacts[0].Name)
	assert.Equal(t, "Bobby (work)", c.viewOf(c.peers[bobFP]).name)
	assert.Equal(t, "Bobby (work)", c.partnerLbl.Text)
	assert.Equal(t, "SecureChat — Bobby (work)", f.win.Title())
	assert.Equal(t, "Bobby (work)", c.thread().byID["r1"].from)
	test.Tap(topDialogButton(t, f.win, "Close"))

	d.name.SetText("  ")
	test.Tap(d.rename)
	assert.True(t, d.nameErr.Visible(), "a name cannot be empty")
}

// testIdentity reads one of the crypto package's test identities.
func testIdentity(t *testing.T, name string) *crypto.Identity {
	t.Helper()
	b, err := os.ReadFile("../crypto/testdata/identity-" + name + ".hex")
	require.NoError(t, err)
	der, err := hex.DecodeString(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	id, err := crypto.ParseIdentity(der)
	require.NoError(t, err)
	return id
}

// The details show what identifies a contact, offline too: the safety
// number comes from the two keys.
func TestMessenger_DetailsShowKeyAndSafetyNumberOffline(t *testing.T) {
	f := newFixture(t, true)
	me, them := testIdentity(t, "alice"), testIdentity(t, "bob")
	f.vault.ident = me
	f.vault.contacts[0].Key = them.Public().Bytes()
	f.vault.contacts[0].ID = them.Public().Fingerprint()
	f.vault.threads[them.Public().Fingerprint()] = f.vault.threads[bobFP]
	delete(f.vault.threads, bobFP)
	c := f.unlock()
	id := them.Public().Fingerprint()
	f.selectContact(id)
	want := crypto.SafetyNumber(me.Public(), them.Public())
	assert.Equal(t, twoLines(want), c.safety.Text, "the header has it offline")

	test.Tap(c.partnerLbl)
	text := dialogText(t, f.win)
	assert.Contains(t, text, twoLines(want))
	assert.Contains(t, text, id[:4]+" "+id[4:8], "the fingerprint in groups")
	assert.Contains(t, text, "192.168.1.31:9999")
	assert.Contains(t, text, "No: compare the safety number")

	test.Tap(f.ui.details.verify)
	test.Tap(topDialogButton(t, f.win, "They match"))
	assert.Equal(t, []string{id}, f.ctrl.verified, "verified offline")
	assert.Equal(t, "verified", c.trust.Text)
}

// Listening is app state: started from the status line, remembered, and
// started again at the next unlock; a port in use is said in words.
func TestMessenger_ListeningIsRememberedAndRestartedAtUnlock(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	assert.Contains(t, c.listenStatus.Text, "Not listening")
	test.Tap(c.listenToggle)
	require.Equal(t, []string{":9999"}, f.ctrl.listens)
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	assert.Equal(t, "Listening on 192.168.1.20:9999", c.listenStatus.Text)
	assert.Equal(t, "Stop", c.listenToggle.Text)
	assert.Equal(t, "SecureChat — waiting on port 9999", f.win.Title())

	// the next start of the app listens again
	again := newFixture(t, true)
	assert.True(t, f.vault.settings.Listen, "in the profile's settings")
	again.vault.settings = f.vault.settings
	again.vault.settings.ListenPort = 4242
	again.unlock()
	assert.Equal(t, []string{":4242"}, again.ctrl.listens, "on at unlock, on the remembered port")

	test.Tap(c.listenToggle)
	assert.Equal(t, 1, f.ctrl.stops)
	f.ctrl.emit(session.ListenStopped{})
	assert.Equal(t, "Listen", c.listenToggle.Text)
	assert.False(t, f.vault.settings.Listen, "stopped: not on at the next unlock")
	assert.Equal(t, 9999, f.vault.settings.ListenPort, "the port is kept")

	f.ctrl.listenErr = fmt.Errorf("session: listen on :9999: %w", session.ErrPortInUse)
	test.Tap(c.listenToggle)
	assert.Equal(t, "Port 9999 is used by another program. Choose another port.", c.listenStatus.Text)
}

// At the first start the New chat dialog opens; a failed connection says
// why in words (the error itself on request) and keeps the address; a
// connection that comes through closes the dialog and shows the thread.
func TestMessenger_FirstStartNewChatAndDialFailuresInWords(t *testing.T) {
	f := newFixture(t, true)
	f.fresh()
	c := f.unlock()
	s := f.ui.choose
	require.NotNil(t, s, "no contacts yet: the New chat dialog opens")
	assert.Equal(t, "SecureChat — Host or Connect", f.win.Title())
	assert.True(t, c.nothing.Visible())

	s.addr.SetText("127.0.0.1")
	s.connectPort.SetText("32999")
	test.Tap(s.connButton)
	f.ctrl.emit(session.Ended{Link: f.ctrl.lastLink(), Addr: "127.0.0.1:32999", Reason: session.EndRefused,
		Err: errors.New("dial tcp 127.0.0.1:32999: connect: connection refused")})
	assert.Equal(t, "Nobody is listening at 127.0.0.1:32999. Is SecureChat hosting there?", s.connectErr.Text)
	assert.Equal(t, "127.0.0.1", s.addr.Text, "the address stays for another try")
	require.True(t, s.errDetails.Visible())
	test.Tap(s.errDetails)
	assert.Contains(t, dialogText(t, f.win), "connect: connection refused")
	test.Tap(topDialogButton(t, f.win, "Close"))

	// closed and opened again: the address tried is filled in
	s.dialog.Hide()
	s = f.newChat()
	assert.Equal(t, "127.0.0.1", s.addr.Text)
	assert.Equal(t, "32999", s.connectPort.Text)

	test.Tap(s.connButton)
	link := f.ctrl.lastLink()
	f.ctrl.emit(session.Handshaking{Link: link, Addr: "127.0.0.1:32999"})
	assert.Contains(t, s.progressLb.Text, "Securing the connection")
	f.ctrl.emit(session.Request{Link: link, Partner: partner(session.TrustNew)})
	test.Tap(topDialogButton(t, f.win, "Accept"))
	f.ctrl.emit(session.Waiting{Link: link, Partner: partner(session.TrustNew)})
	f.ctrl.emit(session.Connected{Link: link, Partner: partner(session.TrustNew)})
	assert.Nil(t, f.ui.choose, "connected: the dialog is done")
	require.NotNil(t, c.selected)
	assert.Equal(t, bobFP, c.selected.id)
	assert.Equal(t, "SecureChat — Bob", f.win.Title())
	assert.Equal(t, c.input, f.win.Canvas().Focused())
	assert.Equal(t, []string{"127.0.0.1:32999"}, f.vault.recent, "the address is remembered")
}

// Every end of a link reads as a sentence.
func TestWords_EndReasons(t *testing.T) {
	for _, tc := range []struct {
		r    session.EndReason
		who  string
		want string
	}{
		{session.EndRefused, "", "Nobody is listening at 127.0.0.1:32999. Is SecureChat hosting there?"},
		{session.EndNotSecureChat, "", "That address does not speak SecureChat."},
		{session.EndPartnerDeclined, "Bob", "Bob declined."},
		{session.EndBusy, "Alice", "Alice is busy. Try again in a moment."},
		{session.EndPartnerLeft, "Bob", "Bob left the chat."},
		{session.EndTimeout, "Bob", "Bob stopped responding."},
		{session.EndWrongKey, "", "Someone else answered at 127.0.0.1:32999"},
		{session.EndNotAdmitted, "Carol", "Carol lets in only their contacts"},
	} {
		assert.Contains(t, endWords(tc.r, tc.who, "127.0.0.1:32999", ""), tc.want)
	}
	for r := session.EndWeLeft; r <= session.EndNetwork; r++ {
		w := endWords(r, "Bob", "", "")
		assert.NotEmpty(t, w, r.String())
		assert.NotContains(t, w, "session:", "no Go error text")
	}
	assert.Equal(t, `Bob left the chat ("gone \"fishing\"").`, endWords(session.EndPartnerLeft, "Bob", "", `gone "fishing"`), "their words are quoted")
	assert.Equal(t, "Port 32202 is used by another program. Choose another port.",
		listenWords(fmt.Errorf("x: %w", session.ErrPortInUse), "32202"))
}

// Unread counts come from the vault's read marks plus live messages; a
// thread shown in a focused window is read.
func TestMessenger_UnreadCountsFromTheVault(t *testing.T) {
	f := newFixture(t, true)
	f.vault.read[carolFP] = 0
	c := f.unlock()
	assert.Equal(t, 1, c.viewOf(c.peers[carolFP]).unread)
	assert.Equal(t, "(1) SecureChat", f.win.Title())

	f.selectContact(carolFP)
	assert.Equal(t, 0, c.viewOf(c.peers[carolFP]).unread)
	assert.Equal(t, []string{carolFP}, f.vault.marked)

	f.comesIn(2, someone("Carol", carolFP, session.TrustKnown))
	lifecycle := f.app.Lifecycle().(interface {
		OnExitedForeground() func()
		OnEnteredForeground() func()
	})
	lifecycle.OnExitedForeground()()
	f.says(2, carolFP, "u1", "while you were away")
	assert.Equal(t, 1, c.viewOf(c.peers[carolFP]).unread, "not read while the window is in the background")
	lifecycle.OnEnteredForeground()()
	assert.Equal(t, 0, c.viewOf(c.peers[carolFP]).unread, "read when the window comes back")
}

// Events in any order, for links and keys never seen, leave the window
// working.
func TestMessenger_EventsInAnyOrderDoNotPanic(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	stranger := someone("Stranger", eveFP, session.TrustNew)
	f.ctrl.emit(
		session.Ended{Link: 40, Reason: session.EndNetwork},
		session.Ended{Link: 41, Contact: daveFP, Connected: true, Reason: session.EndPartnerLeft},
		session.MessageEvent{Link: 42, Message: session.Message{ID: "z", Text: "who?"}},
		session.Delivered{Contact: daveFP, ID: "nope"},
		session.Failed{ID: "nope", Reason: session.EndNetwork},
		session.Queued{Message: session.Message{ID: "q"}},
		session.Queued{Contact: eveFP, Message: session.Message{Text: "no id"}},
		session.MessageEvent{Contact: daveFP, Message: session.Message{ID: "o", Outgoing: true, Text: "before its Queued"}},
		session.Queued{Contact: daveFP, Message: session.Message{ID: "o", Outgoing: true, Text: "before its Queued"}},
		session.Cancelled{Contact: daveFP, ID: "o"},
		session.Delivered{Contact: daveFP, ID: "o"},
		session.Cancelled{ID: "nope"},
		session.Reconnecting{Contact: "unknown", At: time.Now().Add(time.Hour)},
		session.Reconnecting{},
		session.ReconnectPaused{Contact: "unknown"},
		session.ReconnectPaused{},
		session.Waiting{Link: 43, Partner: stranger},
		session.Connected{Link: 44},
		session.Request{Link: 45},
		session.Ended{Link: 44},
		session.Handshaking{Link: 46, Contact: bobFP},
		session.Ended{Link: 46, Contact: bobFP, Reason: session.EndReplaced},
		session.HistoryError{Contact: "unknown"},
		session.ListenStopped{},
		session.TurnedAway{},
		session.Listening{},
	)
	for i := 0; i < 20 && f.win.Canvas().Overlays().Top() != nil; i++ {
		f.win.Canvas().Overlays().Remove(f.win.Canvas().Overlays().Top()) // the problem dialogs
	}
	f.win.Canvas().Focus(c.input)
	assert.Equal(t, peerConnected, c.peers[bobFP].state, "an old or failed link of Bob's does not end his chat")
	assert.Equal(t, bobFP, c.selected.id)
	typeAndEnter(t, f, "still working")
	assert.Equal(t, []string{"still working"}, f.ctrl.texts())
	dave := c.peers[daveFP].thread
	require.NotNil(t, dave)
	assert.Equal(t, 1, countRows(dave, "o"), "an outgoing message shown before its Queued: one bubble")
	assert.Equal(t, statusCancelled, dave.byID["o"].status, "cancelled stays cancelled")

	f.ctrl.events <- session.Closed{}
	<-c.done // the reader stops after Closed
	c.handle(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{ID: "late", Text: "after the end"}})
	assert.NotContains(t, c.thread().byID, "late", "nothing is shown after Closed")
}

// At the minimum size the contact list narrows and the thread keeps room.
func TestMessenger_MinimumSize(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.win.Resize(c.content.MinSize())
	capture(f)
	assert.GreaterOrEqual(t, c.list.Size().Width, float32(170))
	assert.LessOrEqual(t, c.list.Size().Width, float32(200))
	assert.GreaterOrEqual(t, c.thread().Size().Width, float32(380))
	f.win.Resize(fyne.NewSize(1200, 800))
	capture(f)
	assert.Greater(t, c.list.Size().Width, float32(300), "a wide window gives the list more")
}

// A trust dialog whose caller gave up goes away unanswered: nothing is
// declined, and a new dialog for another key does not decline the first.
func TestMessenger_TrustDialogClosedByTheAppIsNotAnAnswer(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	s := f.newChat()
	s.addr.SetText("192.168.1.31")
	test.Tap(s.connButton)
	link := f.ctrl.lastLink()
	f.ctrl.emit(session.Request{Link: link, Partner: partner(session.TrustNew)})
	require.NotNil(t, c.dialog)
	f.ctrl.emit(session.Ended{Link: link, Contact: bobFP, Reason: session.EndTimeout})
	assert.Nil(t, c.dialog, "the dialog is gone with its link")
	assert.Empty(t, f.ctrl.declined, "and nobody was declined")
	if l := c.peers[bobFP].thread; l != nil {
		assert.False(t, containsText(rowTexts(l), "You declined"))
	}

	f.ctrl.emit(session.Request{Link: 30, Partner: someone("Dave", daveFP, session.TrustNew)},
		session.Request{Link: 31, Partner: someone("Eve", eveFP, session.TrustNew)})
	a, _ := c.requestButtons(daveFP)
	test.Tap(a)
	a, _ = c.requestButtons(eveFP)
	test.Tap(a) // another dialog replaces Dave's
	assert.Empty(t, f.ctrl.declined)
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, []string{eveFP}, f.ctrl.accepted)
	assert.Len(t, c.requests, 1, "Dave still waits")
}
