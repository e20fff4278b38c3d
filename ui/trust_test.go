package ui

import (
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
	f.chatAs(roleConnect)
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustNew)})
	text := dialogText(t, f.win)
	assert.Contains(t, text, "First chat with Bob")
	assert.Contains(t, text, "compare this number with your partner's")
	assert.Contains(t, text, "12345   67890   24680   13579", "the safety number is shown in groups")
	assert.Equal(t, 0, f.ctrl.accepted)
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, 1, f.ctrl.accepted)
}

func TestTrust_ALookalikeNameGetsTheImpersonationWarning(t *testing.T) {
	for _, r := range []role{roleHost, roleConnect} {
		f := newFixture(t, true)
		c := f.chatAs(r)
		p := partner(session.TrustNew)
		p.Name, p.LooksLike = "B\u043eb", "Bob"
		f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: p})
		text := dialogText(t, f.win)
		assert.Contains(t, text, "This is not your contact Bob")
		assert.Contains(t, text, "a name that looks like Bob's")
		assert.NotContains(t, text, "wants to chat", "no friendly request for a lookalike")
		b := topDialogButton(t, f.win, "Accept anyway")
		assert.Equal(t, widget.DangerImportance, b.Importance)
		test.Tap(topDialogButton(t, f.win, "Decline"))
		assert.Equal(t, 1, f.ctrl.declined)
		assert.Equal(t, 0, f.ctrl.accepted)
		assert.True(t, containsText(shownTexts(c.messages), "looks like your contact Bob"))
	}
}

func TestTrust_ChangedKeyNamesTheContactThatWasDialed(t *testing.T) {
	f := newFixture(t, true)
	f.chatAs(roleConnect)
	p := partner(session.TrustChanged)
	p.Name, p.Expected = "bob", "Bob"
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: p})
	text := dialogText(t, f.win)
	assert.Contains(t, text, "Someone may be intercepting this chat")
	assert.Contains(t, text, "You connected to Bob, but the key that answered")
	assert.Equal(t, 0, f.ctrl.accepted)
}

func TestInvite_MakeShowsACodeToCopy(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	s := f.ui.choose
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
	require.NotNil(t, f.ui.chat, "Host now starts hosting")
	assert.Equal(t, ":9999", f.hostAddr)
}

func TestInvite_TheUserChoosesHowLongAndForHowMany(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	s := f.ui.choose
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
	f.unlock()
	s := f.ui.choose
	test.Tap(s.useInviteBtn)
	require.NotNil(t, s.inviteEntry)

	test.Type(s.inviteEntry, "192.168.1.20:9999")
	test.Tap(s.inviteConnect)
	assert.True(t, s.inviteErr.Visible())
	assert.Contains(t, s.inviteErr.Text, "not a SecureChat invite")
	assert.Nil(t, f.ui.chat)

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
	require.NotNil(t, f.ui.chat)
	tg := f.connectTarget
	assert.Equal(t, []string{"192.0.2.7:9999"}, tg.Addrs)
	assert.Equal(t, inv.FingerprintHex(), tg.InviteKey)
	assert.Equal(t, inv.Secret[:], tg.InviteSecret)
}

func TestInvite_AnExpiredInviteIsRefusedWithoutDialing(t *testing.T) {
	f := newFixture(t, true)
	f.unlock()
	s := f.ui.choose
	inv, err := invite.New([32]byte{1}, []string{"192.0.2.7"}, 9999, time.Now().Add(-time.Minute), nil)
	require.NoError(t, err)
	s.showUseInvite(inv.Code())
	test.Tap(s.inviteConnect)
	assert.Contains(t, s.inviteErr.Text, "expired")
	assert.Nil(t, f.ui.chat)
}

func TestChoose_PickingAContactDialsItsAddressesExpectingItsKey(t *testing.T) {
	f := newFixture(t, true)
	id := strings.Repeat("cd", 32)
	f.vault.contacts = []Contact{{ID: id, Name: "Bob", Addrs: []string{"192.0.2.7:9999", "198.51.100.2:9999"}}}
	f.unlock()
	s := f.ui.choose
	require.NotNil(t, s.contacts, "contacts with an address are offered")
	test.Tap(s.contactButton)
	assert.Contains(t, s.contactErr.Text, "Pick a contact")
	s.contacts.SetSelected("Bob")
	test.Tap(s.contactButton)
	require.NotNil(t, f.ui.chat)
	assert.Equal(t, id, f.connectTarget.Contact)
	assert.Equal(t, []string{"192.0.2.7:9999", "198.51.100.2:9999"}, f.connectTarget.Addrs)
}

func TestChoose_HostRemembersOnlyContactsAndThePort(t *testing.T) {
	f := newFixture(t, true)
	f.vault.settings.ListenPort = 4242
	f.unlock()
	s := f.ui.choose
	assert.Equal(t, "4242", s.hostPort.Text, "the last port is filled in")
	test.Tap(s.onlyContacts)
	assert.True(t, f.vault.settings.OnlyContacts)
	s.hostPort.SetText("5151")
	test.Tap(s.hostButton)
	assert.Equal(t, 5151, f.vault.settings.ListenPort)
}

func TestTrust_AcceptAndVerifyWriteTheVaultOffTheUIGoroutine(t *testing.T) {
	f := newFixture(t, true)
	f.chatAs(roleHost)
	var queued []func()
	f.ui.async = func(fn func()) { queued = append(queued, fn) }
	f.ctrl.emit(session.Event{Kind: session.EventPartnerRequest, Partner: partner(session.TrustNew)})
	test.Tap(topDialogButton(t, f.win, "Accept"))
	assert.Equal(t, 0, f.ctrl.accepted, "Accept saves a contact: not on the UI goroutine")
	require.NotEmpty(t, queued)
	for _, fn := range queued {
		fn()
	}
	assert.Equal(t, 1, f.ctrl.accepted)

	queued = nil
	f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustNew)})
	test.Tap(f.ui.chat.verify)
	test.Tap(topDialogButton(t, f.win, "They match"))
	assert.Equal(t, 0, f.ctrl.verified, "Verify writes the vault: not on the UI goroutine")
	for _, fn := range queued {
		fn()
	}
	assert.Equal(t, 1, f.ctrl.verified)
}
