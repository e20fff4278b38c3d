package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// inviteExpiries and inviteUses are the choices for a new invite; the
// first of each is the default: a week, one person.
var (
	inviteExpiries = []struct {
		label string
		d     time.Duration
	}{{"a week", 7 * 24 * time.Hour}, {"a day", 24 * time.Hour}, {"an hour", time.Hour}, {"30 days", 30 * 24 * time.Hour}}
	inviteUses = []struct {
		label string
		n     int
	}{{"one person", 1}, {"up to 5 people", 5}, {"up to 20 people", 20}}
)

// showMakeInvite asks how long an invite lasts and how many may use it
// (a week and one person unless the user changes them), then makes it.
func (s *chooseScreen) showMakeInvite() {
	if _, err := parsePort(s.hostPort.Text); showInline(s.hostErr, err) {
		return
	}
	var expiries, uses []string
	for _, e := range inviteExpiries {
		expiries = append(expiries, e.label)
	}
	for _, u := range inviteUses {
		uses = append(uses, u.label)
	}
	s.inviteExpiry = widget.NewSelect(expiries, nil)
	s.inviteExpiry.SetSelectedIndex(0)
	s.inviteUses = widget.NewSelect(uses, nil)
	s.inviteUses.SetSelectedIndex(0)
	form := widget.NewForm(widget.NewFormItem("Valid for", s.inviteExpiry), widget.NewFormItem("Usable by", s.inviteUses))
	content := fixedWidth(420, container.NewVBox(
		wrapped("An invite lets someone connect to this computer with your key known from the first byte, and you let them in without being asked."),
		form))
	d := dialog.NewCustomConfirm("Invite someone", "Make invite", "Cancel", content, func(ok bool) {
		if ok {
			s.makeInvite(inviteExpiries[s.inviteExpiry.SelectedIndex()].d, inviteUses[s.inviteUses.SelectedIndex()].n)
		}
	}, s.u.win)
	d.Show()
}

// makeInvite makes an invite to this computer at the host port and shows
// its code to copy. Making it writes the vault, so it runs off the UI
// goroutine.
func (s *chooseScreen) makeInvite(expiry time.Duration, uses int) {
	port, err := parsePort(s.hostPort.Text)
	if showInline(s.hostErr, err) {
		return
	}
	hosts := s.u.inviteHosts()
	if len(hosts) == 0 {
		if m := s.u.main; m != nil && m.tor.torOnly() {
			showInline(s.hostErr, inputError("Tor mode is not running, and contacts reach you only through Tor: there is no address to put in an invite. See the Tor status on the left."))
			return
		}
		showInline(s.hostErr, inputError("This computer has no network address to put in an invite. Connect it to a network first."))
		return
	}
	n, _ := strconv.Atoi(port)
	v := s.u.vault
	s.u.async(func() {
		inv, err := v.MakeInvite(hosts, uint16(n), expiry, uses)
		fyne.Do(func() {
			if showInline(s.hostErr, err) {
				return
			}
			s.showInviteCode(inv, uses)
		})
	})
}

// showInviteCode shows an invite's code with a Copy button.
func (s *chooseScreen) showInviteCode(inv *invite.Invite, uses int) {
	code := widget.NewMultiLineEntry()
	code.SetText(inv.Code())
	code.Wrapping = fyne.TextWrapBreak
	code.SetMinRowsVisible(4)
	code.TextStyle.Monospace = true
	copied := widget.NewLabel("")
	copyButton := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		s.u.app.Clipboard().SetContent(inv.Code())
		copied.SetText("Copied.")
	})
	s.inviteCode = code
	s.inviteCopy = copyButton
	content := fixedWidth(480, container.NewVBox(
		wrapped(fmt.Sprintf("Give this invite to the person you invite, over a channel you trust (a message, or in person). It works %s, until %s.",
			timesWords(uses), inv.Expires.Local().Format("2 Jan 2006 15:04"))),
		code,
		container.NewHBox(copyButton, copied),
		wrapped("They choose \"Connect with an invite\" and paste it, while you host. Their key is known from the first byte: nobody can come in between."+inviteTorWords(inv.Addrs)),
	))
	if m := s.u.main; m != nil && m.listening {
		// listening already: the invite works as it is, nothing to start
		d := dialog.NewCustom("Invite someone", "Close", content, s.u.win)
		d.SetOnClosed(func() { s.inviteCode, s.inviteCopy = nil, nil })
		d.Show()
		return
	}
	d := dialog.NewCustomConfirm("Invite someone", "Host now", "Close", content, func(host bool) {
		s.inviteCode, s.inviteCopy = nil, nil
		if host {
			s.host()
		}
	}, s.u.win)
	d.Show()
}

