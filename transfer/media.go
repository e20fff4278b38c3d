package transfer

import (
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// octetStream is the media type of bytes of unknown kind.
const octetStream = "application/octet-stream"

// validMediaType reports whether an Offer may carry s: lower case
// "type/subtype" of RFC 6838's restricted names, no parameters.
func validMediaType(s string) bool {
	_, err := filexfer.Offer{Size: 1, MediaType: s, Name: "x"}.Marshal()
	return err == nil
}

// detectType is the media type of a file from its first bytes, else from
// its name's extension, reduced to what an Offer carries.
func detectType(head []byte, name string) string {
	if t := reduceType(http.DetectContentType(head)); t != octetStream && t != "text/plain" {
		return t
	}
	if t := reduceType(mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))); t != octetStream {
		return t
	}
	return reduceType(http.DetectContentType(head))
}

// reduceType drops a media type's parameters and lower-cases it;
// octetStream if what is left is not valid.
func reduceType(t string) string {
	t, _, _ = strings.Cut(t, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	if !validMediaType(t) {
		return octetStream
	}
	return t
}

// isPicture reports whether a file's first bytes are of a PNG, JPEG or
// GIF, the pictures Thumbnail shows.
func isPicture(head []byte) bool {
	switch http.DetectContentType(head) {
	case "image/png", "image/jpeg", "image/gif":
		return true
	}
	return false
}

// picture reads the first bytes of a stored file for isPicture.
func (e *Engine) picture(id filestore.ID) bool {
	r, _, err := e.store.Open(id)
	if err != nil {
		return false
	}
	defer r.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(r, head)
	return isPicture(head[:n])
}
