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

// showRequest asks the host whether to let a first-time partner in.
func (c *chatScreen) showRequest(p *session.Partner) {
	from := ""
	if p.Addr != "" {
		from = " from " + p.Addr
	}
	content := fixedWidth(440, container.NewVBox(
		wrapped(fmt.Sprintf("%s%s wants to chat with you. You have not chatted with this key before.", p.Name, from)),
		widget.NewLabelWithStyle("Safety number", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		safetyGrid(p.SafetyNumber),
		wrapped("Accept only if you expect them. To be sure nobody is in between, compare this number with them on a call or in person."),
	))
	d := dialog.NewCustomConfirm(p.Name+" wants to chat", "Accept", "Decline", content, func(ok bool) {
		c.dialog = nil
		if ok {
			c.accept()
		} else {
			c.system(fmt.Sprintf("You declined %s.", p.Name), false)
			c.decline()
		}
	}, c.u.win)
	c.dialog = d
	d.Show()
}

// showChangedKey blocks the chat: the partner's key is not the pinned one.
func (c *chatScreen) showChangedKey(p *session.Partner) {
	c.system(fmt.Sprintf("Warning: %s's key has changed.", p.Name), true)
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.WarningIcon()))
	title := canvas.NewText("Someone may be intercepting this chat", theme.Color(theme.ColorNameError))
	title.TextStyle.Bold = true
	title.TextSize = theme.TextSubHeadingSize()
	content := fixedWidth(460, container.NewVBox(
		container.NewHBox(icon, title),
		wrapped(fmt.Sprintf("The key %s presents is not the one you saw before. Either %s reinstalled SecureChat or made a new profile, or someone is between you, reading and changing what you write.", p.Name, p.Name)),
		wrapped("Ask them on a call or in person. Trust the new key only if they confirm this safety number:"),
		safetyGrid(p.SafetyNumber),
	))
	d := dialog.NewCustomConfirm("Warning: "+p.Name+"'s key has changed", "Trust new key", "Disconnect", content, func(ok bool) {
		c.dialog = nil
		if ok {
			c.system(fmt.Sprintf("You trusted %s's new key.", p.Name), true)
			c.accept()
		} else {
			c.system(fmt.Sprintf("You disconnected: %s's key had changed.", p.Name), false)
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
		if !ok {
			return
		}
		if err := c.ctrl.MarkVerified(); err != nil {
			c.u.showError(err)
			return
		}
		p.Trust = session.TrustVerified
		c.system("Safety number verified. "+p.Name+" is marked as verified.", false)
		c.refresh()
	}, c.u.win)
	d.Show()
}
