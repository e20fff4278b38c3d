package ui

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/transfer"
)

// Files in the thread: every transfer with a contact is a file bubble
// among the messages, placed by its Time, ours on the right. The engine
// ([Files]) reports each transfer's news as events, read by one goroutine
// and applied on the UI goroutine; a progress event redraws only the
// bubble of its transfer.

// pictureSide bounds the side of a picture opened from its thumbnail:
// about a screen, decoded by the engine with bounded memory.
const pictureSide = 2048

// openFiles opens the profile's file transfers for the app, or says once,
// in words, why the app runs without them (nil).
func (u *UI) openFiles(v Vault) Files {
	if u.backend.Files == nil {
		return nil
	}
	files, err := u.backend.Files(v)
	if err != nil || files == nil {
		u.filesErr = err
		return nil
	}
	return files
}

// fileRowID is the row id of transfer id, apart from the messages' ids.
func fileRowID(id string) string { return "file:" + id }

// readFileEvents is the one goroutine reading the engine's events: each
// is applied on the UI goroutine, in order, until Events is closed.
func (m *messenger) readFileEvents(files Files, done chan struct{}) {
	defer close(done)
	for ev := range files.Events() {
		if m.closing.Load() || ev.Transfer.ID == "" || ev.Transfer.Contact == "" {
			continue
		}
		t := ev.Transfer
		fyne.Do(func() { m.fileEvent(t) })
	}
}

// fileEvent shows transfer t's news (UI goroutine). An offer to us is
// news like a message (and builds its thread); other news of a thread not
// built yet waits for it (the thread reads every transfer when built).
func (m *messenger) fileEvent(t transfer.Transfer) {
	if m.closed {
		return
	}
	p := m.peer(t.Contact)
	// an offer, waiting for our user or taken without asking
	offer := !t.Outgoing && (t.State == transfer.StateWaiting || t.State == transfer.StateTransferring && t.Bytes == 0)
	if p.thread == nil && !offer {
		return
	}
	id := fileRowID(t.ID)
	news := p.thread == nil || p.thread.byID[id] == nil
	l := m.ensureThread(p) // may read the transfer with the thread
	if r, ok := l.byID[id]; ok {
		m.updateFileRow(p, l, r, t)
	} else {
		r := m.fileRow(p, t)
		l.insert(r)
		m.wantThumb(p, r)
	}
	if !news || !offer {
		return
	}
	// an offer, as a message is news
	p.last, p.lastOut, p.lastTime = previewFile(t.Name), false, t.Time
	if p.lastTime.IsZero() {
		p.lastTime = clock()
	}
	if p != m.selected || !m.u.focused {
		p.unread++
	} else {
		p.unread = 1 // and read at once
	}
	m.u.notifyMessage(p.label(), previewFile(t.Name))
	m.touch(p, p.lastTime)
	m.markRead(p)
	m.refreshTitle()
}

// updateFileRow shows t in its row r: its progress redraws its bubble
// alone; a new state, the row.
func (m *messenger) updateFileRow(p *peer, l *messageList, r *row, t transfer.Transfer) {
	old := r.file
	r.file = t
	if old.State == t.State && old.Connected == t.Connected && old.Picture == t.Picture && old.Name == t.Name {
		l.progressed(r.id)
		return
	}
	if !t.Time.IsZero() && !t.Time.Equal(r.time) {
		r.time = t.Time
	}
	l.changed(r.id)
	m.wantThumb(p, r)
}

// linkChanged shows p's unfinished transfers connected or not as p is,
// when p's link came or went: the engine's events say it too, but a
// transfer with nothing else new need not have one.
func (m *messenger) linkChanged(p *peer) {
	l := p.thread
	if l == nil || m.files == nil {
		return
	}
	on := p.online()
	for _, r := range l.rows {
		if r.kind == rowFile && !r.file.State.Over() && r.file.Connected != on {
			r.file.Connected = on
			if !on {
				r.file.Rate = 0
			}
			l.changed(r.id)
		}
	}
}

// fileRow is the row that shows transfer t of p.
func (m *messenger) fileRow(p *peer, t transfer.Transfer) *row {
	from := p.label()
	if t.Outgoing {
		from = ""
		if m.u.vault != nil {
			from = m.u.vault.Name()
		}
	}
	r := &row{kind: rowFile, id: fileRowID(t.ID), outgoing: t.Outgoing, from: from, time: t.Time, file: t}
	if img, ok := m.thumbs[thumbKey(t)]; ok {
		r.thumb = img
	}
	return r
}

