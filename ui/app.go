package ui

import (
	"context"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/clipimg"
)

// AppID is the application ID (FyneApp.toml's Details.ID says the same).
const AppID = "io.github.securechat.securechat"

// Run opens the desktop app and returns the process exit code when its
// window is closed.
func Run(version string) int {
	quietStart()
	a := app.NewWithID(AppID)
	w := a.NewWindow("SecureChat")
	u := New(a, w, RealBackend(), version)
	// An interrupt or a logout closes the app like its window: the
	// partner is told goodbye and the history is flushed.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			fyne.Do(a.Quit)
		}
	}()
	w.ShowAndRun()
	signal.Stop(sig)
	close(sig)
	u.Shutdown()
	return 0
}

// UI is the desktop app: one main window whose content moves from the
// unlock screen to the messenger (contact list and threads), with the New
// chat dialog over it at the first start. Its fields are the widgets the
// tests drive.
type UI struct {
	app     fyne.App
	win     fyne.Window
	backend Backend
	version string

	dir   string
	vault Vault

	unlock   *unlockScreen
	main     *messenger
	choose   *chooseScreen   // the New chat dialog, while open
	details  *detailsDialog  // the contact details, while open
	settings *settingsDialog // the settings last opened
	picture  dialog.Dialog   // the picture last opened from a thumbnail

	// filesErr is why the file transfers could not be opened at unlock.
	filesErr error
	// chooseOpen asks for a file to send, chooseSave where to save one
	// called name; Fyne's file dialogs, tests answer themselves.
	chooseOpen func(done func(path string))
	chooseSave func(name string, done func(path string))
	// clipPicture reads a picture from the system clipboard
	// (clipimg.Read); tests give one.
	clipPicture func(ctx context.Context) (clipimg.Picture, error)

	// focused tracks whether our window has the keyboard focus, for
	// notifications and unread counts.
	focused bool
	// openURL opens a link in the browser; tests record instead.
	openURL func(*url.URL) error
	// async runs slow work (key generation, unlock, vault writes, Close)
	// off the UI goroutine; tests make it synchronous.
	async func(func())
	// ticker ticks once a second until stop is called (the reconnect
	// countdown); tests tick by hand. A zero time is not a tick.
	ticker func() (ticks <-chan time.Time, stop func())
}

func secondTicker() (<-chan time.Time, func()) {
	t := time.NewTicker(time.Second)
	return t.C, t.Stop
}

// New builds the app in w and shows the unlock screen; version is shown
// on it.
func New(a fyne.App, w fyne.Window, b Backend, version string) *UI {
	u := &UI{app: a, win: w, backend: b, version: version, focused: true, async: func(f func()) { go f() }, ticker: secondTicker}
	u.openURL = a.OpenURL
	u.chooseOpen, u.chooseSave = u.chooseOpenDialog, u.chooseSaveDialog
	u.clipPicture = clipimg.Read
	if icon := appIcon(); icon != nil {
		a.SetIcon(icon)
		w.SetIcon(icon)
	}
	a.Lifecycle().SetOnEnteredForeground(func() {
		u.focused = true
		if u.main != nil {
			u.main.markRead(u.main.selected)
		}
	})
	a.Lifecycle().SetOnExitedForeground(func() { u.focused = false })
	w.SetMaster()
	w.Resize(fyne.NewSize(820, 640))
	w.CenterOnScreen()
	u.showUnlock()
	return u
}

// showProblem tells the user what went wrong in words, with a Details
// button for err; it may be called from any goroutine.
func (u *UI) showProblem(words string, err error) {
	fyne.Do(func() {
		content := []fyne.CanvasObject{wrapped(words)}
		var d *dialog.CustomDialog
		ok := widget.NewButton("OK", func() { d.Hide() })
		ok.Importance = widget.HighImportance
		buttons := []fyne.CanvasObject{ok}
		if err != nil {
			buttons = []fyne.CanvasObject{widget.NewButton("Details", func() {
				d.Hide()
				u.showDetails(err)
			}), ok}
		}
		d = dialog.NewCustomWithoutButtons("Something went wrong", fixedWidth(400, container.NewVBox(content...)), u.win)
		d.SetButtons(buttons)
		d.SetOnClosed(u.focusChat)
		d.Show()
	})
}

