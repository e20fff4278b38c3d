package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/session"
)

// dialogText returns every text the top dialog shows, joined by newlines.
func dialogText(t *testing.T, w fyne.Window) string {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	require.NotNil(t, top, "no dialog is shown")
	var out []string
	for _, o := range test.LaidOutObjects(top) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *canvas.Text:
			out = append(out, x.Text)
		}
	}
	return strings.Join(out, "\n")
}

func TestTrust_ConnectSideAsksAboutAFirstContactWithTheSafetyNumber(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	s.addr.SetText("192.168.1.31")
	test.Tap(s.connButton)
	f.ctrl.emit(session.Request{Link: f.ctrl.lastLink(), Partner: partner(session.TrustNew)})
	text := dialogText(t, f.win)
	assert.Contains(t, text, "First chat with Bob")
	assert.Contains(t, text, "compare this number with your partner's")
	assert.Contains(t, text, "12345   67890   24680   13579", "the safety number is shown in groups")
	assert.Empty(t, f.ctrl.accepted)
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, []string{bobFP}, f.ctrl.accepted)
}

func TestTrust_ALookalikeNameGetsTheImpersonationWarning(t *testing.T) {
	for _, dialed := range []bool{false, true} {
		f := newFixture(t, true)
		c := f.unlock()
		p := someone("B\u043eb", eveFP, session.TrustNew)
		p.LooksLike = "Bob"
		if dialed {
			s := f.newChat()
			s.addr.SetText("192.168.1.31")
			test.Tap(s.connButton)
			f.ctrl.emit(session.Request{Link: f.ctrl.lastLink(), Partner: p})
		} else {
			f.ctrl.emit(session.Request{Link: 9, Partner: p})
			assert.Nil(t, f.win.Canvas().Overlays().Top(), "a caller waits under Requests")
			accept, _ := c.requestButtons(eveFP)
			test.Tap(accept)
		}
		text := dialogText(t, f.win)
		assert.Contains(t, text, "This is not your contact Bob")
		assert.Contains(t, text, "a name that looks like Bob's")
		assert.NotContains(t, text, "wants to chat", "no friendly request for a lookalike")
		b := topDialogButton(t, f.win, "Accept anyway")
		assert.Equal(t, widget.DangerImportance, b.Importance)
		test.Tap(topDialogButton(t, f.win, "Decline"))
		assert.Equal(t, []string{eveFP}, f.ctrl.declined)
		assert.Empty(t, f.ctrl.accepted)
		assert.True(t, containsText(shownTexts(c.peers[eveFP].thread), "looks like your contact Bob"))
	}
}

func TestTrust_ChangedKeyNamesTheContactThatWasDialed(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	f.selectContact(bobFP)
	f.dials(7, bobFP)
	p := someone("bob", eveFP, session.TrustChanged)
	p.Expected = "Bob"
	f.ctrl.emit(session.Request{Link: 7, Partner: p})
	text := dialogText(t, f.win)
	assert.Contains(t, text, "Someone may be intercepting this chat")
	assert.Contains(t, text, "You connected to Bob, but the key that answered")
	assert.Empty(t, f.ctrl.accepted)
}

func TestInvite_MakeShowsACodeToCopy(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	test.Tap(s.inviteButton)
	require.NotNil(t, s.inviteExpiry, "the invite's validity and uses are asked first")
	assert.Equal(t, "a week", s.inviteExpiry.Selected, "a week by default")
	assert.Equal(t, "one person", s.inviteUses.Selected, "one person by default")
	test.Tap(topDialogButton(t, f.win, "Make invite"))
	require.NotNil(t, s.inviteCode, "the invite dialog shows the code")
	require.Len(t, f.vault.invites, 1)
	inv := f.vault.invites[0]
	assert.WithinDuration(t, time.Now().Add(7*24*time.Hour), inv.Expires, time.Minute)
	assert.Equal(t, inv.Code(), s.inviteCode.Text)
	assert.Equal(t, []string{"192.168.1.20:9999"}, inv.Targets(), "this machine's address and the host port")
	test.Tap(s.inviteCopy)
	assert.Equal(t, inv.Code(), f.app.Clipboard().Content())
	test.Tap(topDialogButton(t, f.win, "Host now"))
	assert.Equal(t, []string{":9999"}, f.ctrl.listens, "Host now starts listening")
	assert.Nil(t, f.ui.choose, "and the New chat dialog is done")
}

