package ui

import (
	"fyne.io/fyne/v2"

	"github.com/securechat/securechat/assets"
)

var iconResource = fyne.NewStaticResource("securechat.png", assets.IconPNG)

// appIcon is the window and notification icon.
func appIcon() fyne.Resource { return iconResource }
