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

// After any control of the main window, what is typed next goes into the
// message input and Enter sends it to the contact shown.
func TestChat_FocusReturnsToInputAfterEveryControl(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(t *testing.T, f *fixture, c *messenger)
	}{
		{"network toggle", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.wireToggle)
			require.True(t, c.wireToggle.Checked)
		}},
		{"cancel sending", func(t *testing.T, f *fixture, c *messenger) {
			c.input.SetText("never mind")
			test.Tap(c.send)
			f.ctrl.emit(session.Ended{Link: 1, Contact: bobFP, Connected: true, Reason: session.EndTimeout})
			f.queued(bobFP, "m1", "never mind")
			b := bubbleWith(t, c.thread(), "m1")
			require.True(t, b.rend.button.Visible())
			test.Tap(b.rend.button)
			require.Equal(t, []string{bobFP + "/m1"}, f.ctrl.got(&f.ctrl.cancelledMsgs))
			f.ctrl.mu.Lock()
			f.ctrl.sent = nil
			f.ctrl.mu.Unlock()
			f.comesIn(2, partner(session.TrustKnown))
		}},
		{"verify dialog, not now", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.verify)
			test.Tap(topDialogButton(t, f.win, "Not now"))
		}},
		{"verify dialog, they match", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.verify)
			test.Tap(topDialogButton(t, f.win, "They match"))
		}},
		{"settings", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.settings)
			test.Tap(topDialogButton(t, f.win, "Close"))
		}},
		{"list selection", func(t *testing.T, f *fixture, c *messenger) {
			f.selectContact(carolFP)
			f.selectContact(bobFP)
		}},
		{"details dialog", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.partnerLbl)
			require.NotNil(t, f.ui.details)
			test.Tap(topDialogButton(t, f.win, "Close"))
		}},
		{"listening toggle", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.listenToggle)
			require.Equal(t, []string{":9999"}, f.ctrl.listens)
			f.ctrl.emit(session.Listening{Addr: "[::]:9999", Addrs: []string{"192.168.1.20:9999"}})
			require.Equal(t, "Stop", c.listenToggle.Text)
		}},
		{"new chat, closed", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.newChat)
			require.NotNil(t, f.ui.choose)
			test.Tap(topDialogButton(t, f.win, "Close"))
			require.Nil(t, f.ui.choose)
		}},
		{"disconnect", func(t *testing.T, f *fixture, c *messenger) {
			test.Tap(c.action) // the fake controller stays connected
			require.Equal(t, []string{bobFP}, f.ctrl.byes)
		}},
		{"a request arriving", func(t *testing.T, f *fixture, c *messenger) {
			f.ctrl.emit(session.Request{Link: 9, Partner: someone("Dave", daveFP, session.TrustNew)})
			require.Len(t, c.requests, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			c := f.connected()
			tc.use(t, f, c)
			require.Equal(t, peerConnected, c.selected.state)
			assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the focus again")
			typeAndEnter(t, f, "typed after "+tc.name)
			assert.Equal(t, []string{"typed after " + tc.name}, f.ctrl.texts())
			assert.Equal(t, bobFP, f.ctrl.sent[0].contact, "to the contact shown")
		})
	}
}

// Tapping the row of the contact already shown gives the keyboard to the
// input again (issue 10): what is typed next is sent, not lost in the list.
func TestChat_TapOnShownContactFocusesInput(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.win.Canvas().Focus(c.list) // the keyboard was in the list, as after a Tab
	require.Equal(t, bobFP, c.order[0].id, "Bob's is the first row")
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.list).Add(fyne.NewPos(20, 20))
	test.TapCanvas(f.win.Canvas(), at) // a click on Bob's row
	assert.Equal(t, c.input, f.win.Canvas().Focused(), "the input has the focus again")
	typeAndEnter(t, f, "after re-selecting Bob")
	assert.Equal(t, []string{"after re-selecting Bob"}, f.ctrl.texts())
}

// pressSpace presses Space as a keyboard does: the key goes to what has
// the focus, then its character to what has the focus after it.
func pressSpace(f *fixture) {
	f.win.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	f.win.Canvas().Focused().TypedRune(' ')
}

// A Space that selects a contact or presses a button does not type a
// space into the message input that gets the keyboard back.
func TestChat_SpaceOnControlTypesNothing(t *testing.T) {
	f := newFixture(t, true)
	c := f.connected()
	f.win.Canvas().Focus(c.wireToggle)
	pressSpace(f)
	require.True(t, c.wireToggle.Checked, "Space ticked the box")
	require.Equal(t, c.input, f.win.Canvas().Focused())
	assert.Equal(t, "", c.input.Text, "no space in the input")

	f.ctrl.emit(session.Request{Link: 2, Partner: someone("Carol", carolFP, session.TrustNew)})
	_, decline := c.requestButtons(carolFP)
	require.NotNil(t, decline)
	f.win.Canvas().Focus(decline)
	pressSpace(f)
	assert.Empty(t, c.requests, "Space declined")
	assert.Equal(t, "", c.input.Text, "no space in the input")

	test.Type(c.input, "a b")
	assert.Equal(t, "a b", c.input.Text, "spaces typed in the input stay")
}