// withFiles places the transfers ts of p among the rows of its thread, by
// time; a transfer already shown keeps its row (events may be newer than
// the list). A row that is a transfer is placed again.
func (m *messenger) withFiles(p *peer, rows []*row, ts []transfer.Transfer, live map[string]*row) []*row {
	rows = slices.DeleteFunc(rows, func(r *row) bool { return r.kind == rowFile })
	seen := map[string]bool{}
	var files []*row
	for _, t := range ts {
		id := fileRowID(t.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		r, ok := live[id]
		if !ok {
			r = m.fileRow(p, t)
		}
		files = append(files, r)
	}
	for id, r := range live { // shown by an event, not in the list read
		if r.kind == rowFile && !seen[id] {
			files = append(files, r)
		}
	}
	slices.SortStableFunc(files, func(a, b *row) int { return a.time.Compare(b.time) })
	out := make([]*row, 0, len(rows)+len(files))
	i := 0
	for _, r := range rows {
		for i < len(files) && !r.time.IsZero() && !files[i].time.IsZero() && files[i].time.Before(r.time) {
			out = append(out, files[i])
			i++
		}
		out = append(out, r)
	}
	out = append(out, files[i:]...)
	for _, r := range files {
		m.wantThumb(p, r)
	}
	return out
}

// listFiles reads p's transfers for its thread (any goroutine).
func (m *messenger) listFiles(contact string) []transfer.Transfer {
	if m.files == nil {
		return nil
	}
	return m.files.List(contact)
}

func thumbKey(t transfer.Transfer) string { return t.Contact + "/" + t.ID }

// hasPicture reports whether t's thumbnail can be made: a picture whose
// bytes are all here (ours once prepared).
func hasPicture(t transfer.Transfer) bool {
	if !t.Picture {
		return false
	}
	if t.Outgoing {
		return t.State != transfer.StatePreparing && t.State != transfer.StateFailed
	}
	return t.State == transfer.StateDone
}

// wantThumb makes r's thumbnail off the UI goroutine, once per transfer,
// when its picture is complete, and shows it.
func (m *messenger) wantThumb(p *peer, r *row) {
	t := r.file
	key := thumbKey(t)
	if r.kind != rowFile || r.thumb != nil || m.files == nil || !hasPicture(t) {
		return
	}
	if img, ok := m.thumbs[key]; ok {
		if img != nil {
			r.thumb = img
		}
		return // made, or failed (nil): the icon stays
	}
	m.thumbs[key] = nil
	files := m.files
	m.u.async(func() {
		img, err := files.Thumbnail(t.Contact, t.ID, thumbSide)
		if err != nil {
			return // the file icon stays
		}
		fyne.Do(func() {
			m.thumbs[key] = img
			r.thumb = img // the row may not be in its list yet
			if l := p.thread; l != nil {
				if shown, ok := l.byID[r.id]; ok {
					shown.thumb = img
					l.changed(r.id)
				}
			}
		})
	})
}

// fileAction does what the user asked in p's file bubble r.
func (m *messenger) fileAction(p *peer, r *row, a fileAction) {
	files := m.files
	if files == nil || r.kind != rowFile {
		return
	}
	t := r.file
	call := func(what string, fn func() error) {
		m.u.async(func() {
			if err := fn(); err != nil {
				m.u.showProblem(fileProblemWords(what, err), err)
			}
		})
	}
	switch a {
	case fileAccept:
		call("accept the file", func() error { return files.Accept(t.Contact, t.ID) })
		m.reconnectNow(p, true)
	case fileDecline:
		call("decline the file", func() error { return files.Decline(t.Contact, t.ID) })
	case fileCancel:
		call("cancel the transfer", func() error { return files.Cancel(t.Contact, t.ID) })
	case fileSave:
		m.u.chooseSave(t.Name, func(path string) {
			call("save "+t.Name, func() error { return files.SaveAs(t.Contact, t.ID, path) })
		})
		return // the dialog has the keyboard
	case fileOpen:
		m.showPicture(t)
		return
	}
	m.focusInput()
}

// showPicture opens a picture full size (at most pictureSide a side) over
// the window.
func (m *messenger) showPicture(t transfer.Transfer) {
	files := m.files
	if files == nil || !hasPicture(t) {
		return
	}
	m.u.async(func() {
		img, err := files.Thumbnail(t.Contact, t.ID, pictureSide)
		if err != nil {
			m.u.showProblem(fileProblemWords("open the picture", err), err)
			return
		}
		fyne.Do(func() { m.u.showImage(t.Name, img) })
	})
}

// showImage shows img in a dialog as large as the window allows.
func (u *UI) showImage(title string, img image.Image) {
	c := canvas.NewImageFromImage(img)
	c.FillMode = canvas.ImageFillContain
	b := img.Bounds()
	ws := u.win.Canvas().Size()
	w, h := float32(b.Dx()), float32(b.Dy())
	if maxW, maxH := ws.Width*0.85, ws.Height*0.7; w > maxW || h > maxH {
		s := min(maxW/w, maxH/h)
		w, h = w*s, h*s
	}
	c.SetMinSize(fyne.NewSize(w, h))
	d := dialog.NewCustom(shorten(title, 60), "Close", c, u.win)
	// Escape closes the picture, as in any image viewer: nothing in the
	// dialog takes the keyboard, so the canvas gets the key.
	cv := u.win.Canvas()
	prev := cv.OnTypedKey()
	cv.SetOnTypedKey(func(e *fyne.KeyEvent) {
		if e.Name == fyne.KeyEscape {
			d.Hide()
			return
		}
		if prev != nil {
			prev(e)
		}
	})
	d.SetOnClosed(func() {
		cv.SetOnTypedKey(prev)
		u.focusChat()
	})
	u.picture = d
	d.Show()
}

// attachTapped asks for a file and sends it to the contact shown.
func (m *messenger) attachTapped() {
	p := m.selected
	if p == nil || m.files == nil {
		return
	}
	m.u.chooseOpen(func(path string) { m.sendPaths(p, []string{path}) })
}

// dropped sends the files dropped onto the window to the contact shown.
func (m *messenger) dropped(_ fyne.Position, uris []fyne.URI) {
	if m.u.main != m || m.closed {
		return
	}
	var paths []string
	for _, u := range uris {
		if u != nil && u.Scheme() == "file" && u.Path() != "" {
			paths = append(paths, u.Path())
		}
	}
	p := m.selected
	switch {
	case len(paths) == 0:
		return
	case p == nil:
		m.u.showProblem("Open a contact first: dropped files go to the contact shown.", nil)
		return
	}
	m.sendPaths(p, paths)
}

// sendPaths offers the files at paths to p: each shows at once, and waits
// for p to be online; p is dialed now.
func (m *messenger) sendPaths(p *peer, paths []string) {
	files := m.files
	if files == nil || len(paths) == 0 {
		return
	}
	if !m.canSendFiles(p) {
		return
	}
	contact := p.id
	m.u.async(func() {
		for _, path := range paths {
			t, err := files.SendFile(contact, path)
			if err != nil {
				m.u.showProblem(fileProblemWords("send "+filepath.Base(path), err), err)
				continue
			}
			fyne.Do(func() { m.showSent(p, t) })
		}
	})
	m.reconnectNow(p, true)
	m.focusInput()
}

// canSendFiles reports whether files can be offered to p now, and says
// why not in the hint when they cannot.
func (m *messenger) canSendFiles(p *peer) bool {
	if m.canWrite(p) {
		return true
	}
	m.setHint("Not connected: files can be sent to " + p.label() + " once you are connected.")
	return false
}

// showSent shows a file we just offered p in its thread, scrolled to it:
// what one sends, one wants to see (UI goroutine).
func (m *messenger) showSent(p *peer, t transfer.Transfer) {
	m.fileEvent(t)
	if l := p.thread; l != nil && p == m.selected {
		l.scrollToNewest()
	}
}

// pastedFiles reads a clipboard's text as files copied in a file manager:
// file URIs, one a line, after GNOME's "x-special/nautilus-clipboard" and
// "copy" lines if there. Every one must name a file that exists, or it is
// text (nil).
func pastedFiles(text string) []string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var paths []string
	for i, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "", i == 0 && line == "x-special/nautilus-clipboard",
			i <= 1 && (line == "copy" || line == "cut"):
			continue
		case !strings.HasPrefix(line, "file://"):
			return nil
		}
		u, err := storage.ParseURI(line)
		if err != nil || u.Path() == "" {
			return nil
		}
		if fi, err := os.Stat(u.Path()); err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		paths = append(paths, u.Path())
	}
	return paths
}

