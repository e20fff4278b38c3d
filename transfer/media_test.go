package transfer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDetectType_BytesFirstThenTheExtension(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, c := range []struct {
		head []byte
		name string
		want string
	}{
		{png, "picture.jpg", "image/png"}, // the bytes win over the name
		{[]byte{0x00, 0x01, 0xfe, 0x42}, "report.pdf", "application/pdf"},
		{[]byte{0x00, 0x01, 0xfe, 0x42}, "data.unknownext", octetStream},
		{[]byte("a,b\n1,2\n"), "table.csv", "text/csv"},
		{[]byte("just words"), "notes", "text/plain"},
		{[]byte("<html><body>x</body></html>"), "page.txt", "text/html"},
		{nil, "empty", "text/plain"},
	} {
		assert.Equal(t, c.want, detectType(c.head, c.name), "%q %s", c.head, c.name)
	}
}

func TestReduceType_GivesWhatAnOfferCarries(t *testing.T) {
	for in, want := range map[string]string{
		"image/png":                 "image/png",
		"Image/PNG":                 "image/png",
		"text/html; charset=utf-8":  "text/html",
		"application/vnd.ms-excel":  "application/vnd.ms-excel",
		"":                          octetStream,
		"nonsense":                  octetStream,
		"a/b/c":                     octetStream,
		"text/ plain":               octetStream,
		"application/x-\u00e9":      octetStream,
		"  application/json  ;q=1 ": "application/json",
	} {
		assert.Equal(t, want, reduceType(in), "%q", in)
	}
}
