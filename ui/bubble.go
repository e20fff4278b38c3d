package ui

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/transfer"
)

// rowKind tells what one row of the history pane shows.
type rowKind int

const (
	rowMessage rowKind = iota // a chat message, ours or the partner's
	rowSystem                 // a centred line: "Partner has disconnected"
	rowEarlier                // "Show earlier messages" (paging)
	rowLater                  // "Show newer messages" (paging)
	rowFile                   // a file transfer, ours or the partner's
)

// msgStatus is the delivery state of one of our messages.
type msgStatus int

const (
	statusNone      msgStatus = iota
	statusSending             // written by older code: sent, not yet acknowledged
	statusDelivered           // the partner acknowledged it
	statusFailed              // written by older code: the send failed
	statusQueued              // durably in the outbox: goes out whenever the partner is online
	statusCancelled           // cancelled while queued: never sent
)

func (s msgStatus) String() string {
	switch s {
	case statusSending, statusQueued:
		return "sending…"
	case statusDelivered:
		return "delivered"
	case statusFailed:
		return "not delivered"
	case statusCancelled:
		return "cancelled, not sent"
	}
	return ""
}

// final reports whether nothing changes s any more: a delivered message
// stays delivered, a cancelled one cancelled.
func (s msgStatus) final() bool { return s == statusDelivered || s == statusCancelled }

// statusFromHistory maps a stored status to the one shown.
func statusFromHistory(s string) msgStatus {
	switch s {
	case history.StatusDelivered:
		return statusDelivered
	case history.StatusFailed:
		return statusFailed
	case history.StatusQueued:
		return statusQueued
	case history.StatusCancelled:
		return statusCancelled
	}
	return statusSending
}

// icon is the theme icon drawn beside the status text, in the status colour.
// Icons, not glyphs such as ✓: a glyph can be missing from the font.
func (s msgStatus) icon(readOnly bool) fyne.Resource {
	switch {
	case s == statusSending && readOnly:
		return theme.NewColoredResource(theme.QuestionIcon(), theme.ColorNamePlaceHolder)
	case s == statusSending, s == statusQueued:
		return theme.NewColoredResource(theme.HistoryIcon(), theme.ColorNamePlaceHolder)
	case s == statusCancelled:
		return theme.NewColoredResource(theme.CancelIcon(), theme.ColorNamePlaceHolder)
	case s == statusDelivered:
		return theme.NewColoredResource(theme.ConfirmIcon(), theme.ColorNamePlaceHolder)
	case s == statusFailed:
		return theme.NewColoredResource(theme.ErrorIcon(), theme.ColorNameError)
	}
	return nil
}

// row is one entry of the history pane. Rows are owned by the UI goroutine.
type row struct {
	kind     rowKind
	id       string
	outgoing bool
	from     string
	text     string
	time     time.Time
	status   msgStatus
	reason   string
	wire     []byte
	level    noteLevel // of a system line: how loudly it is shown
	readOnly bool      // read from the history, not sent in this run
	// file is the transfer a rowFile shows, and thumb its thumbnail once
	// made (nil until then, or for a file that is not a picture).
	file  transfer.Transfer
	thumb image.Image
	// set by the list from the row before: grouped hides the header of a
	// message that follows one from the same sender within groupGap;
	// dayBreak puts a date line ("Today") above the first row of a day.
	grouped, dayBreak bool

	// cached height for width hw and wire view hwire
	h, hw float32
	hwire bool
	hmark bool
}

func (r *row) invalidate() { r.hw = 0 }

// clock is the time now: the date lines say Today and Yesterday from it,
// and new notes are stamped with it. Golden-image tests fix it.
var clock = time.Now

// noteLevel is how loudly a system line is shown.
type noteLevel int

const (
	noteInfo    noteLevel = iota // connected, declined: plain text
	noteWarning                  // disconnected: warning colour and icon
	noteDanger                   // key changed, lookalike, errors: error colour, icon, bold
)