// showDetails shows an error's own text, for whoever wants to know more
// or report it; it may be called from any goroutine.
func (u *UI) showDetails(err error) {
	if err == nil {
		return
	}
	fyne.Do(func() {
		text := widget.NewLabel(err.Error())
		text.Wrapping = fyne.TextWrapBreak
		text.Selectable = true
		d := dialog.NewCustom("Details", "Close", fixedWidth(440, text), u.win)
		d.SetOnClosed(u.focusChat)
		d.Show()
	})
}

// focusChat gives the keyboard back to the message input of the thread
// shown. Every control of the window calls it when it is done, so that
// what is typed next goes into the message and not into nothing.
func (u *UI) focusChat() {
	if u.choose != nil {
		u.choose.focus()
		return
	}
	if u.main != nil {
		u.main.focusInput()
	}
}

func (u *UI) setContent(o fyne.CanvasObject, title string) {
	u.win.SetTitle(title)
	u.win.SetContent(o)
}

func (u *UI) showUnlock() {
	dir, err := u.profileDir()
	u.dir = dir
	u.unlock = newUnlockScreen(u, err == nil && u.backend.Exists(dir))
	if err != nil {
		u.unlock.setError(err.Error())
	}
	u.setContent(u.unlock.content, "SecureChat")
	u.win.Canvas().Focus(u.unlock.focusFirst())
}

// unlocked is called on the UI goroutine once the vault is open: it makes
// the app's one controller and shows the messenger. The controller
// reconnects to the contacts from now on. Listening starts again if it was
// on when the app was last closed (the profile's settings say it); at the first start (no
// contacts, no history) the New chat dialog opens (see [messenger.start]).
func (u *UI) unlocked(v Vault) {
	u.vault = v
	files := u.openFiles(v) // before the controller, which carries them
	ctrl, err := u.backend.New(v, files)
	if err != nil {
		if files != nil {
			_ = files.Close()
		}
		u.unlock.setError("SecureChat cannot start its connections.")
		u.showProblem("SecureChat cannot start its connections.", err)
		return
	}
	m := newMessenger(u, ctrl, files)
	u.main = m
	u.setContent(m.content, "SecureChat")
	m.start()
	if u.filesErr != nil {
		u.showProblem(filesUnavailable, u.filesErr)
	}
	// The contacts are dialed from now on, and again and again while
	// away; with Tor mode, once the controller has its dialer (Tor-only
	// mode dials nothing directly).
	autoReconnect := func() { ctrl.SetAutoReconnect(true) }
	if m.tor.on {
		m.startTor(autoReconnect)
	} else {
		autoReconnect()
	}
	if v.Settings().Listen {
		m.listen(m.listenPort, nil)
	}
	if StartInvite != "" {
		u.showChoose()
	}
	m.refreshTitle()
	settleMemory()
}

// StartInvite is an invite link the app was opened with (a clicked
// securechat: link); after unlocking, the app offers to connect with it.
var StartInvite string

// showInvite opens the invite dialog (from a contact's details).
func (u *UI) showInvite() {
	u.showChoose()
	if c := u.choose; c != nil {
		c.tabs.SelectIndex(1)
		c.showMakeInvite()
	}
}

// Shutdown closes the controller, stops tor and locks the vault; Run calls
// it when the window has closed.
func (u *UI) Shutdown() {
	if u.main != nil {
		u.main.closeWait()
		u.main = nil
	}
	if u.vault != nil {
		_ = u.vault.Close()
		u.vault = nil
	}
}

func (u *UI) profileDir() (string, error) {
	if u.backend.ProfileDir == nil {
		return "", nil
	}
	return u.backend.ProfileDir()
}