// showUseInvite asks for an invite code or link and connects with it.
func (s *chooseScreen) showUseInvite(prefill string) {
	// One line, so that Enter connects; a pasted code has no line breaks
	// that matter (white space in it is ignored).
	code := widget.NewEntry()
	code.SetPlaceHolder("Paste the invite here (sc1… or securechat:sc1…)")
	code.SetText(prefill)
	errLabel := widget.NewLabel("")
	errLabel.Importance = widget.DangerImportance
	errLabel.Wrapping = fyne.TextWrapWord
	errLabel.Hide()
	s.inviteEntry, s.inviteErr = code, errLabel
	content := fixedWidth(480, container.NewVBox(
		wrapped("Paste the invite your partner gave you. It carries their key, so SecureChat connects only to them."),
		code, errLabel))
	var d *dialog.CustomDialog
	submit := func() {
		if s.useInvite(code.Text, errLabel) {
			d.Hide()
		}
	}
	code.OnSubmitted = func(string) { submit() }
	connect := widget.NewButtonWithIcon("Connect", theme.MailSendIcon(), submit)
	connect.Importance = widget.HighImportance
	s.inviteConnect = connect
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Connect with an invite", content, s.u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, connect})
	d.SetOnClosed(func() { s.inviteEntry, s.inviteErr, s.inviteConnect = nil, nil, nil })
	d.Show()
	s.u.win.Canvas().Focus(code)
}

// useInvite parses an invite and dials its inviter; false keeps the dialog
// open with the reason shown.
func (s *chooseScreen) useInvite(text string, errLabel *widget.Label) bool {
	inv, err := invite.Parse(strings.TrimSpace(text))
	if err != nil {
		showInline(errLabel, inputError(inviteWords(err)))
		return false
	}
	if inv.Expired(time.Now()) {
		showInline(errLabel, inputErrorf("This invite expired on %s. Ask for a new one.", inv.Expires.Local().Format("2 Jan 2006 15:04")))
		return false
	}
	if len(inv.Addrs) == 0 {
		showInline(errLabel, inputError("This invite has no address to connect to. Ask for a new one."))
		return false
	}
	label := inv.Targets()[0]
	if inv.Name != "" {
		label = fmt.Sprintf("%s (invite)", inv.Name)
	}
	t := session.Target{Addrs: inv.Targets(), InviteKey: inv.FingerprintHex(), InviteSecret: inv.Secret[:], InviteExpires: inv.Expires}
	return s.dial(t, label, errLabel)
}

// inviteWords says what is wrong with a pasted invite, for the user.
func inviteWords(err error) string {
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "damaged"):
		return "This invite is damaged or incomplete. Check that you copied all of it."
	case strings.Contains(err.Error(), "newer"):
		return "This invite was made by a newer SecureChat. Update SecureChat to use it."
	case strings.Contains(err.Error(), "not a SecureChat invite"):
		return "This is not a SecureChat invite. An invite starts with sc1 or securechat:."
	}
	return "This invite cannot be used: " + strings.TrimPrefix(err.Error(), "invite: ")
}

// inviteTorWords says how an invite with these hosts works through Tor
// (" …", with a leading space), or "" when it has no onion address.
func inviteTorWords(hosts []string) string {
	onions := 0
	for _, h := range hosts {
		if transport.IsOnion(h) {
			onions++
		}
	}
	switch {
	case onions == 0:
		return ""
	case onions == len(hosts):
		return " It works through Tor only: your partner needs Tor mode on (Settings), and you stay reachable wherever you are."
	}
	return " It works through Tor too: from another network, your partner reaches you through Tor with Tor mode on (Settings)."
}

func timesWords(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("for up to %d people", n)
}
