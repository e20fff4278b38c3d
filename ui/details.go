package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// detailsDialog is the contact details of one peer, opened from the
// thread's header. Its fields are the widgets tests drive.
type detailsDialog struct {
	p       *peer
	dialog  *dialog.CustomDialog
	name    *widget.Entry
	rename  *widget.Button
	nameErr *widget.Label
	verify  *widget.Button
	invite  *widget.Button
	delete  *widget.Button
	safety  *widget.Label
}

// safetyNumber is the safety number of us and p: from the connection, or
// computed from p's key, so that it can be compared offline. "" while
// p's key is unknown (a contact from an old profile that has not
// connected since).
func (m *messenger) safetyNumber(p *peer) string {
	if p.partner != nil && p.partner.SafetyNumber != "" && p.partner.Trust != session.TrustChanged {
		return p.partner.SafetyNumber
	}
	if len(p.key) == 0 || m.u.vault == nil || m.u.vault.Identity() == nil {
		if p.partner != nil {
			return p.partner.SafetyNumber
		}
		return ""
	}
	them, err := crypto.ParsePublicIdentity(p.key)
	if err != nil {
		return ""
	}
	return crypto.SafetyNumber(m.u.vault.Identity().Public(), them)
}

// groupFingerprint writes a key fingerprint in groups of four, four groups
// a line, for reading aloud.
func groupFingerprint(fp string) string {
	var groups []string
	for i := 0; i < len(fp); i += 4 {
		groups = append(groups, fp[i:min(i+4, len(fp))])
	}
	var lines []string
	for i := 0; i < len(groups); i += 4 {
		lines = append(lines, strings.Join(groups[i:min(i+4, len(groups))], " "))
	}
	return strings.Join(lines, "\n")
}

// showDetails opens the selected contact's details.
func (m *messenger) showDetails() {
	if p := m.selected; p != nil {
		m.showPeerDetails(p)
	}
}

func (m *messenger) showPeerDetails(p *peer) {
	d := &detailsDialog{p: p}
	m.u.details = d
	d.name = widget.NewEntry()
	d.name.SetText(p.label())
	d.nameErr = widget.NewLabel("")
	d.nameErr.Importance = widget.DangerImportance
	d.nameErr.Wrapping = fyne.TextWrapWord
	d.nameErr.Hide()
	d.rename = widget.NewButton("Rename", func() { m.renamePeer(d) })
	d.name.OnSubmitted = func(string) { m.renamePeer(d) }
	if !p.contact {
		d.name.Disable()
		d.rename.Disable()
	}
	caption := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	theirName := p.theirName
	if theirName == "" {
		theirName = "(not known yet)"
	}
	fp := widget.NewLabel(groupFingerprint(p.id))
	fp.TextStyle.Monospace = true
	fp.Selectable = true
	number := m.safetyNumber(p)
	d.safety = widget.NewLabel("Known once " + p.label() + " has connected with this SecureChat.")
	d.safety.Wrapping = fyne.TextWrapWord
	if number != "" {
		d.safety.SetText(twoLines(number))
		d.safety.TextStyle.Monospace = true
		d.safety.Wrapping = fyne.TextWrapOff
	}
	verified := "No: compare the safety number on a call or in person."
	switch m.trustOf(p) {
	case session.TrustVerified:
		verified = "Yes: you compared the safety number."
	case session.TrustInvited:
		verified = "Invited: the key came with your invite. Compare the safety number to be sure."
	}
	d.verify = widget.NewButtonWithIcon("Verify…", theme.ConfirmIcon(), func() {
		d.dialog.Hide()
		m.showVerify(p, nil)
	})
	if m.trustOf(p) == session.TrustVerified || number == "" {
		d.verify.Disable()
	}
	addrs := "None yet: " + p.label() + " has only connected to you."
	if len(p.addrs) > 0 {
		lines := make([]string, len(p.addrs))
		for i, a := range p.addrs {
			lines[i] = a
			if transport.IsOnion(a) {
				lines[i] += " (through Tor)"
			}
		}
		addrs = strings.Join(lines, "\n")
	}
	d.invite = widget.NewButtonWithIcon("Invite…", theme.MailAttachmentIcon(), func() {
		d.dialog.Hide()
		m.u.showInvite()
	})
	d.delete = widget.NewButtonWithIcon("Delete contact and history…", theme.DeleteIcon(), func() { m.confirmDelete(d) })
	d.delete.Importance = widget.DangerImportance

	form := widget.NewForm(
		widget.NewFormItem("Your name for them", container.NewBorder(nil, d.nameErr, nil, d.rename, d.name)),
		widget.NewFormItem("The name they use", caption(theirName)),
		widget.NewFormItem("Key fingerprint", fp),
		widget.NewFormItem("Safety number", d.safety),
		widget.NewFormItem("Verified", container.NewBorder(nil, nil, nil, d.verify, caption(verified))),
		widget.NewFormItem("Addresses", caption(addrs)),
	)
	content := fixedWidth(500, container.NewVBox(form, widget.NewSeparator(),
		container.NewHBox(d.invite, d.delete)))
	d.dialog = dialog.NewCustom(p.label(), "Close", content, m.u.win)
	d.dialog.SetOnClosed(func() {
		if m.u.details == d {
			m.u.details = nil
		}
		m.focusInput()
	})
	d.dialog.Show()
}

