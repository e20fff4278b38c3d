package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// Limits of [Thumbnail]. An image beyond any of them is refused with
// [ErrImageTooLarge] before its pixels are allocated.
const (
	// MaxImageSide is the largest width or height.
	MaxImageSide = 16384
	// MaxImagePixels is the largest width × height: 40 megapixels.
	MaxImagePixels = 40_000_000
	// MaxImageMemory bounds what the decoder is estimated to allocate for
	// the image's format and layout (see [Thumbnail]). It keeps a
	// thumbnail within the 64 MiB a SecureChat process may use beyond its
	// idle figure: enough for a 40-megapixel baseline JPEG in 4:2:0, a
	// 20-megapixel one in 4:4:4, a 16-megapixel RGBA PNG (a 5K screenshot).
	MaxImageMemory = 64 << 20
	// MaxImageBytes is the largest encoded image read.
	MaxImageBytes = 64 << 20
	// MaxThumbnailSide is the largest maxSide [Thumbnail] accepts.
	MaxThumbnailSide = 4096

	// maxImageHeader bounds the bytes read before the pixel data (JPEG
	// metadata segments, chiefly), which are kept to decode the image
	// after its size was checked.
	maxImageHeader = 4 << 20
)

var (
	// ErrNotImage is returned by [Thumbnail] for data that is not a PNG,
	// JPEG or GIF image it can read.
	ErrNotImage = errors.New("filestore: not a PNG, JPEG or GIF image")
	// ErrImageTooLarge is returned by [Thumbnail] for an image beyond its
	// limits.
	ErrImageTooLarge = errors.New("filestore: image too large to show")
)

type imageLimits struct {
	side    int
	pixels  int64
	memory  int64
	encoded int64
	header  int
}

var defaultImageLimits = imageLimits{
	side: MaxImageSide, pixels: MaxImagePixels, memory: MaxImageMemory,
	encoded: MaxImageBytes, header: maxImageHeader,
}

// Thumbnail decodes the PNG, JPEG or GIF image (its first frame) read from
// r, and returns it scaled down to fit in maxSide × maxSide pixels (an
// image already that small is copied as it is), as an *image.RGBA.
//
// A hostile image cannot make it allocate much: it first reads the image's
// header with image/png, image/jpeg or image/gif's DecodeConfig and refuses
// an image wider or taller than [MaxImageSide] or larger than
// [MaxImagePixels], or whose decoding is estimated to take more than
// [MaxImageMemory]. The estimate is exact for PNG (4 or 8 bytes a pixel, 1
// if paletted, twice that if interlaced) and GIF (2 bytes a pixel), and
// follows the frame header of a JPEG (its chroma subsampling; 5 times the
// samples when progressive, for the coefficients; 4 bytes a pixel more for
// RGB and CMYK). One case escapes the estimate: an Adobe segment placed
// after a JPEG's first scan makes image/jpeg convert to RGBA at the end, 4
// bytes a pixel more (at most 160 MB at the pixel limit): bounded, if not
// within 64 MiB. At most [MaxImageBytes] are read from r, streaming.
func Thumbnail(r io.Reader, maxSide int) (image.Image, error) {
	return thumbnail(r, maxSide, defaultImageLimits)
}

func thumbnail(r io.Reader, maxSide int, lim imageLimits) (image.Image, error) {
	if maxSide < 1 || maxSide > MaxThumbnailSide {
		return nil, fmt.Errorf("filestore: thumbnail side %d not in 1 to %d", maxSide, MaxThumbnailSide)
	}
	src := &imageSource{r: r, left: lim.encoded}
	head := &headBuffer{max: lim.header}
	tee := io.TeeReader(src, head)
	var sig [8]byte
	n, _ := io.ReadFull(tee, sig[:])
	kind := sniffImage(sig[:n])
	if kind == "" {
		if src.err != nil {
			return nil, fmt.Errorf("filestore: failed to read the image: %w", src.err)
		}
		return nil, ErrNotImage
	}
	cfg, err := decodeConfig(kind, io.MultiReader(bytes.NewReader(sig[:n]), tee))
	if err != nil {
		return nil, src.explain(err, head.full)
	}
	if err := checkImage(kind, cfg, head.b, lim); err != nil {
		return nil, err
	}
	img, err := decodeImage(kind, io.MultiReader(bytes.NewReader(head.b), src))
	head.b = nil
	if err != nil {
		return nil, src.explain(err, false)
	}
	if img.Bounds().Empty() { // a GIF's first frame may be empty
		return nil, fmt.Errorf("%w: an empty picture", ErrNotImage)
	}
	return scaleDown(img, maxSide), nil
}

