package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appIcon is the window and notification icon.
func appIcon() fyne.Resource {
	// TODO: use assets.IconPNG once package assets provides it.
	return theme.MailComposeIcon()
}