// groupGap is how soon a message must follow the sender's previous one to
// be shown under the same header.
const groupGap = 5 * time.Minute

// linkTo sets r's grouping and date line from prev, the row shown before
// it (nil for the first), and reports whether they changed.
func (r *row) linkTo(prev *row) bool {
	grouped, dayBreak := false, false
	if !r.time.IsZero() {
		dayBreak = prev == nil || prev.time.IsZero() || !sameDay(prev.time, r.time)
	}
	if prev != nil && !dayBreak && r.kind == rowMessage && prev.kind == rowMessage &&
		prev.outgoing == r.outgoing && prev.from == r.from && !prev.time.IsZero() && !r.time.IsZero() {
		d := r.time.Sub(prev.time)
		grouped = d >= -time.Minute && d <= groupGap
	}
	if grouped == r.grouped && dayBreak == r.dayBreak {
		return false
	}
	r.grouped, r.dayBreak = grouped, dayBreak
	r.invalidate()
	return true
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Local().Date()
	by, bm, bd := b.Local().Date()
	return ay == by && am == bm && ad == bd
}

// dayLabel names t's day for the date line: Today, Yesterday, the weekday
// and date this year, or the full date.
func dayLabel(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	switch {
	case sameDay(t, now):
		return "Today"
	case sameDay(t, now.AddDate(0, 0, -1)):
		return "Yesterday"
	case t.Year() == now.Year():
		return t.Format("Monday 2 January")
	}
	return t.Format("Monday 2 January 2006")
}

// wireSummary renders sealed bytes the way a capture tool would: the size,
// then the first and last bytes in hex.
func wireSummary(b []byte) string {
	const head, tail = 24, 8
	var s string
	if len(b) <= head+tail {
		s = spacedHex(b)
	} else {
		s = spacedHex(b[:head]) + " … " + spacedHex(b[len(b)-tail:])
	}
	return fmt.Sprintf("on the wire: %d bytes, sealed\n%s", len(b), s)
}