// imageSource reads at most left bytes from r, and remembers why reading
// stopped.
type imageSource struct {
	r        io.Reader
	left     int64
	tooLarge bool
	err      error // r's error other than io.EOF
}

func (s *imageSource) Read(p []byte) (int, error) {
	if s.left <= 0 {
		// One byte more tells an image of exactly the limit from a larger one.
		var b [1]byte
		if n, _ := s.r.Read(b[:]); n > 0 {
			s.tooLarge = true
			return 0, ErrImageTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// explain turns a decoder's error into the one Thumbnail returns.
func (s *imageSource) explain(err error, headerFull bool) error {
	switch {
	case s.tooLarge:
		return fmt.Errorf("%w: more than %d bytes", ErrImageTooLarge, MaxImageBytes)
	case headerFull:
		return fmt.Errorf("%w: its header is too long", ErrImageTooLarge)
	case s.err != nil:
		return fmt.Errorf("filestore: failed to read the image: %w", s.err)
	}
	return fmt.Errorf("%w: %w", ErrNotImage, err)
}

// headBuffer keeps the first max bytes written to it, and fails after.
type headBuffer struct {
	b    []byte
	max  int
	full bool
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if len(h.b)+len(p) > h.max {
		h.full = true
		return 0, ErrImageTooLarge
	}
	h.b = append(h.b, p...)
	return len(p), nil
}

func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	}
	return ""
}

func decodeConfig(kind string, r io.Reader) (image.Config, error) {
	switch kind {
	case "png":
		return png.DecodeConfig(r)
	case "jpeg":
		return jpeg.DecodeConfig(r)
	default:
		return gif.DecodeConfig(r)
	}
}

func decodeImage(kind string, r io.Reader) (image.Image, error) {
	switch kind {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	default:
		return gif.Decode(r)
	}
}

// checkImage refuses an image whose size or estimated decoding memory is
// beyond lim. head is the image's first bytes, up to and including its
// frame header.
func checkImage(kind string, cfg image.Config, head []byte, lim imageLimits) error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w < 1 || h < 1 {
		return fmt.Errorf("%w: empty image (%d×%d)", ErrNotImage, w, h)
	}
	if w > int64(lim.side) || h > int64(lim.side) || w*h > lim.pixels {
		return fmt.Errorf("%w: %d×%d pixels", ErrImageTooLarge, w, h)
	}
	mem, err := decodeMemory(kind, cfg, head)
	if err != nil {
		return err
	}
	if mem > lim.memory {
		return fmt.Errorf("%w: %d×%d pixels would take %d MiB to decode", ErrImageTooLarge, w, h, mem>>20)
	}
	return nil
}

// decodeMemory estimates what decoding the image takes, from the
// allocations of image/png, image/jpeg and image/gif.
func decodeMemory(kind string, cfg image.Config, head []byte) (int64, error) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch kind {
	case "png":
		bpp := int64(4) // gray with a transparent color decodes as NRGBA
		switch cfg.ColorModel {
		case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
			bpp = 8
		}
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		}
		mem := w * h * bpp
		// IHDR is the first chunk: signature 8, length and type 8, then the
		// interlace method is byte 12 of its data.
		if len(head) > 28 && head[28] != 0 {
			mem *= 2 // each Adam7 pass is decoded apart, then merged
		}
		return mem, nil
	case "gif":
		return 2 * w * h, nil // the frame, and a copy to undo interlacing
	}
	fr, ok := scanJPEG(head)
	if !ok {
		return 0, fmt.Errorf("%w: no JPEG frame header", ErrNotImage)
	}
	mem := fr.samples(w, h)
	if fr.progressive {
		mem *= 5 // an int32 coefficient per sample is kept until the end
	}
	if cfg.ColorModel == color.RGBAModel || cfg.ColorModel == color.CMYKModel {
		mem += 4 * w * h // converted to RGBA or CMYK at the end
	}
	return mem, nil
}

// jpegFrame is what decodeMemory needs of a JPEG frame header.
type jpegFrame struct {
	progressive bool
	comps       int
	h, v        [4]int64 // sampling factors
}

