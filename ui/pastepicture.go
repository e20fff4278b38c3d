package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/clipimg"
	"github.com/securechat/securechat/filestore"
)

// Pasting a picture: Fyne's clipboard holds text only, so a paste of no
// text asks the system clipboard for a picture (package clipimg, off the
// UI goroutine) and, if there is one, asks whether to send it, showing
// it first.

// clipWait bounds reading a picture from the clipboard.
const clipWait = 10 * time.Second

// pastePicture looks for a picture in the clipboard, for the contact
// shown.
func (m *messenger) pastePicture() {
	p := m.selected
	read := m.u.clipPicture
	if p == nil || m.files == nil || read == nil {
		return
	}
	m.u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), clipWait)
		defer cancel()
		pic, err := read(ctx)
		var thumb image.Image
		if err == nil {
			// Untrusted bytes: decoded with the engine's bounds, and
			// not shown at all if that fails.
			thumb, _ = filestore.Thumbnail(bytes.NewReader(pic.Data), thumbSide)
		}
		fyne.Do(func() {
			if m.closed || m.selected != p {
				return
			}
			switch {
			case errors.Is(err, clipimg.ErrNoPicture):
				// nothing to paste
			case errors.Is(err, clipimg.ErrUnsupported):
				m.setHint(pasteUnsupportedWords(clipimg.Hint))
			case errors.Is(err, clipimg.ErrTooLarge):
				m.setHint("The picture in the clipboard is larger than 64 MiB: save it as a file and send the file.")
			case err != nil:
				m.u.showProblem("Could not read the picture in the clipboard.", err)
			default:
				m.confirmPicture(p, pic, thumb)
			}
		})
	})
}

// pasteUnsupportedWords says why a picture cannot be pasted, and what
// to do instead.
func pasteUnsupportedWords(hint string) string {
	if hint == "" {
		return "Pictures cannot be pasted on this system yet: drop the picture's file on the window, or use the paper clip."
	}
	return "To paste pictures, " + hint + ". Or drop the picture's file on the window, or use the paper clip."
}

// confirmPicture shows the pasted picture and asks whether to send it to
// p.
func (m *messenger) confirmPicture(p *peer, pic clipimg.Picture, thumb image.Image) {
	kind := strings.ToUpper(strings.TrimPrefix(pic.MediaType, "image/"))
	label := widget.NewLabel(fmt.Sprintf("Send this picture (%s, %s) to %s?", kind, humanSize(int64(len(pic.Data))), p.label()))
	label.Wrapping = fyne.TextWrapWord
	content := fyne.CanvasObject(label)
	if thumb != nil {
		img := canvas.NewImageFromImage(thumb)
		img.FillMode = canvas.ImageFillContain
		b := thumb.Bounds()
		img.SetMinSize(fyne.NewSize(float32(b.Dx()), float32(b.Dy())))
		content = container.NewVBox(container.NewCenter(img), label)
	}
	d := dialog.NewCustomConfirm("Send the pasted picture?", "Send", "Cancel", content, func(send bool) {
		if send {
			m.sendPicture(p, pic)
		}
		m.focusInput()
	}, m.u.win)
	d.Show()
}

// pastedName names a picture pasted at t.
func pastedName(t time.Time, mediaType string) string {
	ext := map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}[mediaType]
	return "Pasted picture " + t.Format("2006-01-02 15.04.05") + ext
}

// sendPicture offers the pasted picture to p, as sendPaths does files.
func (m *messenger) sendPicture(p *peer, pic clipimg.Picture) {
	files := m.files
	if files == nil {
		return
	}
	if !m.canSendFiles(p) {
		return
	}
	contact, name := p.id, pastedName(clock(), pic.MediaType)
	m.u.async(func() {
		t, err := files.SendReader(contact, name, pic.MediaType, bytes.NewReader(pic.Data))
		if err != nil {
			m.u.showProblem(fileProblemWords("send the pasted picture", err), err)
			return
		}
		fyne.Do(func() { m.showSent(p, t) })
	})
	m.reconnectNow(p, true)
}
