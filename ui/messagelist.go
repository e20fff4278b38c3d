package ui

import (
	"fmt"
	"image/color"
	"net/url"
	"slices"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// pageSize is how many rows the history pane lays out at once.
//
// widget.List needs a height per row for wrapped messages (SetItemHeight),
// and with custom heights every layout and scroll walks all of them: 10k rows
// took 1.8 s and 30k 12.9 s in a probe. So the list shows a window of the
// conversation, [first, last), of about a page, with "Show earlier messages"
// and "Show newer messages" rows at its ends that move the window. A
// 100,000-message conversation therefore opens and scrolls as fast as a
// short one (see BenchmarkOpenLargeConversation).
const pageSize = 200

// messageList is the history pane: a virtualised list of message bubbles
// and system lines that follows the newest message unless the user has
// scrolled up.
type messageList struct {
	widget.BaseWidget

	rows        []*row
	byID        map[string]*row
	first, last int // the window of rows shown

	list      *widget.List
	measurer  *bubble
	width     float32
	showWire  bool
	highlight string
	marked    string // id of the message to outline
	// partner is the name of whom the thread is with and online whether
	// it is connected, for the queued messages ("will be sent when Bob is
	// online").
	partner string
	online  bool
	// onCancel cancels a queued message (its button or menu).
	onCancel func(id string)
	// onFile is a button of a file bubble, or its thumbnail, used.
	onFile func(r *row, a fileAction)
	// shown maps the rows on screen to the bubbles showing them, so that
	// a transfer's progress redraws its bubble alone; updates counts the
	// list's redraws of rows (tests).
	shown   map[*row]*bubble
	updates int
	// onAction is called after a control in the list was used (Cancel
	// sending, a tap on a row), for the owner to take the keyboard focus
	// back.
	onAction func()
	// openURL opens a link once the user confirmed; nil is the app's OpenURL.
	openURL func(*url.URL) error
	// window shows the list: link confirmations and menus open over it
	window fyne.Window

	earlier, later row

	// newer is the "New messages" button, shown when a message arrives
	// while the reader is scrolled up; wheel speeds up the mouse wheel.
	newer *widget.Button
	wheel *wheel

	// bulk is set while many heights are set at once: each SetItemHeight
	// refreshes and lays out the whole list, so meanwhile the list is made
	// empty and its template is not rebuilt each time.
	bulk     bool
	template *bubble
}

func newMessageList(onCancel func(id string)) *messageList {
	m := &messageList{byID: map[string]*row{}, onCancel: onCancel, shown: map[*row]*bubble{}}
	m.earlier.kind, m.later.kind = rowEarlier, rowLater
	m.measurer = newBubble(nil)
	m.template = newBubble(nil)
	m.list = widget.NewList(m.length, func() fyne.CanvasObject {
		if m.bulk {
			return m.template
		}
		b := newBubble(m.buttonTapped)
		b.onLink, b.onTap, b.onMenu = m.linkTapped, m.action, m.showMenu
		b.onCancel = func(r *row) {
			m.cancel(r)
			m.action()
		}
		b.onFile = func(r *row, a fileAction) {
			if m.onFile != nil {
				m.onFile(r, a)
			}
		}
		return b
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		r := m.rowAt(id)
		b := o.(*bubble)
		if b.r != nil && m.shown[b.r] == b {
			delete(m.shown, b.r)
		}
		m.updates++
		b.set(r, m.showWire, m.highlight, r.id != "" && r.id == m.marked, m.partner, m.online)
		m.shown[r] = b
	})
	m.newer = widget.NewButtonWithIcon("New messages", theme.MoveDownIcon(), m.scrollToNewest)
	m.newer.IconPlacement = widget.ButtonIconTrailingText
	m.newer.Importance = widget.HighImportance
	m.newer.Hide()
	m.wheel = newWheel(m)
	m.list.HideSeparators = true
	// a chat pane has nothing to select
	m.list.OnSelected = func(id widget.ListItemID) {
		m.list.Unselect(id)
		m.action()
	}
	m.ExtendBaseWidget(m)
	return m
}

func (m *messageList) hasEarlier() bool { return m.first > 0 }
func (m *messageList) hasLater() bool   { return m.last < len(m.rows) }

func (m *messageList) length() int {
	if m.bulk {
		return 0
	}
	n := m.last - m.first
	if m.hasEarlier() {
		n++
	}
	if m.hasLater() {
		n++
	}
	return n
}

// rowAt maps a list item to its row.
func (m *messageList) rowAt(id widget.ListItemID) *row {
	if m.hasEarlier() {
		if id == 0 {
			m.earlier.text = fmt.Sprintf("Show earlier messages (%d more)", m.first)
			return &m.earlier
		}
		id--
	}
	if i := m.first + id; i < m.last {
		return m.rows[i]
	}
	m.later.text = fmt.Sprintf("Show newer messages (%d more)", len(m.rows)-m.last)
	return &m.later
}

// listID maps row index i (inside the window) to its list item.
func (m *messageList) listID(i int) widget.ListItemID {
	id := i - m.first
	if m.hasEarlier() {
		id++
	}
	return id
}

func (m *messageList) buttonTapped(r *row) {
	switch r.kind {
	case rowEarlier:
		m.showEarlier()
	case rowLater:
		m.showLater()
	case rowMessage:
		m.cancel(r)
	}
	m.action()
}

// cancel asks the owner to cancel r, a queued message.
func (m *messageList) cancel(r *row) {
	if m.onCancel != nil && r.id != "" && r.status == statusQueued {
		m.onCancel(r.id)
	}
}

// setPartner sets whom the thread is with and whether it is online; the
// queued messages shown say it.
func (m *messageList) setPartner(name string, online bool) {
	if name == m.partner && online == m.online {
		return
	}
	m.partner, m.online = name, online
	follow := m.width > 0 && m.atBottom()
	changed := false
	for i, r := range m.rows {
		if r.kind == rowMessage && r.outgoing && r.status == statusQueued {
			r.invalidate()
			if i >= m.first && i < m.last {
				m.update(i)
				changed = true
			}
		}
	}
	if changed && follow {
		m.list.ScrollToBottom()
	}
}

// linkTapped asks whether to open u, then opens it.
func (m *messageList) linkTapped(u *url.URL) {
	w := m.window
	if w == nil {
		return
	}
	open := m.openURL
	if open == nil {
		open = fyne.CurrentApp().OpenURL
	}
	confirmOpen(w, u, open, m.action)
}

// showMenu opens a pop-up menu at pos on the list's window.
func (m *messageList) showMenu(menu *fyne.Menu, pos fyne.Position) {
	if m.window != nil {
		widget.ShowPopUpMenuAtPosition(menu, m.window.Canvas(), pos)
	}
}

func (m *messageList) action() {
	if m.onAction != nil {
		m.onAction()
	}
}

// height returns r's height at the current width, measuring when needed.
func (m *messageList) height(r *row) float32 {
	marked := r.id != "" && r.id == m.marked
	if r.hw != m.width || r.hwire != m.showWire || r.hmark != marked || r.kind == rowEarlier || r.kind == rowLater {
		b := m.measurer
		b.r, b.showWire, b.highlight, b.marked, b.partner, b.online = r, m.showWire, m.highlight, marked, m.partner, m.online
		r.h, r.hw, r.hwire, r.hmark = b.heightFor(m.width), m.width, m.showWire, marked
	}
	return r.h
}

// measureAll sets the height of every item of the window.
func (m *messageList) measureAll() {
	if m.width <= 0 {
		return
	}
	n := m.length()
	heights := make([]float32, n)
	for id := range heights {
		heights[id] = m.height(m.rowAt(id))
	}
	m.bulk = true
	for id, h := range heights {
		m.list.SetItemHeight(id, h)
	}
	m.bulk = false
}

// contentHeight is the height of everything in the window.
func (m *messageList) contentHeight() float32 {
	sep := m.list.Theme().Size(theme.SizeNamePadding)
	var h float32
	n := m.length()
	for id := 0; id < n; id++ {
		h += m.height(m.rowAt(id))
	}
	if n > 1 {
		h += sep * float32(n-1)
	}
	return h
}

// atBottom reports whether the newest row is in view, so that new rows
// should keep it in view (fyne#6306: the list has no "stick to bottom").
func (m *messageList) atBottom() bool {
	if m.hasLater() {
		return false
	}
	view := m.list.Size().Height
	return m.list.GetScrollOffset()+view >= m.contentHeight()-2
}

// add appends a row and keeps the newest in view if it was.
func (m *messageList) add(r *row) {
	follow := m.width <= 0 || m.atBottom()
	following := !m.hasLater()
	var prev *row
	if len(m.rows) > 0 {
		prev = m.rows[len(m.rows)-1]
	}
	r.linkTo(prev)
	m.rows = append(m.rows, r)
	if r.id != "" {
		m.byID[r.id] = r
	}
	if !follow && r.kind == rowMessage {
		m.newer.Show()
	}
	if !following {
		m.list.Refresh() // only the "newer" count changed
		return
	}
	m.last++
	if follow && m.last-m.first > 2*pageSize {
		m.first = m.last - pageSize // keep the laid-out window small
		m.measureAll()
	} else if m.width > 0 {
		m.list.SetItemHeight(m.listID(len(m.rows)-1), m.height(r))
	}
	m.list.Refresh()
	if follow {
		m.list.ScrollToBottom()
	}
}

// changed re-renders the row with id after its fields changed.
func (m *messageList) changed(id string) {
	r, ok := m.byID[id]
	if !ok {
		return
	}
	follow := m.width > 0 && m.atBottom()
	r.invalidate()
	for i := m.first; i < m.last; i++ {
		if m.rows[i] != r {
			continue
		}
		// its time may have changed, and with it the grouping of it and
		// of the row after it
		m.relink(i)
		m.update(i)
		if i+1 < m.last && m.relink(i+1) {
			m.update(i + 1)
		}
		break
	}
	if follow {
		m.list.ScrollToBottom()
	}
}

// progressed redraws the row with id after a change that keeps its
// height (a transfer's progress): only the bubble showing it, if one
// does; else, as changed.
func (m *messageList) progressed(id string) {
	r, ok := m.byID[id]
	if !ok {
		return
	}
	if m.width > 0 && r.hw == m.width {
		old := r.h
		r.invalidate()
		if m.height(r) == old {
			if b := m.shown[r]; b != nil && b.r == r {
				b.refreshFile()
			}
			return
		}
	}
	m.changed(id)
}

// insert puts r among the rows by its time, after every row of the same
// time or earlier (a row with no time goes last), keeping the newest in
// view if it was.
func (m *messageList) insert(r *row) {
	i := len(m.rows)
	if !r.time.IsZero() {
		for i > 0 && !m.rows[i-1].time.IsZero() && m.rows[i-1].time.After(r.time) {
			i--
		}
	}
	if i == len(m.rows) {
		m.add(r)
		return
	}
	follow := m.width > 0 && m.atBottom()
	m.rows = slices.Insert(m.rows, i, r)
	if r.id != "" {
		m.byID[r.id] = r
	}
	m.relink(i)
	m.relink(i + 1)
	switch {
	case i < m.first:
		m.first++
		m.last++
	case i < m.last:
		m.last++
	}
	m.measureAll()
	m.list.Refresh()
	if follow {
		m.list.ScrollToBottom()
	}
}

// relink sets the grouping and date line of rows[i] from the row before.
func (m *messageList) relink(i int) bool {
	var prev *row
	if i > 0 {
		prev = m.rows[i-1]
	}
	return m.rows[i].linkTo(prev)
}

// update remeasures and redraws rows[i], which is in the window.
func (m *messageList) update(i int) {
	lid := m.listID(i)
	if m.width > 0 {
		m.list.SetItemHeight(lid, m.height(m.rows[i]))
	}
	m.list.RefreshItem(lid)
}

// setRows replaces the content. focus is the index of a row to open the
// window at and outline, or -1 for the newest.
func (m *messageList) setRows(rows []*row, focus int) {
	m.rows = rows
	m.byID = make(map[string]*row, len(rows))
	for i, r := range rows {
		if r.id != "" {
			m.byID[r.id] = r
		}
		m.relink(i)
	}
	m.marked = ""
	if focus < 0 || focus >= len(rows) {
		m.last = len(rows)
		m.first = max(0, m.last-pageSize)
	} else {
		m.first = max(0, focus-pageSize/2)
		m.last = min(len(rows), m.first+pageSize)
		m.marked = rows[focus].id
	}
	m.measureAll()
	m.list.Refresh()
	if focus < 0 || focus >= len(rows) {
		m.list.ScrollToBottom()
	} else {
		m.list.ScrollTo(m.listID(focus))
	}
}

// showEarlier moves the window one page back, keeping what is in view in place.
func (m *messageList) showEarlier() {
	old := m.first
	m.first = max(0, m.first-pageSize)
	m.measureAll()
	m.list.Refresh()
	m.list.ScrollTo(m.listID(old))
}

// showLater moves the window's end one page on.
func (m *messageList) showLater() {
	m.last = min(len(m.rows), m.last+pageSize)
	m.measureAll()
	m.list.Refresh()
}

// setShowWire turns the "what the network sees" lines on or off.
func (m *messageList) setShowWire(on bool) {
	follow := m.width > 0 && m.atBottom()
	m.showWire = on
	m.measureAll()
	m.list.Refresh()
	if follow {
		m.list.ScrollToBottom()
	}
}

// setHighlight emphasises term in every message.
func (m *messageList) setHighlight(term string) {
	m.highlight = term
	for _, r := range m.rows {
		r.invalidate()
	}
	m.measureAll()
	m.list.Refresh()
}

// Resize remeasures the rows when the width changes.
func (m *messageList) Resize(size fyne.Size) {
	if size.Width != m.width {
		follow := m.width <= 0 || m.atBottom()
		m.width = size.Width
		m.measureAll()
		m.BaseWidget.Resize(size)
		m.list.Refresh()
		if follow {
			m.list.ScrollToBottom()
		}
		return
	}
	if size.Height != m.Size().Height && m.width > 0 {
		// a taller bar or header above the input: the newest row stays in
		// view if it was
		follow := m.atBottom()
		m.BaseWidget.Resize(size)
		if follow {
			m.list.ScrollToBottom()
		}
		return
	}
	m.BaseWidget.Resize(size)
}

// scrollToNewest shows the newest message and hides the "New messages"
// button.
func (m *messageList) scrollToNewest() {
	if m.hasLater() {
		m.last = len(m.rows)
		m.first = max(0, m.last-pageSize)
		m.measureAll()
		m.list.Refresh()
	}
	m.list.ScrollToBottom()
	m.newer.Hide()
	m.action()
}

// scrolled is called after the reader scrolled: at the newest message the
// "New messages" button has done its job.
func (m *messageList) scrolled() {
	if m.newer.Visible() && m.atBottom() {
		m.newer.Hide()
	}
}

// CreateRenderer implements fyne.Widget.
func (m *messageList) CreateRenderer() fyne.WidgetRenderer {
	button := container.NewBorder(nil, container.NewPadded(container.NewCenter(m.newer)), nil, nil)
	return widget.NewSimpleRenderer(container.NewStack(m.list, m.wheel, button))
}

// wheelStep multiplies the mouse wheel's steps: Fyne moves a list 25 pixels
// a notch on Linux and Windows (10 on macOS), about one line of text, where
// desktop apps move about three.
const wheelStep = 2.5

// wheel lies over the list and takes its scroll events: it scrolls the
// list by wheelStep times as much and then tells the list. It is only
// fyne.Scrollable, so taps and hovering reach the rows beneath.
type wheel struct {
	widget.BaseWidget
	m *messageList
}

func newWheel(m *messageList) *wheel {
	w := &wheel{m: m}
	w.ExtendBaseWidget(w)
	return w
}

// Scrolled implements fyne.Scrollable.
func (w *wheel) Scrolled(ev *fyne.ScrollEvent) {
	l := w.m.list
	l.ScrollToOffset(l.GetScrollOffset() - ev.Scrolled.DY*wheelStep)
	w.m.scrolled()
}

// CreateRenderer implements fyne.Widget.
func (w *wheel) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}