// samples is the number of samples image/jpeg allocates: whole MCUs of
// every component.
func (f jpegFrame) samples(w, h int64) int64 {
	if f.comps == 1 {
		return (w + 7) / 8 * 8 * ((h + 7) / 8 * 8)
	}
	mxx := (w + 8*f.h[0] - 1) / (8 * f.h[0])
	myy := (h + 8*f.v[0] - 1) / (8 * f.v[0])
	var n int64
	for c := range f.comps {
		n += 8 * f.h[c] * mxx * 8 * f.v[c] * myy
	}
	return n
}

// scanJPEG finds the frame header (SOF0, SOF1 or SOF2) in the first bytes
// of a JPEG image, walking the markers as image/jpeg does.
func scanJPEG(b []byte) (jpegFrame, bool) {
	var fr jpegFrame
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return fr, false
	}
	i := 2
	for {
		for i < len(b) && b[i] != 0xff {
			i++ // image/jpeg ignores stray bytes between segments
		}
		if i+1 >= len(b) {
			return fr, false
		}
		m := b[i+1]
		i += 2
		if m == 0 {
			continue
		}
		for m == 0xff { // fill bytes
			if i >= len(b) {
				return fr, false
			}
			m, i = b[i], i+1
		}
		if m == 0xd9 { // end of image
			return fr, false
		}
		if 0xd0 <= m && m <= 0xd7 { // restart markers have no length
			continue
		}
		if i+2 > len(b) {
			return fr, false
		}
		n := int(b[i])<<8 | int(b[i+1]) - 2
		i += 2
		if n < 0 || i+n > len(b) {
			return fr, false
		}
		if m == 0xc0 || m == 0xc1 || m == 0xc2 {
			return parseSOF(m == 0xc2, b[i:i+n])
		}
		i += n
	}
}

// parseSOF reads a frame header's components and sampling factors.
func parseSOF(progressive bool, b []byte) (jpegFrame, bool) {
	fr := jpegFrame{progressive: progressive}
	if len(b) < 6 {
		return fr, false
	}
	fr.comps = int(b[5])
	if fr.comps != 1 && fr.comps != 3 && fr.comps != 4 || len(b) < 6+3*fr.comps {
		return fr, false
	}
	for c := range fr.comps {
		hv := b[6+3*c+1]
		fr.h[c], fr.v[c] = int64(hv>>4), int64(hv&0x0f)
		if fr.h[c] < 1 || fr.h[c] > 4 || fr.v[c] < 1 || fr.v[c] > 4 {
			return fr, false
		}
	}
	return fr, true
}

// scaleDown returns src scaled to fit in maxSide × maxSide, by averaging
// the source pixels that fall in each destination pixel (a box filter, in
// premultiplied RGBA). It converts one source row at a time.
func scaleDown(src image.Image, maxSide int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	tw, th := w, h
	switch {
	case w <= maxSide && h <= maxSide:
	case w >= h:
		tw, th = maxSide, max(1, int((int64(h)*int64(maxSide)+int64(w)/2)/int64(w)))
	default:
		tw, th = max(1, int((int64(w)*int64(maxSide)+int64(h)/2)/int64(h))), maxSide
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	row := image.NewRGBA(image.Rect(0, 0, w, 1))
	col := make([]int, w)       // the destination column of each source column
	cols := make([]int64, tw)   // how many source columns each destination column has
	acc := make([]uint64, 4*tw) // sums of the current destination row
	for x := range w {
		col[x] = int(int64(x) * int64(tw) / int64(w))
		cols[col[x]]++
	}
	var rows int64
	for y := range h {
		draw.Draw(row, row.Rect, src, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		for x, c := range col {
			p := row.Pix[4*x : 4*x+4 : 4*x+4]
			a := acc[4*c : 4*c+4 : 4*c+4]
			a[0] += uint64(p[0])
			a[1] += uint64(p[1])
			a[2] += uint64(p[2])
			a[3] += uint64(p[3])
		}
		rows++
		dy := int(int64(y) * int64(th) / int64(h))
		if y+1 < h && int(int64(y+1)*int64(th)/int64(h)) == dy {
			continue // the next source row falls in the same destination row
		}
		out := dst.Pix[dy*dst.Stride : dy*dst.Stride+4*tw]
		for c := range tw {
			n := uint64(cols[c] * rows)
			for k := range 4 {
				out[4*c+k] = uint8((acc[4*c+k] + n/2) / n)
				acc[4*c+k] = 0
			}
		}
		rows = 0
	}
	return dst
}