// While the app listens, the invite works as it is: no "Host now".
func TestInvite_NoHostNowWhileListening(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
	require.True(t, f.ui.main.listening)
	s := f.newChat()
	test.Tap(s.inviteButton)
	test.Tap(topDialogButton(t, f.win, "Make invite"))
	require.NotNil(t, s.inviteCode, "the invite dialog shows the code")
	for _, o := range test.LaidOutObjects(f.win.Canvas().Overlays().Top()) {
		if b, ok := o.(*widget.Button); ok {
			assert.NotEqual(t, "Host now", b.Text, "listening already: nothing to host")
		}
	}
	test.Tap(topDialogButton(t, f.win, "Close"))
	assert.Nil(t, s.inviteCode)
	assert.Empty(t, f.ctrl.listens)
}

func TestInvite_TheUserChoosesHowLongAndForHowMany(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	test.Tap(s.inviteButton)
	s.inviteExpiry.SetSelected("a day")
	s.inviteUses.SetSelected("up to 5 people")
	test.Tap(topDialogButton(t, f.win, "Make invite"))
	require.Len(t, f.vault.invites, 1)
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), f.vault.invites[0].Expires, time.Minute)
	assert.Equal(t, 5, f.vault.inviteUses[0])
	assert.Contains(t, dialogText(t, f.win), "for up to 5 people")
}

func TestInvite_UseConnectsExpectingTheInvitersKey(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	test.Tap(s.useInviteBtn)
	require.NotNil(t, s.inviteEntry)

	test.Type(s.inviteEntry, "192.168.1.20:9999")
	test.Tap(s.inviteConnect)
	assert.True(t, s.inviteErr.Visible())
	assert.Contains(t, s.inviteErr.Text, "not a SecureChat invite")
	assert.Empty(t, f.ctrl.dialed)

	var fp [32]byte
	fp[0] = 7
	inv, err := invite.New(fp, []string{"192.0.2.7"}, 9999, time.Now().Add(time.Hour), nil)
	require.NoError(t, err)
	code := inv.Code()
	s.inviteEntry.SetText(code[:len(code)-3])
	test.Tap(s.inviteConnect)
	assert.Contains(t, s.inviteErr.Text, "damaged or incomplete")

	s.inviteEntry.SetText(inv.URI())
	test.Tap(s.inviteConnect)
	require.Len(t, f.ctrl.dialed, 1)
	assert.Equal(t, "192.0.2.7:9999 "+inv.FingerprintHex(), f.ctrl.dialed[0], "the invite's address, expecting its key")
	assert.True(t, s.progressBx.Visible(), "the New chat dialog shows the progress")
}

func TestInvite_AnExpiredInviteIsRefusedWithoutDialing(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	inv, err := invite.New([32]byte{1}, []string{"192.0.2.7"}, 9999, time.Now().Add(-time.Minute), nil)
	require.NoError(t, err)
	s.showUseInvite(inv.Code())
	test.Tap(s.inviteConnect)
	assert.Contains(t, s.inviteErr.Text, "expired")
	assert.Empty(t, f.ctrl.dialed)
}

func TestChoose_OfflineContactShowsOfflineAndConnectDialsIt(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.vault.contacts[0].Addrs = []string{"192.0.2.7:9999", "198.51.100.2:9999"}
	c.refreshContact(c.peers[bobFP])
	f.selectContact(bobFP)
	assert.Equal(t, []string{bobFP}, f.ctrl.got(&f.ctrl.reconnects), "opening a contact dials it at once")
	assert.False(t, c.viewOf(c.selected).online)
	assert.Equal(t, "Not connected", c.status.Text)
	assert.Contains(t, c.barText.Text, "Not connected to Bob")
	assert.False(t, c.input.Disabled(), "a message can be written to wait")

	test.Tap(c.connect)
	assert.Equal(t, []string{bobFP, bobFP}, f.ctrl.got(&f.ctrl.reconnects))
	f.dials(7, bobFP)
	assert.Equal(t, "Connecting…", c.status.Text)

	// a failed dial says why in words, with the details on request
	f.ctrl.emit(session.Ended{Link: 7, Contact: bobFP, Addr: "192.0.2.7:9999", Reason: session.EndRefused,
		Err: errors.New("dial tcp 192.0.2.7:9999: connect: connection refused")})
	assert.Contains(t, c.barText.Text, "Nobody is listening at 192.0.2.7:9999. Is SecureChat hosting there?")
	assert.NotContains(t, c.barText.Text, "dial tcp")
	require.True(t, c.barDetails.Visible())
	test.Tap(c.barDetails)
	assert.Contains(t, dialogText(t, f.win), "connection refused")
}

