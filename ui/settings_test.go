package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

// The notification centre may keep what it is given on disk: the setting
// in the chat window decides whether that is the message, the name only
// (the default) or nothing.
func TestSettings_NotificationsShowWhatTheSettingAllows(t *testing.T) {
	for _, tc := range []struct {
		choice string // the label chosen; "" keeps the default
		want   *fyne.Notification
		stored string
	}{
		{"", fyne.NewNotification("SecureChat — Bob", "New message"), ""},
		{"Name and message", fyne.NewNotification("SecureChat — Bob", "the parcel is at the door"), "full"},
		{"Name only", fyne.NewNotification("SecureChat — Bob", "New message"), ""}, // already chosen: nothing to store
		{"Nothing", nil, "none"},
	} {
		name := tc.choice
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.connected()
			test.Tap(c.settings)
			s := f.ui.settings
			require.NotNil(t, s, "the settings button opens the settings")
			assert.Equal(t, "Name only", s.notifications.Selected, "the default")
			if tc.choice != "" {
				s.notifications.SetSelected(tc.choice)
			}
			assert.Equal(t, tc.stored, f.app.Preferences().String(prefNotifications))
			s.dialog.Hide()

			f.app.Lifecycle().(interface{ OnExitedForeground() func() }).OnExitedForeground()()
			test.AssertNotificationSent(t, tc.want, func() {
				f.ctrl.emit(session.MessageEvent{Link: 1, Contact: bobFP, Message: session.Message{
					ID: "n1", From: "Bob", Text: "the parcel is at the door", Time: time.Now()}})
			})
		})
	}
}

func TestSettings_NotificationChoiceIsRemembered(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	test.Tap(c.settings)
	f.ui.settings.notifications.SetSelected("Nothing")
	f.ui.settings.dialog.Hide()

	test.Tap(c.settings)
	assert.Equal(t, "Nothing", f.ui.settings.notifications.Selected)
	assert.Equal(t, notifyNone, f.ui.notifyLevel())

	f.app.Preferences().SetString(prefNotifications, "bogus")
	assert.Equal(t, notifyName, f.ui.notifyLevel(), "an unknown value means the default")
}
