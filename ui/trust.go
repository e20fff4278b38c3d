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

// showRequest asks whether to let a key never seen before in: the host is
// asked about a caller, the connecting side about whom it reached. A new
// key whose name looks like a contact's gets the impersonation warning.
func (c *chatScreen) showRequest(p *session.Partner) {
	if p.LooksLike != "" {
		c.showLookalike(p)
		return
	}
	from := ""
	if p.Addr != "" {
		from = " from " + p.Addr
	}
	intro := fmt.Sprintf("%s%s wants to chat with you. You have never chatted with this key before.", p.Name, from)
	if c.role == roleConnect {
		intro = fmt.Sprintf("You reached %s at %s. You have never chatted with this key before.", p.Name, p.Addr)
	}
	content := fixedWidth(440, container.NewVBox(
		wrapped(intro),
		widget.NewLabelWithStyle("Safety number", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		safetyGrid(p.SafetyNumber),
		wrapped("First time: compare this number with your partner's, on a call or in person. If they match, nobody is in between."),
	))
	title := p.Name + " wants to chat"
	if c.role == roleConnect {
		title = "First chat with " + p.Name
	}
	d := dialog.NewCustomConfirm(title, "Accept", "Decline", content, func(ok bool) {
		c.dialog = nil
		defer c.focusInput()
		if ok {
			c.accept()
		} else {
			c.system(fmt.Sprintf("You declined %s.", p.Name), noteInfo)
			c.decline()
		}
	}, c.u.win)
	c.dialog = d
	d.Show()
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
func (c *chatScreen) showLookalike(p *session.Partner) {
	c.system(fmt.Sprintf("Warning: a new key calls itself %q, which looks like your contact %s.", p.Name, p.LooksLike), noteDanger)
	content := fixedWidth(460, container.NewVBox(
		warningContent("This is not your contact "+p.LooksLike,
			fmt.Sprintf("A different key uses a name that looks like %s's (%q). Someone may be pretending to be %s.", p.LooksLike, p.Name, p.LooksLike),
			"Accept only if this is really someone new and their safety number matches:"),
		safetyGrid(p.SafetyNumber),
	))
	d := dialog.NewCustomConfirm("Warning: not your contact "+p.LooksLike, "Accept anyway", "Decline", content, func(ok bool) {
		c.dialog = nil
		defer c.focusInput()
		if ok {
			c.system(fmt.Sprintf("You accepted a new key calling itself %q.", p.Name), noteDanger)
			c.accept()
		} else {
			c.system(fmt.Sprintf("You declined the key that looked like %s.", p.LooksLike), noteInfo)
			c.decline()
		}
	}, c.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	c.dialog = d
	d.Show()
}

// showChangedKey blocks the chat: we dialed a contact and another key answered.
func (c *chatScreen) showChangedKey(p *session.Partner) {
	who := p.Expected
	if who == "" {
		who = p.Name
	}
	c.system(fmt.Sprintf("Warning: another key answered for %s.", who), noteDanger)
	content := fixedWidth(460, container.NewVBox(
		warningContent("Someone may be intercepting this chat",
			fmt.Sprintf("You connected to %s, but the key that answered (calling itself %q) is not %s's. Either %s reinstalled SecureChat or made a new profile, or someone is between you, reading and changing what you write.", who, p.Name, who, who),
			"Ask them on a call or in person. Trust the new key only if they confirm this safety number:"),
		safetyGrid(p.SafetyNumber),
	))
	d := dialog.NewCustomConfirm("Warning: "+who+"'s key has changed", "Trust new key", "Disconnect", content, func(ok bool) {
		c.dialog = nil
		defer c.focusInput()
		if ok {
			c.system(fmt.Sprintf("You trusted a new key for %s.", who), noteDanger)
			c.accept()
		} else {
			c.system(fmt.Sprintf("You disconnected: %s's key had changed.", who), noteWarning)
			c.decline()
		}
	}, c.u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	c.dialog = d
	d.Show()
}

// showVerify shows the safety number and lets the user mark the partner verified.
func (c *chatScreen) showVerify() {
	p := c.partner
	if p == nil {
		return
	}
	me := "You"
	if c.u.vault != nil {
		me = c.u.vault.Name()
	}
	content := fixedWidth(460, container.NewVBox(
		wrapped(fmt.Sprintf("%s and %s see the same safety number if nobody is in between. Read it to each other on a call or compare screens in person.", me, p.Name)),
		safetyGrid(p.SafetyNumber),
		wrapped(fmt.Sprintf("Mark %s as verified only if the numbers match.", p.Name)),
	))
	d := dialog.NewCustomConfirm("Verify "+p.Name, "They match", "Not now", content, func(ok bool) {
		c.focusInput()
		if !ok {
			return
		}
		ctrl := c.ctrl
		c.u.async(func() { // a vault write: off the UI goroutine
			if err := ctrl.MarkVerified(); err != nil {
				c.u.showError(err)
				return
			}
			fyne.Do(func() {
				p.Trust = session.TrustVerified
				c.system("Safety number verified. "+p.Label()+" is marked as verified.", noteInfo)
				c.refresh()
			})
		})
	}, c.u.win)
	d.Show()
}