func spacedHex(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// bubble shows one row: a message bubble, a system line or a paging button.
type bubble struct {
	widget.BaseWidget

	r         *row
	showWire  bool
	highlight string // search term to emphasise
	marked    bool   // outline (the search hit opened)
	// partner is the name of whom the thread is with, and online whether
	// it is connected: a queued message says whom it waits for.
	partner  string
	online   bool
	onButton func(r *row)
	onCancel func(r *row)                    // "Cancel sending" in the menu of a queued message
	onFile   func(r *row, a fileAction)      // a button of a file bubble, or its thumbnail
	onLink   func(u *url.URL)                // a link in the text was tapped
	onTap    func()                          // the bubble was tapped or its menu used
	onMenu   func(*fyne.Menu, fyne.Position) // opens a menu there
	menu     *fyne.Menu                      // the menu last opened

	rend *bubbleRenderer // the renderer last created, for measuring
}

func newBubble(onButton func(r *row)) *bubble {
	b := &bubble{onButton: onButton, r: &row{kind: rowSystem}}
	b.ExtendBaseWidget(b)
	return b
}

// set shows r; it is called from the list's UpdateItem.
func (b *bubble) set(r *row, showWire bool, highlight string, marked bool, partner string, online bool) {
	b.r, b.showWire, b.highlight, b.marked, b.partner, b.online = r, showWire, highlight, marked, partner, online
	b.Refresh()
}

// waiting reports whether b shows a queued message waiting for its
// partner to come online: it then says so and offers to cancel it.
func (b *bubble) waiting() bool {
	return b.r.kind == rowMessage && b.r.outgoing && b.r.status == statusQueued && !b.online
}

// statusText is the delivery state of our message in words.
func (b *bubble) statusText() string {
	r := b.r
	switch {
	case r.status == statusQueued && !b.online:
		if b.partner == "" {
			return "will be sent when your contact is online"
		}
		return "will be sent when " + b.partner + " is online"
	case r.readOnly && r.status == statusSending:
		return "not acknowledged" // the chat ended before the partner confirmed it
	case r.status == statusFailed && r.reason != "":
		return r.status.String() + ": " + r.reason
	}
	return r.status.String()
}

// Tapped implements fyne.Tappable: a tap on a message does nothing but
// give the focus back to its owner (the input of the chat).
func (b *bubble) Tapped(*fyne.PointEvent) {
	if b.onTap != nil {
		b.onTap()
	}
}

// TappedSecondary implements fyne.SecondaryTappable: a right click opens a
// menu to copy the text, or a link in it.
//
// Copying works on the whole message rather than a selection: the bubble's
// text is a RichText (for links, search highlights and the wire bytes),
// and RichText cannot be selected in Fyne 2.8; a selectable Label could,
// but has neither links nor highlights.
func (b *bubble) TappedSecondary(pe *fyne.PointEvent) {
	items := b.menuItems()
	if len(items) == 0 || b.onMenu == nil {
		return
	}
	if b.onTap != nil {
		// the click took the focus away; a menu closed without a choice
		// must leave it with the input too
		b.onTap()
	}
	b.menu = fyne.NewMenu("", items...)
	b.onMenu(b.menu, pe.AbsolutePosition)
}

// menuItems are the copy actions for the row shown.
func (b *bubble) menuItems() []*fyne.MenuItem {
	r := b.r
	if r.kind != rowMessage && r.kind != rowSystem {
		return nil
	}
	item := func(label, text string) *fyne.MenuItem {
		return fyne.NewMenuItem(label, func() {
			copyText(text)
			if b.onTap != nil {
				b.onTap()
			}
		})
	}
	label := "Copy message"
	if r.kind == rowSystem {
		label = "Copy text"
	}
	items := []*fyne.MenuItem{item(label, r.text)}
	if r.kind == rowMessage && r.outgoing && r.status == statusQueued && b.onCancel != nil {
		items = append(items, fyne.NewMenuItem("Cancel sending", func() { b.onCancel(r) }))
	}
	if r.kind == rowMessage {
		_, urls := findLinks(r.text)
		for _, u := range urls {
			items = append(items, item("Copy link "+shorten(u.String(), 60), u.String()))
		}
	}
	return items
}

// CreateRenderer implements fyne.Widget.
func (b *bubble) CreateRenderer() fyne.WidgetRenderer {
	r := &bubbleRenderer{
		b:          b,
		bg:         canvas.NewRectangle(color.Transparent),
		text:       widget.NewRichText(),
		status:     widget.NewRichText(),
		statusIcon: widget.NewIcon(nil),
		day:        canvas.NewText("", color.Transparent),
	}
	r.day.Alignment = fyne.TextAlignCenter
	r.day.TextStyle.Bold = true
	r.text.Wrapping = fyne.TextWrapWord
	r.status.Wrapping = fyne.TextWrapWord
	r.button = widget.NewButton("", func() {
		if b.onButton != nil {
			b.onButton(b.r)
		}
	})
	r.button.Importance = widget.LowImportance
	r.update()
	b.rend = r
	return r
}

// heightFor returns the height b needs at width, measuring with its own renderer.
func (b *bubble) heightFor(width float32) float32 {
	if b.rend == nil {
		b.CreateRenderer()
	}
	b.rend.update()
	return b.rend.geometry(width).height
}

type bubbleRenderer struct {
	b          *bubble
	bg         *canvas.Rectangle
	text       *widget.RichText
	status     *widget.RichText // the delivery state of our message, under text
	statusIcon *widget.Icon     // left of status
	button     *widget.Button
	day        *canvas.Text // the date line above the first row of a day
	file       *fileView    // the inside of a file bubble; made for the first one
}

type bubbleGeometry struct {
	bgPos, textPos, statusPos, iconPos, buttonPos, dayPos, filePos        fyne.Position
	bgSize, textSize, statusSize, iconSize, buttonSize, daySize, fileSize fyne.Size
	height                                                                float32
	showBG, showText, showStatus, showButton, showDay, showIcon, showFile bool
}

// dayHeight is the height of the date line band, or 0 without one.
func (r *bubbleRenderer) dayHeight() float32 {
	if !r.b.r.dayBreak || r.b.r.kind == rowEarlier || r.b.r.kind == rowLater {
		return 0
	}
	th := r.th()
	return fyne.MeasureText("Ag", th.Size(theme.SizeNameText), r.day.TextStyle).Height + 2*th.Size(theme.SizeNamePadding)
}

// geometry lays the row out at width: the date line, if any, then the row.
func (r *bubbleRenderer) geometry(width float32) bubbleGeometry {
	g := r.rowGeometry(width)
	top := r.dayHeight()
	if top == 0 {
		return g
	}
	pad := r.th().Size(theme.SizeNamePadding)
	for _, p := range []*fyne.Position{&g.bgPos, &g.textPos, &g.statusPos, &g.iconPos, &g.buttonPos, &g.filePos} {
		p.Y += top
	}
	g.showDay = true
	g.dayPos = fyne.NewPos(0, pad)
	g.daySize = fyne.NewSize(width, top-2*pad)
	g.height += top
	return g
}

const (
	bubbleMaxFraction = 0.78 // of the pane's width
	bubbleMinWidth    = 220
)

func (r *bubbleRenderer) th() fyne.Theme { return r.b.Theme() }

// rowGeometry lays the row out at width. The list measures every row
// through this same function, so the heights it sets are the ones drawn.
func (r *bubbleRenderer) rowGeometry(width float32) bubbleGeometry {
	th := r.th()
	pad := th.Size(theme.SizeNamePadding)
	var g bubbleGeometry
	row := r.b.r
	switch row.kind {
	case rowEarlier, rowLater:
		bs := r.button.MinSize()
		g.showButton = true
		g.buttonSize = bs
		g.buttonPos = fyne.NewPos((width-bs.Width)/2, pad)
		g.height = bs.Height + 2*pad
		return g
	case rowSystem:
		w := width - 8*pad
		if w < 50 {
			w = 50
		}
		g.showText = true
		if row.level == noteInfo {
			g.textSize = fyne.NewSize(w, r.textHeight(w))
			g.textPos = fyne.NewPos((width-w)/2, 0)
			g.height = g.textSize.Height
			return g
		}
		// a band in the note's colour with its icon left of the text,
		// centred, as wide as the text needs
		th := r.th()
		icon := th.Size(theme.SizeNameInlineIcon)
		inner := th.Size(theme.SizeNameInnerPadding)
		tw := min(r.naturalWidth(), w-icon-inner)
		g.textSize = fyne.NewSize(tw, r.textHeight(tw))
		boxW := inner + icon + tw
		x := (width - boxW) / 2
		line := fyne.MeasureText("Ag", th.Size(theme.SizeNameText), fyne.TextStyle{Bold: true}).Height
		g.showBG, g.showIcon = true, true
		g.bgPos = fyne.NewPos(x, pad)
		g.bgSize = fyne.NewSize(boxW, g.textSize.Height)
		g.iconSize = fyne.NewSquareSize(icon)
		g.iconPos = fyne.NewPos(x+inner, pad+inner+(line-icon)/2)
		g.textPos = fyne.NewPos(x+inner+icon, pad)
		g.height = g.textSize.Height + 2*pad
		return g
	}

	maxW := width * bubbleMaxFraction
	if maxW < bubbleMinWidth {
		maxW = width - 2*pad
	}
	if row.kind == rowFile {
		return r.fileGeometry(width, min(maxW, fileBubbleWidth))
	}
	w := max(r.naturalWidth(), r.statusWidth())
	if r.b.showWire && len(row.wire) > 0 {
		w = maxW // the hex wraps to the full bubble width
	}
	if w > maxW {
		w = maxW
	}
	g.showBG, g.showText = true, true
	g.textSize = fyne.NewSize(w, r.textHeight(w))
	h := g.textSize.Height
	var statusY float32
	if len(r.status.Segments) > 0 {
		// The status sits right-aligned under the text, its icon to the left
		// of its first line; the two rich texts share their inner padding.
		inner := th.Size(theme.SizeNameInnerPadding)
		icon := r.statusIconSize()
		sw := min(r.statusWidth()-icon-inner/2, w-icon-inner/2)
		g.showStatus = true
		g.statusSize = fyne.NewSize(sw, r.statusHeight(sw))
		statusY = h - inner
		h = statusY + g.statusSize.Height
		line := fyne.MeasureText("Ag", th.Size(theme.SizeNameCaptionText), fyne.TextStyle{}).Height
		g.iconSize = fyne.NewSquareSize(icon)
		g.iconPos = fyne.NewPos(w-sw-icon+inner/2, statusY+inner+(line-icon)/2)
		g.statusPos = fyne.NewPos(w-sw, statusY)
	}
	if r.b.waiting() {
		g.showButton = true
		g.buttonSize = r.button.MinSize()
		h += g.buttonSize.Height
		if g.buttonSize.Width > w {
			w = g.buttonSize.Width
		}
	}
	x := pad
	if row.outgoing {
		x = width - pad - w
	}
	g.bgPos = fyne.NewPos(x, pad)
	g.bgSize = fyne.NewSize(w, h)
	g.textPos = g.bgPos
	g.statusPos = g.statusPos.AddXY(x, pad)
	g.iconPos = g.iconPos.AddXY(x, pad)
	content := g.textSize.Height
	if g.showStatus {
		content = statusY + g.statusSize.Height
	}
	g.buttonPos = fyne.NewPos(x+w-g.buttonSize.Width, pad+content-pad)
	g.height = h + 2*pad
	return g
}

// fileGeometry lays a file bubble out at width, the bubble w wide: the
// header (unless grouped), then the file view.
func (r *bubbleRenderer) fileGeometry(width, w float32) bubbleGeometry {
	pad := r.th().Size(theme.SizeNamePadding)
	var g bubbleGeometry
	var h float32
	if len(r.text.Segments) > 0 {
		g.showText = true
		g.textSize = fyne.NewSize(w, r.textHeight(w))
		h = g.textSize.Height - pad
	}
	fv := r.fileView()
	g.showBG, g.showFile = true, true
	g.fileSize = fyne.NewSize(w, fv.heightFor(w))
	x := pad
	if r.b.r.outgoing {
		x = width - pad - w
	}
	g.bgPos = fyne.NewPos(x, pad)
	g.textPos = g.bgPos
	g.filePos = fyne.NewPos(x, pad+h)
	h += g.fileSize.Height
	g.bgSize = fyne.NewSize(w, h)
	g.height = h + 2*pad
	return g
}

// fileView returns the inside of a file bubble, made the first time a
// file is shown.
func (r *bubbleRenderer) fileView() *fileView {
	if r.file == nil {
		b := r.b
		r.file = newFileView()
		r.file.onAction = func(a fileAction) {
			if b.onFile != nil {
				b.onFile(b.r, a)
			}
		}
	}
	return r.file
}

// naturalWidth is the width the text needs unwrapped, inner padding
// included. Inline segments (a highlighted search term) continue the line.
func (r *bubbleRenderer) naturalWidth() float32 {
	th := r.th()
	inner := th.Size(theme.SizeNameInnerPadding)
	var widest, line float32
	for _, seg := range r.text.Segments {
		if h, ok := seg.(*widget.HyperlinkSegment); ok {
			line += fyne.MeasureText(h.Text, th.Size(theme.SizeNameText), h.TextStyle).Width
			widest = max(widest, line)
			continue
		}
		ts, ok := seg.(*widget.TextSegment)
		if !ok {
			continue
		}
		name := ts.Style.SizeName
		if name == "" {
			name = theme.SizeNameText
		}
		size := th.Size(name)
		for i, part := range strings.Split(ts.Text, "\n") {
			if i > 0 {
				line = 0
			}
			line += fyne.MeasureText(part, size, ts.Style.TextStyle).Width
			widest = max(widest, line)
		}
		if !ts.Inline() {
			line = 0
		}
	}
	// a little slack against rounding
	return widest + 2*inner + 2
}

// statusIconSize is the side of the status icon: a little more than a
// line of caption text.
func (r *bubbleRenderer) statusIconSize() float32 {
	return r.th().Size(theme.SizeNameCaptionText) + 2
}

// statusWidth is the width the status needs unwrapped with its icon, or 0
// when the row has no status.
func (r *bubbleRenderer) statusWidth() float32 {
	if len(r.status.Segments) == 0 {
		return 0
	}
	th := r.th()
	ts := r.status.Segments[0].(*widget.TextSegment)
	inner := th.Size(theme.SizeNameInnerPadding)
	tw := fyne.MeasureText(ts.Text, th.Size(theme.SizeNameCaptionText), ts.Style.TextStyle).Width
	return r.statusIconSize() + inner/2 + tw + 2*inner + 2
}

func (r *bubbleRenderer) statusHeight(w float32) float32 {
	r.status.Resize(fyne.NewSize(w, r.status.Size().Height))
	return r.status.MinSize().Height
}

func (r *bubbleRenderer) textHeight(w float32) float32 {
	r.text.Resize(fyne.NewSize(w, r.text.Size().Height))
	return r.text.MinSize().Height
}

// update turns the row into RichText segments and colours.
func (r *bubbleRenderer) update() {
	b, row := r.b, r.b.r
	th := r.th()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius) * 2
	r.bg.StrokeWidth = 0
	r.updateDay(th, v)
	switch row.kind {
	case rowEarlier, rowLater:
		r.updateStatus()
		r.setButton(row.text, nil, widget.LowImportance)
		return
	case rowSystem:
		r.updateStatus()
		r.updateNote(th, v)
		return
	case rowFile:
		r.updateStatus()
		r.updateFile(th, v)
		return
	}

	var segs []widget.RichTextSegment
	if !row.grouped { // a message right after the same sender's goes without
		header := row.from
		if row.outgoing {
			header = "You"
		}
		if !row.time.IsZero() {
			// the date is on the date line above the day's first row
			header += "  ·  " + row.time.Local().Format("15:04")
		}
		segs = append(segs, &widget.TextSegment{Text: header, Style: widget.RichTextStyle{
			ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText,
			TextStyle: fyne.TextStyle{Bold: true}}})
	}
	segs = append(segs, bodySegments(row.text, b.highlight, b.onLink)...)
	r.updateStatus()
	if b.showWire && len(row.wire) > 0 {
		segs = append(segs, &widget.TextSegment{Text: wireSummary(row.wire), Style: widget.RichTextStyle{
			ColorName: theme.ColorNameSuccess, SizeName: theme.SizeNameCaptionText,
			TextStyle: fyne.TextStyle{Monospace: true}}})
	}
	r.text.Segments = segs
	r.text.Refresh()

	switch {
	case row.status == statusFailed:
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNameError, v), 0x30)
	case row.status == statusCancelled:
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNameDisabled, v), 0x30)
	case row.outgoing:
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNamePrimary, v), 0x38)
	default:
		r.bg.FillColor = th.Color(theme.ColorNameInputBackground, v)
	}
	if b.marked {
		r.bg.StrokeColor = th.Color(theme.ColorNamePrimary, v)
		r.bg.StrokeWidth = 2
	}
	r.bg.Refresh()
	if b.waiting() {
		// text only: the icon of a button first drawn without one did not
		// show in the GL driver, leaving a gap
		r.setButton("Cancel sending", nil, widget.LowImportance)
	}
}

