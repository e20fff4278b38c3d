package filestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twoColors is a w×h image, red on its left half and blue on its right.
func twoColors(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func encode(t testing.TB, kind string, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch kind {
	case "png":
		err = png.Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
	case "gif":
		err = gif.Encode(&b, m, nil)
	}
	require.NoError(t, err)
	return b.Bytes()
}

func near(a, b uint8) bool { return a-b < 24 || b-a < 24 }

func TestThumbnail_ScalesPNGJPEGAndGIFDown(t *testing.T) {
	for _, kind := range []string{"png", "jpeg", "gif"} {
		t.Run(kind, func(t *testing.T) {
			img, err := Thumbnail(bytes.NewReader(encode(t, kind, twoColors(300, 200))), 64)
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, 64, 43), img.Bounds(), "fits in 64×64, keeping the aspect")
			left := img.At(5, 20).(color.RGBA)
			right := img.At(58, 20).(color.RGBA)
			assert.True(t, near(left.R, 255) && near(left.B, 0), "left is red: %v", left)
			assert.True(t, near(right.R, 0) && near(right.B, 255), "right is blue: %v", right)
			assert.Equal(t, uint8(255), left.A)
		})
	}
	t.Run("tall", func(t *testing.T) {
		img, err := Thumbnail(bytes.NewReader(encode(t, "png", twoColors(10, 1000))), 100)
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, 1, 100), img.Bounds())
	})
	t.Run("already small", func(t *testing.T) {
		img, err := Thumbnail(bytes.NewReader(encode(t, "png", twoColors(20, 10))), 64)
		require.NoError(t, err)
		assert.Equal(t, twoColors(20, 10), img, "copied as it is")
	})
	t.Run("box filter averages", func(t *testing.T) {
		img, err := Thumbnail(bytes.NewReader(encode(t, "png", twoColors(2, 2))), 1)
		require.NoError(t, err)
		assert.Equal(t, color.RGBA{128, 0, 128, 255}, img.At(0, 0), "half red, half blue")
	})
}

func TestThumbnail_OfAStoredPicture(t *testing.T) {
	s := newStore(t, true)
	id, _, err := s.Import(bytes.NewReader(encode(t, "jpeg", twoColors(640, 480))), Meta{Name: "p.jpg", MediaType: "image/jpeg"})
	require.NoError(t, err)
	r, _, err := s.Open(id)
	require.NoError(t, err)
	defer r.Close()
	img, err := Thumbnail(r, 128)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 128, 96), img.Bounds())
}

// pngHeader is the start of a PNG that claims w×h pixels of the color type
// ct (2 RGB, 6 RGBA, 0 gray, ...) and depth; DecodeConfig needs no more.
func pngHeader(w, h uint32, depth, ct, interlace byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, depth, ct, 0, 0, interlace)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// jpegHeader is the start of a JFIF JPEG that claims w×h pixels, 4:2:0,
// baseline or progressive.
func jpegHeader(w, h uint16, progressive bool) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	sof := byte(0xc0)
	if progressive {
		sof = 0xc2
	}
	b = append(b, 0xff, sof, 0, 17, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
}

// gifHeader is the start of a GIF whose screen is w×h.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

// emptyFrameGIF is a 10×10 GIF whose first frame is 0×5 pixels: image/gif
// decodes it as an empty image.
func emptyFrameGIF() []byte {
	b := gifHeader(10, 10)
	b[10] = 0x80                                   // a global palette of two colors
	b = append(b, 0, 0, 0, 255, 255, 255)          // black, white
	b = append(b, 0x2c, 0, 0, 0, 0, 0, 0, 5, 0, 0) // a frame at 0,0 of 0×5
	return append(b, 2, 1, 0x2c, 0, 0x3b)          // LZW: clear, end; the trailer
}