func TestChoose_HostRemembersOnlyContactsAndThePort(t *testing.T) {
	f := newFixture(t, true)
	f.vault.settings.ListenPort = 4242
	s := f.newChat()
	assert.Equal(t, "4242", s.hostPort.Text, "the last port is filled in")
	test.Tap(s.onlyContacts)
	assert.True(t, f.vault.settings.OnlyContacts)
	assert.Equal(t, []bool{true}, f.ctrl.onlyContacts, "and the controller admits so at once")
	s.hostPort.SetText("5151")
	test.Tap(s.hostButton)
	assert.Equal(t, []string{":5151"}, f.ctrl.listens)
	assert.Equal(t, 5151, f.vault.settings.ListenPort)
}

func TestTrust_AcceptAndVerifyWriteTheVaultOffTheUIGoroutine(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	var queued []func()
	f.ui.async = func(fn func()) { queued = append(queued, fn) }
	dave := someone("Dave", daveFP, session.TrustNew)
	f.ctrl.emit(session.Request{Link: 5, Partner: dave})
	accept, _ := c.requestButtons(daveFP)
	test.Tap(accept)
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Empty(t, f.ctrl.accepted, "Accept saves a contact: not on the UI goroutine")
	require.NotEmpty(t, queued)
	for _, fn := range queued {
		fn()
	}
	assert.Equal(t, []string{daveFP}, f.ctrl.accepted)

	queued = nil
	f.ctrl.emit(session.Connected{Link: 5, Partner: dave})
	f.selectContact(daveFP)
	for _, fn := range queued {
		fn()
	}
	queued = nil
	test.Tap(c.verify)
	test.Tap(topDialogButton(t, f.win, "They match"))
	assert.Empty(t, f.ctrl.verified, "Verify writes the vault: not on the UI goroutine")
	for _, fn := range queued {
		fn()
	}
	assert.Equal(t, []string{daveFP}, f.ctrl.verified)
}

// Another key answering a reconnect dial of ours is not a caller: under
// Requests while another contact is shown, its warning says we connected.
func TestTrust_ChangedKeyOnAReconnectIsOurDial(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.dials(7, bobFP) // a reconnect: nobody opened Bob
	p := someone("bob", eveFP, session.TrustChanged)
	p.Addr = "127.0.0.1:9999"
	p.Expected = "Bob"
	f.ctrl.emit(session.Request{Link: 7, Partner: p})
	accept, _ := c.requestButtons(eveFP)
	require.NotNil(t, accept, "nobody looks at Bob: it waits under Requests")
	test.Tap(accept)
	text := dialogText(t, f.win)
	assert.Contains(t, text, "You connected to Bob, but the key that answered")
	assert.NotContains(t, text, "A caller from")
}

// Looking at Bob, the warning shows at once when another key answers the
// reconnect dial.
func TestTrust_ChangedKeyOnAReconnectOfTheContactShown(t *testing.T) {
	f := newFixture(t, true)
	c := f.unlock()
	f.selectContact(bobFP)
	f.dials(6, bobFP)                                                               // the dial of opening Bob
	f.ctrl.emit(session.Ended{Link: 6, Contact: bobFP, Reason: session.EndTimeout}) // it failed
	f.dials(7, bobFP)                                                               // a reconnect
	p := someone("bob", eveFP, session.TrustChanged)
	p.Addr = "127.0.0.1:9999"
	p.Expected = "Bob"
	f.ctrl.emit(session.Request{Link: 7, Partner: p})
	assert.Empty(t, c.requests, "not a caller")
	text := dialogText(t, f.win)
	assert.Contains(t, text, "You connected to Bob, but the key that answered")
}