// pasteFiles asks whether files pasted into the input are to be sent to
// the contact shown, or their names pasted as text.
func (m *messenger) pasteFiles(paths []string, asText func()) {
	p := m.selected
	if p == nil {
		asText()
		return
	}
	what := filepath.Base(paths[0])
	if len(paths) > 1 {
		what = fmt.Sprintf("%d files", len(paths))
	}
	d := dialog.NewConfirm("Send "+shorten(what, 40)+"?", "Send "+shorten(what, 40)+" to "+p.label()+"?", func(send bool) {
		if send {
			m.sendPaths(p, paths)
			return
		}
		asText()
		m.focusInput()
	}, m.u.win)
	d.SetConfirmText("Send")
	d.SetDismissText("Paste as text")
	d.Show()
}

// refreshAttach enables the attach button where a file can be sent.
func (m *messenger) refreshAttach() {
	if m.attach == nil {
		return
	}
	if p := m.selected; p != nil && m.canWrite(p) {
		m.attach.Enable()
	} else {
		m.attach.Disable()
	}
}

// deleteFiles removes contact's transfers and files with its history (any
// goroutine).
func (m *messenger) deleteFiles(contact string) error {
	if m.files == nil {
		return nil
	}
	return m.files.DeleteContact(contact)
}

// forgetThumbs drops the thumbnails of contact's files (deleted).
func (m *messenger) forgetThumbs(contact string) {
	for k := range m.thumbs {
		if strings.HasPrefix(k, contact+"/") {
			delete(m.thumbs, k)
		}
	}
}