// updateFile shows a file bubble: the header as a message has one, the
// transfer in the file view.
func (r *bubbleRenderer) updateFile(th fyne.Theme, v fyne.ThemeVariant) {
	row := r.b.r
	header := row.from
	if row.outgoing {
		header = "You"
	}
	if !row.time.IsZero() {
		header += "  ·  " + row.time.Local().Format("15:04")
	}
	r.text.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: header, Style: widget.RichTextStyle{
		ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText,
		TextStyle: fyne.TextStyle{Bold: true}}}}
	r.text.Refresh()
	r.fileView().set(row.file, r.b.partner, row.thumb)
	switch {
	case row.file.State == transfer.StateFailed:
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNameError, v), 0x30)
	case row.outgoing:
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNamePrimary, v), 0x38)
	default:
		r.bg.FillColor = th.Color(theme.ColorNameInputBackground, v)
	}
	if r.b.marked {
		r.bg.StrokeColor = th.Color(theme.ColorNamePrimary, v)
		r.bg.StrokeWidth = 2
	}
	r.bg.Refresh()
}

// refreshFile redraws only the file view of a file bubble whose height
// stays (progress): nothing else of the bubble, nor of the list, changes.
func (b *bubble) refreshFile() {
	r := b.rend
	if r == nil || r.file == nil || b.r.kind != rowFile {
		b.Refresh()
		return
	}
	r.file.set(b.r.file, b.partner, b.r.thumb)
	r.file.Refresh()
}

