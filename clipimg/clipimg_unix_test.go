//go:build linux || freebsd || openbsd || netbsd || dragonfly

package clipimg

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTools puts shell scripts called like the clipboard tools first on
// PATH (before the system's commands they use).
func fakeTools(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin"+string(os.PathListSeparator)+"/bin")
	t.Setenv("DISPLAY", ":99")
	t.Setenv("WAYLAND_DISPLAY", "")
	return dir
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// xclipServing is an xclip that offers types and answers image/png with
// the file png in dir.
func xclipServing(types string) string {
	return `case "$4" in TARGETS) printf '` + types + `';; image/png) cat "$(dirname "$0")/png";; *) exit 1;; esac`
}

func TestRead_APictureCopiedUnderX11(t *testing.T) {
	dir := fakeTools(t, map[string]string{"xclip": xclipServing(`TARGETS\nimage/png\ntext/plain\n`)})
	want := pngBytes(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "png"), want, 0o600))
	p, err := Read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "image/png", p.MediaType)
	assert.Equal(t, want, p.Data)
}

func TestRead_TextOrNothingIsNoPicture(t *testing.T) {
	fakeTools(t, map[string]string{"xclip": xclipServing(`TARGETS\nUTF8_STRING\ntext/plain\n`)})
	_, err := Read(context.Background())
	assert.ErrorIs(t, err, ErrNoPicture)

	fakeTools(t, map[string]string{"xclip": `echo "Error: target TARGETS not available" >&2; exit 1`})
	_, err = Read(context.Background())
	assert.ErrorIs(t, err, ErrNoPicture, "an empty clipboard")
}

func TestRead_BytesThatAreNotAPictureAreRefused(t *testing.T) {
	dir := fakeTools(t, map[string]string{"xclip": xclipServing(`image/png\n`)})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "png"), []byte("#!/bin/sh\nrm -rf ~\n"), 0o600))
	_, err := Read(context.Background())
	assert.ErrorIs(t, err, ErrNoPicture)
}

func TestRead_WithoutAToolSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", fakeTools(t, nil)) // nothing else: no real xclip either
	_, err := Read(context.Background())
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "xclip")
	t.Setenv("DISPLAY", "")
	_, err = Read(context.Background())
	assert.ErrorIs(t, err, ErrUnsupported, "no display at all")
}

func TestRead_APictureOver64MiBIsRefused(t *testing.T) {
	fakeTools(t, map[string]string{"xclip": `case "$4" in TARGETS) echo image/png;; *) printf '\211PNG\r\n\032\n'; head -c 67108864 /dev/zero;; esac`})
	_, err := Read(context.Background())
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestRead_AClipboardOwnerThatDoesNotAnswerTimesOut(t *testing.T) {
	old := toolTimeout
	toolTimeout = 200 * time.Millisecond
	t.Cleanup(func() { toolTimeout = old })
	fakeTools(t, map[string]string{"xclip": `case "$4" in TARGETS) echo image/png;; *) exec sleep 30;; esac`})
	start := time.Now()
	_, err := Read(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer")
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestRead_WaylandFirstThenX11(t *testing.T) {
	want := pngBytes(t)
	dir := fakeTools(t, map[string]string{
		"wl-paste": `case "$1" in --list-types) echo text/plain;; *) exit 1;; esac`,
		"xclip":    xclipServing(`image/png\n`),
	})
	t.Setenv("WAYLAND_DISPLAY", "wayland-0")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "png"), want, 0o600))
	p, err := Read(context.Background())
	require.NoError(t, err, "wl-paste has text only: xclip's picture")
	assert.Equal(t, want, p.Data)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "wl-paste"), []byte("#!/bin/sh\n"+
		`case "$1" in --list-types) printf 'image/jpeg\nimage/png\n';; *) cat "$(dirname "$0")/png";; esac`+"\n"), 0o755))
	p, err = Read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "image/png", p.MediaType, "png is preferred")
	assert.Equal(t, want, p.Data)
}