// closeFiles stops the engine after the controller, and waits for its
// event reader.
func (m *messenger) closeFiles() {
	files := m.files
	if files == nil || m.filesClosed {
		return
	}
	m.filesClosed = true
	_ = files.Close()
	if m.filesDone != nil {
		select {
		case <-m.filesDone:
		case <-time.After(3 * time.Second):
		}
	}
}

// chooseOpenDialog asks for a file to send with Fyne's file dialog.
func (u *UI) chooseOpenDialog(done func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		defer u.focusChat()
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		_ = r.Close()
		done(path)
	}, u.win)
	d.Show()
}

// chooseSaveDialog asks where to save a file called name. The dialog
// creates the file it returns; the engine then replaces it atomically.
func (u *UI) chooseSaveDialog(name string, done func(path string)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		defer u.focusChat()
		if err != nil || w == nil {
			return
		}
		path := w.URI().Path()
		_ = w.Close()
		done(path)
	}, u.win)
	d.SetFileName(name)
	if home, err := storage.ListerForURI(storage.NewFileURI(userDir())); err == nil {
		d.SetLocation(home)
	}
	d.Show()
}

// userDir is where the save dialog opens: the Downloads folder if there
// is one, else the home folder.
func userDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	if dl := filepath.Join(home, "Downloads"); isDir(dl) {
		return dl
	}
	return home
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// filesUnavailable is what the app says, once, when it runs without files.
const filesUnavailable = "Files cannot be sent or received for now: SecureChat could not open its file store. Messages work as usual."

// previewFile is the list's preview of a file.
func previewFile(name string) string { return "File: " + strings.TrimSpace(name) }

// filesSettings is the Files tab of the settings dialog.
func (u *UI) filesSettings(s *settingsDialog) fyne.CanvasObject {
	s.autoAccept = widget.NewCheck("Accept pictures under 10 MB from verified contacts automatically", nil)
	if v := u.vault; v != nil {
		s.autoAccept.Checked = v.Settings().AutoAcceptPictures
	}
	s.autoAccept.OnChanged = func(on bool) {
		v := u.vault
		if v == nil {
			return
		}
		u.async(func() { // a vault write
			st := v.Settings()
			st.AutoAcceptPictures = on
			if err := v.SaveSettings(st); err != nil {
				u.showProblem("Could not save the setting.", err)
			}
		})
	}
	caption := widget.NewLabel("Other files, and pictures from contacts whose safety number you have not verified, always wait for you to accept them.")
	caption.Wrapping = fyne.TextWrapWord
	caption.SizeName = theme.SizeNameCaptionText
	return container.NewVBox(s.autoAccept, caption)
}