func TestThumbnail_EmptyGIFFrameIsNotAPicture(t *testing.T) {
	m, err := gif.Decode(bytes.NewReader(emptyFrameGIF()))
	require.NoError(t, err)
	require.True(t, m.Bounds().Empty(), "the case to cover")
	_, err = Thumbnail(bytes.NewReader(emptyFrameGIF()), 4)
	assert.ErrorIs(t, err, ErrNotImage, "and no division by zero in scaling")
}

// A decompression bomb claims a huge image in a few bytes. Thumbnail must
// refuse it from its header, before allocating its pixels.
func TestThumbnail_RefusesBombsBeforeAllocating(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"PNG 100000×100000", pngHeader(100000, 100000, 8, 6, 0)},
		{"PNG 16385×1", pngHeader(MaxImageSide+1, 1, 8, 2, 0)},
		{"PNG 16384×16384, beyond 40 megapixels", pngHeader(16384, 16384, 8, 2, 0)},
		{"PNG 6000×6000 RGBA: 36 megapixels, 137 MiB", pngHeader(6000, 6000, 8, 6, 0)},
		{"PNG 3000×3000 16-bit: 68 MiB", pngHeader(3000, 3000, 16, 2, 0)},
		{"PNG 3000×3000 interlaced: 68 MiB", pngHeader(3000, 3000, 8, 2, 1)},
		{"JPEG 65535×65535", jpegHeader(65535, 65535, false)},
		{"progressive JPEG 4000×3000: 86 MiB", jpegHeader(4000, 3000, true)},
		{"GIF 65535×65535", gifHeader(65535, 65535)},
		{"GIF 6000×6000: 68 MiB", gifHeader(6000, 6000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Thumbnail(bytes.NewReader(tc.data), 256)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrImageTooLarge)
			t.Log(err)
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, allocated, uint64(1<<20), "allocated %d bytes before refusing", allocated)
		})
	}
}

// The limits leave room for the pictures people send.
func TestThumbnail_LimitsAdmitCommonPictures(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"12 MP photo, baseline JPEG", jpegHeader(4032, 3024, false)},
		{"40 MP photo, baseline JPEG", jpegHeader(7296, 5472, false)},
		{"progressive JPEG 2560×1600", jpegHeader(2560, 1600, true)},
		{"5K screenshot, RGBA PNG", pngHeader(5120, 2880, 8, 6, 0)},
		{"GIF 4000×4000", gifHeader(4000, 4000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind := sniffImage(tc.data)
			cfg, err := decodeConfig(kind, bytes.NewReader(tc.data))
			require.NoError(t, err)
			require.NoError(t, checkImage(kind, cfg, tc.data, defaultImageLimits))
			mem, err := decodeMemory(kind, cfg, tc.data)
			require.NoError(t, err)
			t.Logf("%d×%d: %d MiB to decode", cfg.Width, cfg.Height, mem>>20)
		})
	}
}

