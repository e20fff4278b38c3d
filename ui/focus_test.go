package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/session"
)

// typeAndEnter types text into whatever has the keyboard focus, as a user
// does, and presses Enter.
func typeAndEnter(t *testing.T, f *fixture, text string) {
	t.Helper()
	focused := f.win.Canvas().Focused()
	require.NotNil(t, focused, "nothing has the keyboard focus: the typing would be lost")
	test.Type(focused, text)
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

// After any control of the chat window, what is typed next goes into the
// message input and Enter sends it.
func TestChat_FocusReturnsToInputAfterEveryControl(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(t *testing.T, f *fixture, c *chatScreen)
	}{
		{"network toggle", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.wireToggle)
			require.True(t, c.wireToggle.Checked)
		}},
		{"retry", func(t *testing.T, f *fixture, c *chatScreen) {
			c.input.SetText("lost")
			test.Tap(c.send)
			f.ctrl.emit(session.Event{Kind: session.EventFailed, ID: "m1", Reason: "connection lost"})
			var retry *bubble
			for _, o := range test.LaidOutObjects(c.messages) {
				if b, ok := o.(*bubble); ok && b.Visible() && b.r.id == "m1" {
					retry = b
				}
			}
			require.NotNil(t, retry)
			test.Tap(retry.rend.button)
			require.Equal(t, []string{"m1"}, f.ctrl.retried)
			f.ctrl.sent = nil
		}},
		{"verify dialog, not now", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.verify)
			test.Tap(topDialogButton(t, f.win, "Not now"))
		}},
		{"verify dialog, they match", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.verify)
			test.Tap(topDialogButton(t, f.win, "They match"))
		}},
		{"settings", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.settings)
			test.Tap(topDialogButton(t, f.win, "Close"))
		}},
		{"past chats", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.past)
			require.NotNil(t, f.ui.history)
			f.ui.history.win.Close()
		}},
		{"new chat, stay", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.newChat)
			test.Tap(topDialogButton(t, f.win, "No"))
			require.Equal(t, c, f.ui.chat)
		}},
		{"disconnect", func(t *testing.T, f *fixture, c *chatScreen) {
			test.Tap(c.action) // the fake controller stays connected
			require.Equal(t, 1, f.ctrl.bye)
		}},
		{"wait again", func(t *testing.T, f *fixture, c *chatScreen) {
			f.ctrl.emit(session.Event{Kind: session.EventDisconnected, Reason: "Partner has disconnected"})
			test.Tap(c.action)
			require.Equal(t, stateListening, c.state)
			assert.Equal(t, c.input, f.win.Canvas().Focused(), "focus is back after Wait again")
			f.ctrl.emit(session.Event{Kind: session.EventConnected, Partner: partner(session.TrustKnown)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.connected(roleHost)
			tc.use(t, f, c)
			require.Equal(t, stateConnected, c.state)
			assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the focus again")
			typeAndEnter(t, f, "typed after "+tc.name)
			assert.Equal(t, []string{"typed after " + tc.name}, f.ctrl.sent)
		})
	}
}