// updateNote shows a system line: ordinary notes as plain centred text,
// warnings and dangers in their colour with an icon on a tinted band.
func (r *bubbleRenderer) updateNote(th fyne.Theme, v fyne.ThemeVariant) {
	row := r.b.r
	style := widget.RichTextStyle{Alignment: fyne.TextAlignCenter, ColorName: theme.ColorNameForeground}
	var icon fyne.Resource
	switch row.level {
	case noteWarning:
		style = widget.RichTextStyle{ColorName: theme.ColorNameWarning}
		icon = theme.NewColoredResource(theme.WarningIcon(), theme.ColorNameWarning)
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNameWarning, v), 0x28)
	case noteDanger:
		style = widget.RichTextStyle{ColorName: theme.ColorNameError, TextStyle: fyne.TextStyle{Bold: true}}
		icon = theme.NewColoredResource(theme.ErrorIcon(), theme.ColorNameError)
		r.bg.FillColor = withAlpha(th.Color(theme.ColorNameError, v), 0x30)
	}
	r.text.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: row.text, Style: style}}
	r.text.Refresh()
	if icon != nil {
		r.bg.Refresh()
		if cur := r.statusIcon.Resource; cur == nil || cur.Name() != icon.Name() {
			r.statusIcon.SetResource(icon)
		}
	}
}

