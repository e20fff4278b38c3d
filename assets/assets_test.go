package assets

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIconPNG_Is512SquareWithTransparentCorners(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(IconPNG))
	require.NoError(t, err, "IconPNG is not a PNG")
	require.Equal(t, image.Rect(0, 0, 512, 512), img.Bounds(), "fyne package and the stores want a 512 px square icon")

	// The bubble is not a square: a corner left opaque would show as a box
	// around the icon on every desktop.
	for _, p := range []image.Point{{0, 0}, {511, 0}, {511, 511}, {0, 511}} {
		_, _, _, a := img.At(p.X, p.Y).RGBA()
		assert.Zero(t, a, "corner %v is not transparent", p)
	}
	// The middle of the padlock's body is opaque white.
	r, g, b, a := img.At(190, 330).RGBA()
	assert.Equal(t, [4]uint32{0xffff, 0xffff, 0xffff, 0xffff}, [4]uint32{r, g, b, a}, "the padlock is not white")
}
