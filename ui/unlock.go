package ui

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/names"
)

// unlockScreen creates the profile on first start and unlocks it later.
type unlockScreen struct {
	u       *UI
	create  bool
	content fyne.CanvasObject

	name, pass, pass2 *widget.Entry
	strength          *widget.Label
	errLabel          *widget.Label
	button            *widget.Button
	busy              *fyne.Container
	busyBar           *widget.ProgressBarInfinite
	busyText          *widget.Label
}

func newUnlockScreen(u *UI, exists bool) *unlockScreen {
	s := &unlockScreen{u: u, create: !exists}
	s.pass = widget.NewPasswordEntry()
	s.pass.SetPlaceHolder("Passphrase")
	s.errLabel = widget.NewLabel("")
	s.errLabel.Importance = widget.DangerImportance
	s.errLabel.Wrapping = fyne.TextWrapWord
	s.errLabel.Hide()
	s.busyText = widget.NewLabel("")
	s.busyText.Alignment = fyne.TextAlignCenter
	s.busyBar = widget.NewProgressBarInfinite()
	s.busy = container.NewVBox(s.busyBar, s.busyText)
	s.busy.Hide()

	title := canvas.NewText("SecureChat", theme.Color(theme.ColorNameForeground))
	title.TextSize = theme.TextHeadingSize() * 1.4
	title.TextStyle.Bold = true
	title.Alignment = fyne.TextAlignCenter
	var intro *widget.Label
	var form *widget.Form
	if s.create {
		intro = widget.NewLabel("Welcome. Create your profile: your name, and a passphrase that protects your key and your saved chats on this computer.")
		s.name = widget.NewEntry()
		s.name.SetPlaceHolder("How your partner will see you")
		s.pass2 = widget.NewPasswordEntry()
		s.pass2.SetPlaceHolder("The same passphrase again")
		s.strength = widget.NewLabel("")
		s.strength.Wrapping = fyne.TextWrapWord
		s.strength.SizeName = theme.SizeNameCaptionText
		s.pass.OnChanged = func(p string) { s.strength.SetText(passphraseHint(p)) }
		s.name.OnSubmitted = func(string) { s.u.win.Canvas().Focus(s.pass) }
		s.pass.OnSubmitted = func(string) { s.u.win.Canvas().Focus(s.pass2) }
		s.pass2.OnSubmitted = func(string) { s.submit() }
		s.button = widget.NewButtonWithIcon("Create profile", theme.ConfirmIcon(), s.submit)
		form = widget.NewForm(
			widget.NewFormItem("Your name", s.name),
			widget.NewFormItem("Passphrase", s.pass),
			widget.NewFormItem("Repeat", s.pass2),
		)
		form.Append("", s.strength)
	} else {
		intro = widget.NewLabel("Enter your passphrase to unlock your profile.")
		s.pass.OnSubmitted = func(string) { s.submit() }
		s.button = widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), s.submit)
		form = widget.NewForm(widget.NewFormItem("Passphrase", s.pass))
	}
	intro.Wrapping = fyne.TextWrapWord
	intro.Alignment = fyne.TextAlignCenter
	s.button.Importance = widget.HighImportance

	card := container.NewVBox(title, intro, form, s.errLabel, s.button, s.busy)
	version := widget.NewLabel("")
	if u.version != "" {
		version.SetText("SecureChat " + u.version)
	}
	version.SizeName = theme.SizeNameCaptionText
	version.Importance = widget.LowImportance
	s.content = container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), version), nil, nil,
		container.NewCenter(fixedWidth(420, card)))
	return s
}

func (s *unlockScreen) focusFirst() fyne.Focusable {
	if s.create {
		return s.name
	}
	return s.pass
}

func (s *unlockScreen) setError(msg string) {
	if msg == "" {
		s.errLabel.Hide()
		return
	}
	s.errLabel.SetText(msg)
	s.errLabel.Show()
}

func (s *unlockScreen) setBusy(msg string) {
	for _, e := range []*widget.Entry{s.name, s.pass, s.pass2} {
		if e == nil {
			continue
		}
		if msg != "" {
			e.Disable()
		} else {
			e.Enable()
		}
	}
	if msg != "" {
		s.button.Disable()
		s.busyText.SetText(msg)
		s.busyBar.Start()
		s.busy.Show()
	} else {
		s.button.Enable()
		// Hiding its container does not stop the bar's animation, which
		// would redraw the window sixty times a second from then on.
		s.busyBar.Stop()
		s.busy.Hide()
	}
}

// submit validates the form and creates or opens the vault off the UI goroutine.
func (s *unlockScreen) submit() {
	if s.button.Disabled() {
		return
	}
	u := s.u
	pass := []byte(s.pass.Text)
	if s.create {
		name := strings.TrimSpace(s.name.Text)
		switch {
		case name == "":
			s.setError("Enter your name.")
			u.win.Canvas().Focus(s.name)
			return
		case names.Check(name) != nil:
			s.setError(nameProblem(names.Check(name)))
			u.win.Canvas().Focus(s.name)
			return
		case history.CheckNewPassphrase(pass) != nil:
			s.setError(fmt.Sprintf("Use a passphrase of at least %d characters.", history.MinPassphraseLen))
			u.win.Canvas().Focus(s.pass)
			return
		case s.pass.Text != s.pass2.Text:
			s.setError("The two passphrases differ.")
			s.pass2.SetText("")
			u.win.Canvas().Focus(s.pass2)
			return
		}
		s.setError("")
		s.setBusy("Creating your profile: generating your key. This takes a few seconds…")
		u.async(func() {
			v, err := u.backend.Create(u.dir, name, pass)
			clear(pass)
			fyne.Do(func() { s.done(v, err) })
		})
		return
	}
	if len(pass) == 0 {
		s.setError("Enter your passphrase.")
		return
	}
	s.setError("")
	s.setBusy("Unlocking…")
	u.async(func() {
		v, err := u.backend.Open(u.dir, pass)
		clear(pass)
		fyne.Do(func() { s.done(v, err) })
	})
}

func (s *unlockScreen) done(v Vault, err error) {
	s.setBusy("")
	switch {
	case err == nil:
		s.pass.SetText("")
		if s.pass2 != nil {
			s.pass2.SetText("")
		}
		s.u.unlocked(v)
	case errors.Is(err, ErrWrongPassphrase):
		s.setError("Wrong passphrase. Try again.")
		s.pass.SetText("")
		s.u.win.Canvas().Focus(s.pass)
	case errors.Is(err, ErrProfileInUse):
		s.setError("This profile is already open in another SecureChat window. Close that one first.")
	default:
		s.setError(err.Error())
	}
}

// passphraseHint says how strong a new passphrase looks.
func passphraseHint(p string) string {
	n := len([]rune(p))
	if n == 0 {
		return ""
	}
	classes := 0
	for _, f := range []func(rune) bool{unicode.IsLower, unicode.IsUpper, unicode.IsDigit, unicode.IsSpace} {
		if strings.IndexFunc(p, f) >= 0 {
			classes++
		}
	}
	if strings.IndexFunc(p, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) }) >= 0 {
		classes++
	}
	switch {
	case n < 12 || (n < 16 && classes < 2):
		return "Weak: anyone who copies your profile could guess it. Use 12 characters or more, for example a few unrelated words."
	case n < 20 && classes < 3:
		return "Fair. A few more words would make it strong."
	}
	return "Strong."
}

// nameProblem says, as a sentence for the user, why a name cannot be used.
func nameProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "names: ")
	if msg == "" {
		return "This name cannot be used."
	}
	return "This name cannot be used: " + msg + "."
}
