package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
)

// safetyGrid shows a safety number as rows of four groups of digits, large
// enough to read aloud.
func safetyGrid(number string) fyne.CanvasObject {
	groups := strings.Fields(number)
	var lines []string
	for i := 0; i < len(groups); i += 4 {
		lines = append(lines, strings.Join(groups[i:min(i+4, len(groups))], "   "))
	}
	box := container.NewVBox()
	for _, l := range lines {
		t := canvas.NewText(l, theme.Color(theme.ColorNameForeground))
		t.TextStyle.Monospace = true
		t.TextSize = theme.TextSize() * 1.5
		t.Alignment = fyne.TextAlignCenter
		box.Add(t)
	}
	return box
}

func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// askTrust asks the user about a key: a new one (with the impersonation
// warning when its name looks like a contact's) or a changed one. incoming
// is a caller from the Requests section; else we dialed it.
func (m *messenger) askTrust(p session.Partner, incoming bool) {
	m.closeDialog()
	switch {
	case p.Trust == session.TrustChanged:
		m.showChangedKey(p, incoming)
	case p.LooksLike != "":
		m.showLookalike(p)
	default:
		m.showRequest(p, incoming)
	}
}

// closeDialog takes the trust dialog away unanswered: its callback (which
// Fyne calls on Hide too) sees that it is no longer the dialog shown and
// does nothing.
func (m *messenger) closeDialog() {
	if m.dialog != nil {
		d := m.dialog
		m.dialog, m.dialogFor = nil, ""
		d.Hide()
	}
}

// trustDialog shows d as the trust dialog about key fp.
func (m *messenger) trustDialog(d dialog.Dialog, fp string) {
	m.dialog, m.dialogFor = d, fp
	d.Show()
}

// decided runs after a trust dialog's answer: the dialog is gone, and the
// keyboard goes back to the input of the thread shown (the New chat
// dialog, when it is open, keeps it).
func (m *messenger) decided() {
	m.dialog, m.dialogFor = nil, ""
	if c := m.u.choose; c != nil {
		c.focus()
		return
	}
	m.focusInput()
}

// showRequest asks whether to let a key never seen before in: a caller,
// or whom we reached.
func (m *messenger) showRequest(p session.Partner, incoming bool) {
	from := ""
	if p.Addr != "" {
		from = " from " + p.Addr
	}
	intro := fmt.Sprintf("%s%s wants to chat with you. You have never chatted with this key before.", p.Name, from)
	title := p.Name + " wants to chat"
	if !incoming {
		intro = fmt.Sprintf("You reached %s at %s. You have never chatted with this key before.", p.Name, p.Addr)
		title = "First chat with " + p.Name
	}
	content := fixedWidth(440, container.NewVBox(
		wrapped(intro),
		widget.NewLabelWithStyle("Safety number", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		safetyGrid(p.SafetyNumber),
		wrapped("First time: compare this number with your partner's, on a call or in person. If they match, nobody is in between."),
	))
	fp := p.Fingerprint
	var d *dialog.ConfirmDialog
	d = dialog.NewCustomConfirm(title, "Accept", "Decline", content, func(ok bool) {
		if m.dialog != dialog.Dialog(d) {
			return // closed by the app (the caller gave up), not answered
		}
		defer m.decided()
		if ok {
			m.acceptedByHand[fp] = true
			m.accept(fp)
		} else {
			m.note(m.peer(fp), fmt.Sprintf("You declined %s.", p.Name), noteInfo)
			m.decline(fp)
		}
	}, m.u.win)
	m.trustDialog(d, fp)
}

// warningContent is the body of a loud trust warning.
func warningContent(title string, lines ...string) fyne.CanvasObject {
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.WarningIcon()))
	t := canvas.NewText(title, theme.Color(theme.ColorNameError))
	t.TextStyle.Bold = true
	t.TextSize = theme.TextSubHeadingSize()
	box := container.NewVBox(container.NewHBox(icon, t))
	for _, l := range lines {
		box.Add(wrapped(l))
	}
	return box
}

