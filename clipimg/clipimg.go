// Package clipimg reads a picture from the system's clipboard, which
// Fyne's clipboard (text only) cannot. On Linux and the BSDs it asks the
// clipboard tools that speak the whole protocol of their display server
// (a large picture comes in pieces): wl-paste on Wayland, xclip on X11.
// Elsewhere it reports [ErrUnsupported].
//
// What it returns is untrusted: at most [MaxBytes] that sniff as a PNG,
// JPEG or GIF. The caller decodes them with bounds, if at all.
package clipimg

import (
	"context"
	"errors"
	"net/http"
)

// MaxBytes bounds a picture read from the clipboard.
const MaxBytes = 64 << 20

// ErrNoPicture: the clipboard holds no picture (text, files, nothing).
var ErrNoPicture = errors.New("clipimg: the clipboard holds no picture")

// ErrUnsupported: this system's clipboard cannot be read for pictures;
// the error that wraps it says what to install, where that would help.
var ErrUnsupported = errors.New("clipimg: pictures cannot be read from this clipboard")

// ErrTooLarge: the clipboard's picture is over MaxBytes.
var ErrTooLarge = errors.New("clipimg: the picture in the clipboard is larger than 64 MiB")

// Picture is a picture read from the clipboard.
type Picture struct {
	Data      []byte
	MediaType string // image/png, image/jpeg or image/gif, from the bytes
}

// Read reads the clipboard's picture, within ctx.
func Read(ctx context.Context) (Picture, error) { return read(ctx) }

// wanted are the clipboard types asked for, best first.
var wanted = []string{"image/png", "image/jpeg", "image/gif"}

// sniff returns data as a Picture if its bytes are a PNG, JPEG or GIF.
func sniff(data []byte) (Picture, error) {
	switch t := http.DetectContentType(data); t {
	case "image/png", "image/jpeg", "image/gif":
		return Picture{Data: data, MediaType: t}, nil
	}
	return Picture{}, ErrNoPicture
}