func TestThumbnail_EstimatesFollowTheFormat(t *testing.T) {
	cfg := func(data []byte) image.Config {
		c, err := decodeConfig(sniffImage(data), bytes.NewReader(data))
		require.NoError(t, err)
		return c
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"RGB PNG", pngHeader(100, 10, 8, 2, 0), 100 * 10 * 4},
		{"gray PNG, maybe transparent", pngHeader(100, 10, 8, 0, 0), 100 * 10 * 4},
		{"16-bit RGBA PNG", pngHeader(100, 10, 16, 6, 0), 100 * 10 * 8},
		{"interlaced PNG", pngHeader(100, 10, 8, 6, 1), 100 * 10 * 4 * 2},
		{"GIF", gifHeader(100, 10), 100 * 10 * 2},
		{"baseline JPEG 4:2:0", jpegHeader(100, 10, false), 112*16 + 2*56*8},         // whole 16×16 MCUs
		{"progressive JPEG 4:2:0", jpegHeader(100, 10, true), 5 * (112*16 + 2*56*8)}, // and their coefficients
	} {
		got, err := decodeMemory(sniffImage(tc.data), cfg(tc.data), tc.data)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

func TestThumbnail_RefusesWhatIsNotAnImage(t *testing.T) {
	full := encode(t, "png", twoColors(50, 50))
	for name, data := range map[string][]byte{
		"empty":        nil,
		"text":         []byte("hello, this is not a picture"),
		"cut PNG":      full[:len(full)/2],
		"PNG header":   pngHeader(50, 50, 8, 2, 0),
		"zero width":   pngHeader(0, 10, 8, 2, 0),
		"JPEG, no SOF": {0xff, 0xd8, 0xff, 0xd9},
		"WebP":         []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
	} {
		_, err := Thumbnail(bytes.NewReader(data), 64)
		assert.ErrorIs(t, err, ErrNotImage, name)
	}
	_, err := Thumbnail(bytes.NewReader(full), 0)
	assert.Error(t, err, "a zero thumbnail side")
	_, err = Thumbnail(bytes.NewReader(full), MaxThumbnailSide+1)
	assert.Error(t, err)
}

func TestThumbnail_ReadErrorIsReported(t *testing.T) {
	boom := errors.New("disk on fire")
	full := encode(t, "png", twoColors(50, 50))
	for _, n := range []int{0, 4, 40, len(full) - 10} {
		_, err := Thumbnail(io.MultiReader(bytes.NewReader(full[:n]), iotest.ErrReader(boom)), 64)
		assert.ErrorIs(t, err, boom, "error after %d bytes", n)
		assert.NotErrorIs(t, err, ErrNotImage)
	}
}

func TestThumbnail_BoundsWhatItReads(t *testing.T) {
	img := encode(t, "png", twoColors(200, 200))
	lim := defaultImageLimits
	lim.encoded = int64(len(img))
	_, err := thumbnail(bytes.NewReader(img), 64, lim)
	require.NoError(t, err, "an image of exactly the limit")
	lim.encoded = int64(len(img)) - 1
	_, err = thumbnail(bytes.NewReader(img), 64, lim)
	assert.ErrorIs(t, err, ErrImageTooLarge, "one byte more than the limit")

	// A JPEG whose metadata before the frame header outgrows what is kept.
	jpg := encode(t, "jpeg", twoColors(64, 64))
	comment := append([]byte{0xff, 0xfe, 0xff, 0xff}, bytes.Repeat([]byte("c"), 0xfffd)...)
	var bomb []byte
	bomb = append(bomb, jpg[:2]...)
	for range 20 {
		bomb = append(bomb, comment...)
	}
	bomb = append(bomb, jpg[2:]...)
	_, err = Thumbnail(bytes.NewReader(bomb), 64)
	require.NoError(t, err, "1.3 MB of comments fit in the header limit")
	lim = defaultImageLimits
	lim.header = 1 << 20
	_, err = thumbnail(bytes.NewReader(bomb), 64, lim)
	assert.ErrorIs(t, err, ErrImageTooLarge)
}

func TestScanJPEG_FindsTheFrameHeaderOfRealFiles(t *testing.T) {
	for _, m := range []image.Image{twoColors(33, 17), image.NewGray(image.Rect(0, 0, 9, 9)), image.NewYCbCr(image.Rect(0, 0, 30, 30), image.YCbCrSubsampleRatio444)} {
		data := encode(t, "jpeg", m)
		fr, ok := scanJPEG(data)
		require.True(t, ok)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		require.NoError(t, err)
		dec, err := jpeg.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		// The estimate covers what the decoder returns.
		var have int
		switch d := dec.(type) {
		case *image.YCbCr:
			have = len(d.Y) + len(d.Cb) + len(d.Cr)
		case *image.Gray:
			have = len(d.Pix)
		default:
			t.Fatalf("decoded as %T", dec)
		}
		assert.GreaterOrEqual(t, fr.samples(int64(cfg.Width), int64(cfg.Height)), int64(have), fmt.Sprintf("%T", m))
	}
}