// showLookalike warns that a new key uses a name like a contact's.
func (m *messenger) showLookalike(p session.Partner) {
	fp := p.Fingerprint
	m.note(m.peer(fp), fmt.Sprintf("Warning: a new key calls itself %q, which looks like your contact %s.", p.Name, p.LooksLike), noteDanger)
	content := fixedWidth(460, container.NewVBox(
		warningContent("This is not your contact "+p.LooksLike,
			fmt.Sprintf("A different key uses a name that looks like %s's (%q). Someone may be pretending to be %s.", p.LooksLike, p.Name, p.LooksLike),
			"Accept only if this is really someone new and their safety number matches:"),
		safetyGrid(p.SafetyNumber),
	))
	var d *dialog.ConfirmDialog
	d = dialog.NewCustomConfirm("Warning: not your contact "+p.LooksLike, "Accept anyway", "Decline", content, func(ok bool) {
		if m.dialog != dialog.Dialog(d) {
			return // closed by the app (the caller gave up), not answered
		}
		defer m.decided()
		if ok {
			m.note(m.peer(fp), fmt.Sprintf("You accepted a new key calling itself %q.", p.Name), noteDanger)
			m.acceptedByHand[fp] = true
			m.accept(fp)
		} else {
			m.note(m.peer(fp), fmt.Sprintf("You declined the key that looked like %s.", p.LooksLike), noteInfo)
			m.decline(fp)
		}
	}, m.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	m.trustDialog(d, fp)
}

// showChangedKey blocks a chat whose key is not the contact's: we dialed
// a contact and another key answered, or a caller claims a contact's name.
func (m *messenger) showChangedKey(p session.Partner, incoming bool) {
	who := p.Expected
	if who == "" {
		who = p.Name
	}
	fp := p.Fingerprint
	m.note(m.peer(fp), fmt.Sprintf("Warning: another key answered for %s.", who), noteDanger)
	how := fmt.Sprintf("You connected to %s, but the key that answered (calling itself %q) is not %s's.", who, p.Name, who)
	if incoming {
		how = fmt.Sprintf("A caller from %s says it is %s, but its key (calling itself %q) is not %s's.", p.Addr, who, p.Name, who)
	}
	content := fixedWidth(460, container.NewVBox(
		warningContent("Someone may be intercepting this chat",
			how+fmt.Sprintf(" Either %s reinstalled SecureChat or made a new profile, or someone is between you, reading and changing what you write.", who),
			"Ask them on a call or in person. Trust the new key only if they confirm this safety number:"),
		safetyGrid(p.SafetyNumber),
	))
	var d *dialog.ConfirmDialog
	d = dialog.NewCustomConfirm("Warning: "+who+"'s key has changed", "Trust new key", "Disconnect", content, func(ok bool) {
		if m.dialog != dialog.Dialog(d) {
			return // closed by the app (the caller gave up), not answered
		}
		defer m.decided()
		if ok {
			m.note(m.peer(fp), fmt.Sprintf("You trusted a new key for %s.", who), noteDanger)
			m.acceptedByHand[fp] = true
			m.accept(fp)
		} else {
			m.note(m.peer(fp), fmt.Sprintf("You disconnected: %s's key had changed.", who), noteWarning)
			m.decline(fp)
		}
	}, m.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	m.trustDialog(d, fp)
}

// showVerify shows the safety number and lets the user mark the contact
// verified. It works offline too, from the contact's key.
func (m *messenger) showVerify(p *peer, done func()) {
	number := m.safetyNumber(p)
	if number == "" {
		dialog.ShowInformation("Verify "+p.label(), "The safety number is known once "+p.label()+" has connected with this SecureChat.", m.u.win)
		return
	}
	me := "You"
	if m.u.vault != nil {
		me = m.u.vault.Name()
	}
	name := p.label()
	content := fixedWidth(460, container.NewVBox(
		wrapped(fmt.Sprintf("%s and %s see the same safety number if nobody is in between. Read it to each other on a call or compare screens in person.", me, name)),
		safetyGrid(number),
		wrapped(fmt.Sprintf("Mark %s as verified only if the numbers match.", name)),
	))
	d := dialog.NewCustomConfirm("Verify "+name, "They match", "Not now", content, func(ok bool) {
		defer func() {
			if done != nil {
				done()
			}
			m.focusInput()
		}()
		if !ok {
			return
		}
		ctrl, id := m.ctrl, p.id
		m.u.async(func() { // a vault write: off the UI goroutine
			if err := ctrl.MarkVerified(id); err != nil {
				m.u.showProblem("Could not mark "+name+" as verified.", err)
				return
			}
			fyne.Do(func() {
				p.verified = true
				if p.partner != nil {
					p.partner.Trust = session.TrustVerified
				}
				m.note(p, "Safety number verified. "+name+" is marked as verified.", noteInfo)
				m.refreshPeer(p)
			})
		})
	}, m.u.win)
	d.Show()
}

func (m *messenger) verifySelected() {
	if p := m.selected; p != nil {
		m.showVerify(p, nil)
	}
}