// updateDay sets the date line's text and colour.
func (r *bubbleRenderer) updateDay(th fyne.Theme, v fyne.ThemeVariant) {
	text := ""
	if r.b.r.dayBreak {
		text = dayLabel(r.b.r.time, clock())
	}
	r.day.Text = text
	r.day.TextSize = th.Size(theme.SizeNameText)
	r.day.Color = th.Color(theme.ColorNameForeground, v)
	r.day.Refresh()
}

// updateStatus shows the delivery state of our message: a theme icon and
// a line of text.
func (r *bubbleRenderer) updateStatus() {
	row := r.b.r
	if row.kind != rowMessage || !row.outgoing || row.status == statusNone {
		if len(r.status.Segments) > 0 {
			r.status.Segments = nil
			r.status.Refresh()
		}
		return
	}
	st := r.b.statusText()
	c := theme.ColorNamePlaceHolder
	if row.status == statusFailed {
		c = theme.ColorNameError
	}
	r.status.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: st, Style: widget.RichTextStyle{
		Alignment: fyne.TextAlignTrailing, ColorName: c, SizeName: theme.SizeNameCaptionText}}}
	r.status.Refresh()
	// an icon refresh re-renders it: change it only when it differs
	icon := row.status.icon(row.readOnly)
	if cur := r.statusIcon.Resource; cur == nil || cur.Name() != icon.Name() {
		r.statusIcon.SetResource(icon)
	}
}

