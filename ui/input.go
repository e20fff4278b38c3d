package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// inputMaxRows is how tall the input grows before it scrolls.
const inputMaxRows = 5

// messageEntry is the multi-line message input: Enter sends, Shift+Enter
// starts a new line.
//
// A plain multi-line widget.Entry does the reverse (Return inserts a newline
// and Shift+Return submits, fyne#2323), so this extension tracks Shift
// itself in KeyDown/KeyUp and takes Return in TypedKey. OnSubmitted of the
// embedded Entry stays nil, so Shift+Return falls through to its newline.
//
// It is one line tall when empty and grows with its text, wrapped lines
// counted, up to inputMaxRows; beyond that the Entry scrolls. Owners set
// onChange, not the Entry's OnChanged, which the growing uses.
type messageEntry struct {
	widget.Entry

	shift    bool
	onSend   func()
	onChange func(string)
	rows     int
	// onPasteFiles, when set, takes a paste of files copied in a file
	// manager (paths); asText pastes the clipboard as text after all.
	onPasteFiles func(paths []string, asText func())
	// onPastePicture, when set, takes a paste of no text: the clipboard
	// may hold a picture, which Fyne's clipboard does not give.
	onPastePicture func()

	// handedBack is set when a control gives the keyboard back: the Space
	// that pressed it (or selected a row) is followed by its character,
	// which then reaches this input, the focus having moved in between.
	handedBack bool
}

func newMessageEntry(onSend func()) *messageEntry {
	e := &messageEntry{onSend: onSend, rows: 1}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(1)
	e.SetPlaceHolder("Message (Shift+Enter: new line)") // short: it must fit at the minimum width
	e.OnChanged = func(s string) {
		e.fitRows()
		if e.onChange != nil {
			e.onChange(s)
		}
	}
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut implements fyne.Shortcutable: pasting files copied in a
// file manager (Fyne's clipboard gives text: their file URIs) goes to
// onPasteFiles rather than into the text, and pasting no text (a picture,
// perhaps) to onPastePicture.
func (e *messageEntry) TypedShortcut(s fyne.Shortcut) {
	if p, ok := s.(*fyne.ShortcutPaste); ok && p.Clipboard != nil {
		text := p.Clipboard.Content()
		if paths := pastedFiles(text); len(paths) > 0 && e.onPasteFiles != nil {
			e.onPasteFiles(paths, func() { e.Entry.TypedShortcut(s) })
			return
		}
		if text == "" && e.onPastePicture != nil {
			e.onPastePicture()
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// Resize implements fyne.CanvasObject: a new width wraps the text anew.
func (e *messageEntry) Resize(size fyne.Size) {
	e.Entry.Resize(size)
	e.fitRows()
}

// fitRows sets the visible rows to the rows the text takes, from one to
// inputMaxRows.
func (e *messageEntry) fitRows() {
	var avail, size float32
	if w := e.Size().Width; w > 0 {
		th := e.Theme()
		// the text is inset by the inner padding on both sides; a little
		// more keeps an estimate at the edge from hiding a row
		avail = w - 2*th.Size(theme.SizeNameInnerPadding) - 4
		size = th.Size(theme.SizeNameText)
	}
	n := min(max(wrappedRows(e.Text, avail, size, e.TextStyle), 1), inputMaxRows)
	if n != e.rows {
		e.rows = n
		e.SetMinRowsVisible(n)
	}
}

// wrappedRows counts the rows text takes at width when wrapped at words (a
// word wider than a row is broken), as the Entry wraps it; with no width,
// its lines.
func wrappedRows(text string, width, size float32, style fyne.TextStyle) int {
	if width <= 0 {
		return strings.Count(text, "\n") + 1
	}
	measure := func(s string) float32 { return fyne.MeasureText(s, size, style).Width }
	space := measure(" ")
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		rows++
		var cur float32
		for i, word := range strings.Split(line, " ") {
			ww := measure(word)
			if i > 0 && cur+space+ww <= width {
				cur += space + ww
				continue
			}
			if i == 0 && ww <= width {
				cur = ww
				continue
			}
			if i > 0 {
				rows++
			}
			for ww > width { // a long word breaks over rows
				rows++
				ww -= width
			}
			cur = ww
		}
	}
	return rows
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

// TypedRune implements fyne.Focusable: a space right after a control
// handed the keyboard back, into an empty input, is that control's key.
func (e *messageEntry) TypedRune(r rune) {
	handedBack := e.handedBack
	e.handedBack = false
	if handedBack && r == ' ' && e.Text == "" {
		return
	}
	e.Entry.TypedRune(r)
}

// TypedKey implements fyne.Focusable.
func (e *messageEntry) TypedKey(k *fyne.KeyEvent) {
	e.handedBack = false
	if (k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter) && !e.shift {
		if e.onSend != nil && !e.Disabled() {
			e.onSend()
		}
		return
	}
	e.Entry.TypedKey(k)
}
