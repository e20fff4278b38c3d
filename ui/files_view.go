package ui

import (
	"image"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/transfer"
)

// fileAction is what the user did in a file bubble.
type fileAction int

const (
	fileAccept  fileAction = iota + 1 // Accept an incoming offer
	fileDecline                       // Decline it
	fileCancel                        // Cancel an unfinished transfer
	fileSave                          // Save as… a complete file
	fileOpen                          // the thumbnail was tapped: show the picture
)

// thumbSide bounds the side of a thumbnail, in pixels.
const thumbSide = 240

// fileBubbleWidth is the width of a file bubble where the pane allows it.
const fileBubbleWidth = 300

// fileView is the inside of a file bubble: the thumbnail of a picture or
// a file icon, the name, size and type, and what the transfer's state
// calls for (buttons, a progress bar, a line of words). It lays itself
// out by one function, geometry, which the list also measures with.
type fileView struct {
	widget.BaseWidget

	t        transfer.Transfer
	partner  string
	thumb    image.Image
	onAction func(fileAction)

	picture *thumbView
	icon    *widget.Icon
	head    *widget.RichText // the name, then the size and type
	bar     *widget.ProgressBar
	state   *widget.RichText
	accept  *widget.Button
	decline *widget.Button
	cancel  *widget.Button
	save    *widget.Button
}

func newFileView() *fileView {
	v := &fileView{}
	act := func(a fileAction) func() {
		return func() {
			if v.onAction != nil {
				v.onAction(a)
			}
		}
	}
	v.picture = newThumbView(act(fileOpen))
	v.icon = widget.NewIcon(theme.FileIcon())
	v.head = widget.NewRichText()
	v.head.Wrapping = fyne.TextWrapBreak
	v.bar = widget.NewProgressBar()
	v.state = widget.NewRichText()
	v.state.Wrapping = fyne.TextWrapWord
	v.accept = widget.NewButton("Accept", act(fileAccept))
	v.accept.Importance = widget.HighImportance
	v.decline = widget.NewButton("Decline", act(fileDecline))
	v.cancel = widget.NewButton("Cancel", act(fileCancel))
	v.save = widget.NewButton("Save as…", act(fileSave))
	v.ExtendBaseWidget(v)
	return v
}

// set shows transfer t of the thread with partner; thumb is its
// thumbnail, or nil.
func (v *fileView) set(t transfer.Transfer, partner string, thumb image.Image) {
	v.t, v.partner, v.thumb = t, partner, thumb
	v.head.Segments = []widget.RichTextSegment{
		// the name as text, never markup: it is the partner's, cleaned
		&widget.TextSegment{Text: t.Name, Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Bold: true}}},
		&widget.TextSegment{Text: humanSize(t.Size) + " · " + fileTypeWords(t.MediaType, t.Name), Style: widget.RichTextStyle{
			ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText}},
	}
	v.head.Refresh()
	words, failed := fileStateWords(t, partner)
	style := widget.RichTextStyle{ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText}
	if failed {
		style.ColorName = theme.ColorNameError
	}
	v.state.Segments = nil
	if words != "" {
		v.state.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: words, Style: style}}
	}
	v.state.Refresh()
	if t.Size > 0 {
		v.bar.SetValue(float64(t.Bytes) / float64(t.Size))
	}
	if thumb != nil {
		v.picture.setImage(thumb)
	}
	if icon := fileIcon(t.MediaType); v.icon.Resource != icon {
		v.icon.SetResource(icon)
	}
	incoming := !t.Outgoing && t.State == transfer.StateWaiting
	v.accept.Hidden, v.decline.Hidden = !incoming, !incoming
	v.cancel.Hidden = !v.cancellable()
	v.save.Hidden = t.State != transfer.StateDone
}

// fileIcon is the theme's icon for a kind of file.
func fileIcon(mediaType string) fyne.Resource {
	switch mt, _, _ := strings.Cut(strings.ToLower(mediaType), "/"); mt {
	case "image":
		return theme.FileImageIcon()
	case "audio":
		return theme.FileAudioIcon()
	case "video":
		return theme.FileVideoIcon()
	case "text":
		return theme.FileTextIcon()
	}
	return theme.FileIcon()
}

// cancellable reports whether the transfer shown offers Cancel: ours
// before it is accepted, and either side's while bytes move.
func (v *fileView) cancellable() bool {
	switch v.t.State {
	case transfer.StatePreparing, transfer.StateTransferring:
		return true
	case transfer.StateWaiting:
		return v.t.Outgoing
	}
	return false
}

// showsPicture reports whether the thumbnail is shown, not the icon.
func (v *fileView) showsPicture() bool { return v.thumb != nil }

// buttons are the buttons shown, in order.
func (v *fileView) buttons() []*widget.Button {
	var out []*widget.Button
	for _, b := range []*widget.Button{v.accept, v.decline, v.save, v.cancel} {
		if !b.Hidden {
			out = append(out, b)
		}
	}
	return out
}

type fileGeometry struct {
	picturePos, iconPos, headPos, barPos, statePos      fyne.Position
	pictureSize, iconSize, headSize, barSize, stateSize fyne.Size
	buttonPos                                           []fyne.Position
	buttonSize                                          []fyne.Size
	height                                              float32
	showBar, showState                                  bool
}

