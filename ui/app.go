package ui

import (
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"
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
// unlock screen to the Host or Connect screen to the chat, and a history
// browser window. Its fields are the widgets the tests drive.
type UI struct {
	app     fyne.App
	win     fyne.Window
	backend Backend
	version string

	dir   string
	vault Vault

	unlock   *unlockScreen
	choose   *chooseScreen
	chat     *chatScreen
	history  *historyWindow
	settings *settingsDialog // the settings last opened

	// focused tracks whether our window has the keyboard focus, for
	// notifications.
	focused bool
	// openURL opens a link in the browser; tests record instead.
	openURL func(*url.URL) error
	// async runs slow work (key generation, unlock, Close) off the UI
	// goroutine; tests make it synchronous.
	async func(func())
}

// New builds the app in w and shows the unlock screen; version is shown
// on it.
func New(a fyne.App, w fyne.Window, b Backend, version string) *UI {
	u := &UI{app: a, win: w, backend: b, version: version, focused: true, async: func(f func()) { go f() }}
	u.openURL = a.OpenURL
	if icon := appIcon(); icon != nil {
		a.SetIcon(icon)
		w.SetIcon(icon)
	}
	a.Lifecycle().SetOnEnteredForeground(func() { u.focused = true })
	a.Lifecycle().SetOnExitedForeground(func() { u.focused = false })
	w.SetMaster() // closing it quits, even with the history browser open
	w.Resize(fyne.NewSize(820, 640))
	w.CenterOnScreen()
	u.showUnlock()
	return u
}

// showError shows err in a dialog; it may be called from any goroutine.
func (u *UI) showError(err error) {
	if err == nil {
		return
	}
	fyne.Do(func() {
		d := dialog.NewError(err, u.win)
		d.SetOnClosed(u.focusChat)
		d.Show()
	})
}

// focusChat gives the keyboard back to the chat's message input, if a chat
// is shown. Every control of the chat window calls it when it is done, so
// that what is typed next goes into the message and not into nothing.
func (u *UI) focusChat() {
	if u.chat != nil {
		u.chat.focusInput()
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

// unlocked is called on the UI goroutine once the vault is open.
func (u *UI) unlocked(v Vault) {
	u.vault = v
	u.showChoose()
}

// StartInvite is an invite link the app was opened with (a clicked
// securechat: link); after unlocking, the app offers to connect with it.
var StartInvite string

func (u *UI) showChoose() {
	u.choose = newChooseScreen(u)
	u.setContent(u.choose.content, "SecureChat — Host or Connect")
	if StartInvite != "" {
		code := StartInvite
		StartInvite = ""
		u.choose.showUseInvite(code)
		return
	}
	// focus once the new content is laid out: a real window ignores a
	// focus request for an object it has not placed yet
	addr := u.choose.addr
	fyne.Do(func() { u.win.Canvas().Focus(addr) })
}

// startChat shows the chat screen for a controller just made.
func (u *UI) startChat(c *chatScreen) {
	u.chat = c
	u.setContent(c.content, "SecureChat — "+c.title())
	u.win.Canvas().Focus(c.input)
	c.start()
}

// leaveChat closes the chat's controller and goes back to Host or Connect.
func (u *UI) leaveChat() {
	if u.chat != nil {
		u.chat.close()
		u.chat = nil
	}
	u.showChoose()
}

// Shutdown closes the controller and locks the vault; Run calls it when the
// window has closed.
func (u *UI) Shutdown() {
	if u.chat != nil {
		u.chat.closeWait()
		u.chat = nil
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
