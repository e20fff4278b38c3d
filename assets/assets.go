// Package assets holds the files SecureChat ships inside its binary: the
// application icon. It does not import Fyne; ui wraps [IconPNG] in a
// fyne.StaticResource for the window icon.
//
// icon.svg is the source of the icon; scripts/render-icon.sh renders it to
// icon.png, which is committed so that a build needs no SVG renderer.
// FyneApp.toml points the fyne packaging tool at the same icon.png.
package assets

import _ "embed" // for go:embed

// IconPNG is SecureChat's application icon: a 512 x 512 RGBA PNG of a speech
// bubble holding a padlock.
//
//go:embed icon.png
var IconPNG []byte