// setButton changes the button only where it differs: a button refresh
// re-renders its icon, which is slow when done for every row.
func (r *bubbleRenderer) setButton(text string, icon fyne.Resource, imp widget.Importance) {
	b := r.button
	if b.Text == text && b.Icon == icon && b.Importance == imp {
		return
	}
	b.Text, b.Icon, b.Importance = text, icon, imp
	b.Refresh()
}

// highlightSegments splits text so that every case-insensitive occurrence
// of term is emphasised.
func highlightSegments(text, term string) []widget.RichTextSegment {
	plain := widget.RichTextStyle{Inline: true}
	if term == "" {
		return []widget.RichTextSegment{&widget.TextSegment{Text: text}}
	}
	var segs []widget.RichTextSegment
	lower, lterm := strings.ToLower(text), strings.ToLower(term)
	for {
		i := strings.Index(lower, lterm)
		if i < 0 || len(lower) != len(text) {
			break
		}
		if i > 0 {
			segs = append(segs, &widget.TextSegment{Text: text[:i], Style: plain})
		}
		segs = append(segs, &widget.TextSegment{Text: text[i : i+len(term)], Style: widget.RichTextStyle{
			Inline: true, ColorName: theme.ColorNamePrimary, TextStyle: fyne.TextStyle{Bold: true}}})
		text, lower = text[i+len(term):], lower[i+len(term):]
	}
	segs = append(segs, &widget.TextSegment{Text: text})
	return segs
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

func (r *bubbleRenderer) Layout(size fyne.Size) {
	g := r.geometry(size.Width)
	r.bg.Move(g.bgPos)
	r.bg.Resize(g.bgSize)
	r.text.Move(g.textPos)
	r.text.Resize(g.textSize)
	r.status.Move(g.statusPos)
	r.status.Resize(g.statusSize)
	r.statusIcon.Move(g.iconPos)
	r.statusIcon.Resize(g.iconSize)
	r.button.Move(g.buttonPos)
	r.button.Resize(g.buttonSize)
	r.day.Move(g.dayPos)
	r.day.Resize(g.daySize)
	r.day.Hidden = !g.showDay
	if r.file != nil {
		r.file.Move(g.filePos)
		r.file.Resize(g.fileSize)
		r.file.Hidden = !g.showFile
	}
	r.bg.Hidden = !g.showBG
	r.text.Hidden = !g.showText
	r.status.Hidden = !g.showStatus
	r.statusIcon.Hidden = !g.showStatus && !g.showIcon
	r.button.Hidden = !g.showButton
}

func (r *bubbleRenderer) MinSize() fyne.Size {
	return fyne.NewSize(bubbleMinWidth/2, r.th().Size(theme.SizeNameText)*2)
}

func (r *bubbleRenderer) Refresh() {
	r.update()
	r.Layout(r.b.Size())
	canvas.Refresh(r.b)
}

func (r *bubbleRenderer) Objects() []fyne.CanvasObject {
	if r.file != nil {
		return []fyne.CanvasObject{r.day, r.bg, r.text, r.status, r.statusIcon, r.button, r.file}
	}
	return []fyne.CanvasObject{r.day, r.bg, r.text, r.status, r.statusIcon, r.button}
}

func (r *bubbleRenderer) Destroy() {}