// renamePeer saves the name typed in the details; it shows everywhere at
// once: the list, the header, the title and the partner's messages.
func (m *messenger) renamePeer(d *detailsDialog) {
	name := strings.TrimSpace(d.name.Text)
	if name == "" {
		showInline(d.nameErr, inputError("Enter a name."))
		return
	}
	p, v := d.p, m.u.vault
	if v == nil {
		return
	}
	m.u.async(func() { // a vault write: off the UI goroutine
		err := v.RenameContact(p.id, name)
		fyne.Do(func() {
			if err != nil {
				showInline(d.nameErr, inputError("Could not rename: "+err.Error()))
				return
			}
			d.nameErr.Hide()
			p.name = name
			m.renamed(p)
		})
	})
}

// renamed shows p's new name everywhere.
func (m *messenger) renamed(p *peer) {
	if p.partner != nil {
		p.partner.ContactName = p.name
	}
	if l := p.thread; l != nil {
		for _, r := range l.rows {
			if r.kind == rowMessage && !r.outgoing {
				r.from = p.name
				r.invalidate()
			}
		}
		l.measureAll()
		l.list.Refresh()
	}
	m.resort()
	m.refreshPeer(p)
}

// confirmDelete asks, naming the contact, and then deletes the contact and
// every message with its key.
func (m *messenger) confirmDelete(d *detailsDialog) {
	p := d.p
	name := p.label()
	msg := wrapped(fmt.Sprintf("Delete %s and all your messages with %s from this computer? This cannot be undone. %s can still connect to you, as a new key you are asked about.", name, name, name))
	c := dialog.NewCustomConfirm("Delete "+name+"?", "Delete", "Cancel", fixedWidth(420, msg), func(ok bool) {
		if !ok {
			return
		}
		d.dialog.Hide()
		m.deletePeer(p)
	}, m.u.win)
	c.SetConfirmImportance(widget.DangerImportance)
	c.Show()
}

func (m *messenger) deletePeer(p *peer) {
	v, ctrl := m.u.vault, m.ctrl
	connected := p.state != peerOffline
	id, name := p.id, p.label()
	m.u.async(func() {
		if connected {
			_ = ctrl.Disconnect(id)
		}
		var err error
		if v != nil {
			err = v.DeleteContactAndHistory(id)
		}
		if err == nil {
			err = m.deleteFiles(id) // the files exchanged, with the history
		}
		fyne.Do(func() {
			if err != nil {
				m.u.showProblem("Could not delete "+name+".", err)
				return
			}
			delete(m.peers, id)
			m.forgetThumbs(id)
			if m.selected == p {
				m.selected = nil
				m.holder.Objects = nil
				m.holder.Refresh()
				m.input.SetText("")
			}
			m.resort()
			m.refreshThread()
			m.refreshTitle()
		})
	})
}