// geometry lays the view out at width w.
func (v *fileView) geometry(w float32) fileGeometry {
	th := v.Theme()
	pad := th.Size(theme.SizeNamePadding)
	inner := th.Size(theme.SizeNameInnerPadding)
	var g fileGeometry
	y := pad
	x := pad
	if v.showsPicture() {
		g.pictureSize = v.picture.sizeWithin(w - 2*inner)
		g.picturePos = fyne.NewPos(inner, y+pad)
		y += g.pictureSize.Height + pad
	} else {
		side := th.Size(theme.SizeNameInlineIcon) * 2
		g.iconSize = fyne.NewSquareSize(side)
		g.iconPos = fyne.NewPos(inner, y+inner)
		x = inner + side
	}
	hw := max(w-x, 40)
	v.head.Resize(fyne.NewSize(hw, v.head.Size().Height))
	g.headSize = fyne.NewSize(hw, v.head.MinSize().Height)
	g.headPos = fyne.NewPos(x, y)
	y += max(g.headSize.Height, g.iconSize.Height+2*inner)
	full := w - 2*inner
	if v.t.State == transfer.StateTransferring {
		g.showBar = true
		g.barSize = fyne.NewSize(full, v.bar.MinSize().Height)
		g.barPos = fyne.NewPos(inner, y)
		y += g.barSize.Height
	}
	if len(v.state.Segments) > 0 {
		g.showState = true
		v.state.Resize(fyne.NewSize(w, v.state.Size().Height))
		g.stateSize = fyne.NewSize(w, v.state.MinSize().Height)
		g.statePos = fyne.NewPos(0, y-pad)
		y += g.stateSize.Height - pad
	}
	if bs := v.buttons(); len(bs) > 0 {
		bx := inner
		var bh float32
		for _, b := range bs {
			s := b.MinSize()
			g.buttonPos = append(g.buttonPos, fyne.NewPos(bx, y+pad))
			g.buttonSize = append(g.buttonSize, s)
			bx += s.Width + pad
			bh = max(bh, s.Height)
		}
		y += bh + pad
	}
	g.height = y + pad
	return g
}

// heightFor is the height the view needs at width w.
func (v *fileView) heightFor(w float32) float32 { return v.geometry(w).height }

// CreateRenderer implements fyne.Widget.
func (v *fileView) CreateRenderer() fyne.WidgetRenderer { return &fileViewRenderer{v: v} }

type fileViewRenderer struct{ v *fileView }

func (r *fileViewRenderer) Layout(size fyne.Size) {
	v := r.v
	g := v.geometry(size.Width)
	v.picture.Hidden = !v.showsPicture()
	v.icon.Hidden = v.showsPicture()
	v.picture.Move(g.picturePos)
	v.picture.Resize(g.pictureSize)
	v.icon.Move(g.iconPos)
	v.icon.Resize(g.iconSize)
	v.head.Move(g.headPos)
	v.head.Resize(g.headSize)
	v.bar.Hidden = !g.showBar
	v.bar.Move(g.barPos)
	v.bar.Resize(g.barSize)
	v.state.Hidden = !g.showState
	v.state.Move(g.statePos)
	v.state.Resize(g.stateSize)
	for i, b := range v.buttons() {
		b.Move(g.buttonPos[i])
		b.Resize(g.buttonSize[i])
	}
}

func (r *fileViewRenderer) MinSize() fyne.Size {
	return fyne.NewSize(fileBubbleWidth/2, r.v.heightFor(fileBubbleWidth))
}

func (r *fileViewRenderer) Refresh() {
	r.Layout(r.v.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

func (r *fileViewRenderer) Objects() []fyne.CanvasObject {
	v := r.v
	return []fyne.CanvasObject{v.picture, v.icon, v.head, v.bar, v.state, v.accept, v.decline, v.save, v.cancel}
}

func (r *fileViewRenderer) Destroy() {}

// thumbView shows a thumbnail at its own size, or smaller where the
// bubble is narrower; a tap shows the picture.
type thumbView struct {
	widget.BaseWidget
	img   *canvas.Image
	onTap func()
}

func newThumbView(onTap func()) *thumbView {
	t := &thumbView{img: canvas.NewImageFromImage(nil), onTap: onTap}
	t.img.FillMode = canvas.ImageFillContain
	t.img.ScaleMode = canvas.ImageScaleSmooth
	t.ExtendBaseWidget(t)
	return t
}

func (t *thumbView) setImage(img image.Image) {
	if t.img.Image == img {
		return
	}
	t.img.Image = img
	t.img.Refresh()
}

// sizeWithin is the thumbnail's size scaled down to fit width w.
func (t *thumbView) sizeWithin(w float32) fyne.Size {
	if t.img.Image == nil {
		return fyne.Size{}
	}
	b := t.img.Image.Bounds()
	iw, ih := float32(b.Dx()), float32(b.Dy())
	if iw <= 0 || ih <= 0 {
		return fyne.Size{}
	}
	if iw > w {
		ih, iw = ih*w/iw, w
	}
	return fyne.NewSize(iw, ih)
}

// Tapped implements fyne.Tappable.
func (t *thumbView) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}

// Cursor shows that the picture can be opened.
func (t *thumbView) Cursor() desktop.Cursor { return desktop.PointerCursor }

// CreateRenderer implements fyne.Widget.
func (t *thumbView) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(t.img)
}
