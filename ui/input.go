package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// messageEntry is the multi-line message input: Enter sends, Shift+Enter
// starts a new line.
//
// A plain multi-line widget.Entry does the reverse (Return inserts a newline
// and Shift+Return submits, fyne#2323), so this extension tracks Shift
// itself in KeyDown/KeyUp and takes Return in TypedKey. OnSubmitted of the
// embedded Entry stays nil, so Shift+Return falls through to its newline.
type messageEntry struct {
	widget.Entry

	shift  bool
	onSend func()
}

func newMessageEntry(onSend func()) *messageEntry {
	e := &messageEntry{onSend: onSend}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(2)
	e.SetPlaceHolder("Type a message (Enter sends, Shift+Enter for a new line)")
	e.ExtendBaseWidget(e)
	return e
}

// KeyDown implements desktop.Keyable.
func (e *messageEntry) KeyDown(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = true
	}
	e.Entry.KeyDown(k)
}

// KeyUp implements desktop.Keyable.
func (e *messageEntry) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = false
	}
	e.Entry.KeyUp(k)
}

// FocusLost forgets Shift: its KeyUp may go to another window.
func (e *messageEntry) FocusLost() {
	e.shift = false
	e.Entry.FocusLost()
}

// TypedKey implements fyne.Focusable.
func (e *messageEntry) TypedKey(k *fyne.KeyEvent) {
	if (k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter) && !e.shift {
		if e.onSend != nil && !e.Disabled() {
			e.onSend()
		}
		return
	}
	e.Entry.TypedKey(k)
}
