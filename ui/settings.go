package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/session"
)

// What a notification of a new message shows. The operating system's
// notification centre may keep notifications on disk, outside the
// encrypted history, so the default leaves the message text out.
type notifyLevel string

const (
	notifyFull notifyLevel = "full" // the partner's name and the message
	notifyName notifyLevel = "name" // the partner's name only
	notifyNone notifyLevel = "none" // no notification
)

// prefNotifications is the app preference (not secret) that holds the
// notifyLevel.
const prefNotifications = "notifications"

// notifyLevels are the choices in the order the settings show them, with
// their labels.
var notifyLevels = []struct {
	level notifyLevel
	label string
}{
	{notifyFull, "Name and message"},
	{notifyName, "Name only"},
	{notifyNone, "Nothing"},
}

func (u *UI) notifyLevel() notifyLevel {
	l := notifyLevel(u.app.Preferences().StringWithFallback(prefNotifications, string(notifyName)))
	for _, c := range notifyLevels {
		if c.level == l {
			return l
		}
	}
	return notifyName
}

func (u *UI) setNotifyLevel(l notifyLevel) {
	u.app.Preferences().SetString(prefNotifications, string(l))
}

// notifyMessage tells the operating system about a message from a partner
// while our window is in the background, showing what the setting allows.
func (u *UI) notifyMessage(from, text string) {
	if u.focused {
		return
	}
	title := "SecureChat — " + from
	switch u.notifyLevel() {
	case notifyFull:
		u.app.SendNotification(fyne.NewNotification(title, shorten(text, 120)))
	case notifyName:
		u.app.SendNotification(fyne.NewNotification(title, "New message"))
	}
}

// notifyRequest tells the operating system that a key asks to chat: a
// notification, never a dialog, so that the thread shown and what is
// being typed are left alone. The name only, whatever the setting allows
// for messages (a request has no text), and nothing if notifications are off.
func (u *UI) notifyRequest(p session.Partner) {
	if u.notifyLevel() == notifyNone {
		return
	}
	u.app.SendNotification(fyne.NewNotification("SecureChat — request", shorten(p.Name, 40)+" wants to chat"))
}

// settingsDialog is the small settings window of the main window.
type settingsDialog struct {
	dialog        dialog.Dialog
	notifications *widget.RadioGroup
	tabs          *container.AppTabs // Notifications, Files and Tor; nil with Notifications alone

	// autoAccept takes pictures from verified contacts without asking;
	// nil when the app runs without files.
	autoAccept *widget.Check

	// Tor mode's tab, when the build has Tor mode
	tor, torOnly *widget.Check
	torPath      *widget.Entry
	torChoose    *widget.Button
}

// showSettings opens the settings over the main window.
func (u *UI) showSettings() {
	s := &settingsDialog{}
	var labels []string
	selected := ""
	for _, c := range notifyLevels {
		labels = append(labels, c.label)
		if c.level == u.notifyLevel() {
			selected = c.label
		}
	}
	s.notifications = widget.NewRadioGroup(labels, nil)
	s.notifications.Required = true
	s.notifications.SetSelected(selected) // before OnChanged: opening stores nothing
	s.notifications.OnChanged = func(label string) {
		for _, c := range notifyLevels {
			if c.label == label {
				u.setNotifyLevel(c.level)
			}
		}
	}
	hint := widget.NewLabel("Your system's notification centre may keep what a notification shows, outside SecureChat's encrypted history.")
	hint.Wrapping = fyne.TextWrapWord
	hint.SizeName = theme.SizeNameCaptionText
	form := widget.NewForm(widget.NewFormItem("Notifications", s.notifications))
	notifications := container.NewVBox(form, hint)
	// A tab each, so that the dialog fits the smallest window; the Tor
	// checks' words on one line.
	tabs := []*container.TabItem{container.NewTabItem("Notifications", notifications)}
	if u.main != nil && u.main.files != nil {
		tabs = append(tabs, container.NewTabItem("Files", u.filesSettings(s)))
	}
	if u.backend.Tor != nil && u.main != nil {
		tabs = append(tabs, container.NewTabItem("Tor", u.torSettings(s)))
	}
	var content fyne.CanvasObject
	if len(tabs) > 1 {
		s.tabs = container.NewAppTabs(tabs...)
		content = fixedWidth(500, s.tabs)
	} else {
		content = fixedWidth(380, notifications)
	}
	s.dialog = dialog.NewCustom("Settings", "Close", content, u.win)
	s.dialog.SetOnClosed(func() {
		s.applyTorPath(u) // a path typed without Enter
		u.focusChat()
	})
	u.settings = s
	s.dialog.Show()
}
