package filexfer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "regenerate testdata/messages.txt and testdata/safename.txt")

const messageVectors = "messages.txt"

// Fixed values for the vectors.
var (
	vecID   = ID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	vecFile = pattern(100_000)
	vecSum  = sha256.Sum256(vecFile)
)

// pattern is n bytes of i mod 251: the test files.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

type namedMessage struct {
	title string
	m     Message
}

// vectorMessages: every message type, each limit at both ends but the
// length of a full chunk (TestParse_BoundaryLengths has it; 49152 bytes of
// hex would swamp the file).
func vectorMessages() []namedMessage {
	return []namedMessage{
		{"offer", Offer{ID: vecID, Size: uint64(len(vecFile)), SHA256: vecSum, MediaType: "image/png", Name: "Zoë's photo.png"}},
		{"offer of 1 byte", Offer{ID: vecID, Size: 1, SHA256: sha256.Sum256([]byte{0}), MediaType: "application/octet-stream", Name: "x"}},
		{"offer of 4 GiB, shortest media type", Offer{ID: vecID, Size: MaxSize, SHA256: vecSum, MediaType: "a/b", Name: "disk.img"}},
		{"offer with an unsafe name", Offer{ID: vecID, Size: 5, SHA256: vecSum, MediaType: "text/plain", Name: "../con.txt\u202e"}},
		{"offer with the longest media type and name", Offer{ID: vecID, Size: 5, SHA256: vecSum,
			MediaType: strings.Repeat("t", 127) + "/" + strings.Repeat("s", 127), Name: strings.Repeat("n", MaxNameBytes)}},
		{"accept", Accept{ID: vecID, Offset: 0}},
		{"accept to resume", Accept{ID: vecID, Offset: 2 * ChunkSize}},
		{"accept of 4 GiB", Accept{ID: vecID, Offset: MaxSize}},
		{"decline", Decline{ID: vecID, Code: CodeDeclined}},
		{"decline, hash mismatch", Decline{ID: vecID, Code: CodeHashMismatch, Reason: "hash mismatch: the file was discarded"}},
		{"decline, protocol", Decline{ID: vecID, Code: CodeProtocol, Reason: strings.Repeat("r", MaxReasonBytes)}},
		{"decline, busy", DeclineBusy(Offer{ID: vecID})},
		{"chunk, first (of a 100-byte file)", Chunk{ID: vecID, Offset: 0, Data: vecFile[:100]}},
		{"chunk, last (of the 100000-byte file)", Chunk{ID: vecID, Offset: 2 * ChunkSize, Data: vecFile[2*ChunkSize:]}},
		{"chunk of 1 byte", Chunk{ID: vecID, Offset: ChunkSize, Data: []byte{0x2a}}},
		{"chunk at the end of 4 GiB", Chunk{ID: vecID, Offset: MaxSize - MaxSize%ChunkSize, Data: []byte{1, 2, 3}}},
		{"progress", Progress{ID: vecID, Durable: 4 * ChunkSize}},
		{"progress at the end", Progress{ID: vecID, Durable: uint64(len(vecFile))}},
		{"cancel", Cancel{ID: vecID, Code: CodeCancelled}},
		{"cancel, source changed", Cancel{ID: vecID, Code: CodeSourceChanged, Reason: "the sender's file changed or cannot be read"}},
		{"done", Done{ID: vecID}},
	}
}

// vectorRefusals: messages that Parse must refuse, each with why.
func vectorRefusals() []struct{ title, hex string } {
	enc := func(m Message) []byte {
		b, err := m.Marshal()
		if err != nil {
			panic(err)
		}
		return b
	}
	offer := enc(vectorMessages()[0].m)
	setSize := func(n uint64) string {
		b := bytes.Clone(offer)
		for i := range 8 {
			b[1+IDSize+i] = byte(n >> (56 - 8*i))
		}
		return hex.EncodeToString(b)
	}
	accept := enc(Accept{ID: vecID})
	h := hex.EncodeToString
	mediaAt := 1 + IDSize + 8 + 32
	withMedia := func(mt string) string {
		b := append(bytes.Clone(offer[:mediaAt]), byte(len(mt)))
		return h(append(append(b, mt...), "x.png"...))
	}
	return []struct{ title, hex string }{
		{"empty", ""},
		{"unknown type 0x0f", h(append([]byte{0x0f}, vecID[:]...))},
		{"chat type 0x01", "01"},
		{"offer of 0 bytes", setSize(0)},
		{"offer of 4 GiB + 1", setSize(MaxSize + 1)},
		{"offer with an upper-case media type", withMedia("image/PNG")},
		{"offer with media type parameters", withMedia("text/plain;charset=utf-8")},
		{"offer with a media type without a slash", withMedia("png")},
		{"offer with an empty media type", withMedia("")},
		{"offer whose media type length eats the name", h(append(bytes.Clone(offer[:mediaAt]), 9, 'i', 'm', 'a', 'g', 'e', '/', 'p', 'n', 'g'))},
		{"offer with a name that is not UTF-8", h(append(bytes.Clone(offer[:len(offer)-4]), 0xff, 0xfe, 0xfd, 0xfc))},
		{"offer with a name of 1025 bytes", h(append(bytes.Clone(offer), bytes.Repeat([]byte("n"), MaxNameBytes+1-len("Zoë's photo.png"))...))},
		{"offer cut short", h(offer[:40])},
		{"accept with a trailing byte", h(append(bytes.Clone(accept), 0))},
		{"accept one byte short", h(accept[:len(accept)-1])},
		{"accept past 4 GiB", h(enc(Accept{ID: vecID, Offset: MaxSize})[:17]) + "0000000100000001"},
		{"progress past 4 GiB", "0c" + h(vecID[:]) + "ffffffffffffffff"},
		{"decline with code 0", "0a" + h(vecID[:]) + "00"},
		{"decline with code 4 (a sender's code)", "0a" + h(vecID[:]) + "04"},
		{"decline with code 9", "0a" + h(vecID[:]) + "09"},
		{"decline with a reason that is not UTF-8", "0a" + h(vecID[:]) + "01" + "c328"},
		{"decline with a reason of 256 bytes", "0a" + h(vecID[:]) + "01" + strings.Repeat("72", 256)},
		{"cancel with code 3 (a receiver's code)", "0d" + h(vecID[:]) + "03"},
		{"cancel without a code", "0d" + h(vecID[:])},
		{"chunk without data", "0b" + h(vecID[:]) + "0000000000000000"},
		{"chunk at an offset that is not a multiple of 49152", "0b" + h(vecID[:]) + "0000000000000001" + "00"},
		{"chunk past 4 GiB", "0b" + h(vecID[:]) + fmt.Sprintf("%016x", uint64(MaxSize-MaxSize%ChunkSize)) + strings.Repeat("00", MaxSize%ChunkSize+1)},
		{"done with a trailing byte", "0e" + h(vecID[:]) + "00"},
		{"done one byte short", "0e" + h(vecID[:15])},
	}
}

// fields lists a message's fields as the vector file writes them.
func fields(m Message) [][2]string {
	id := [2]string{"id", m.Transfer().String()}
	u := func(k string, v uint64) [2]string { return [2]string{k, strconv.FormatUint(v, 10)} }
	switch m := m.(type) {
	case Offer:
		return [][2]string{{"type", "offer"}, id, u("size", m.Size), {"sha256", hex.EncodeToString(m.SHA256[:])},
			{"media type", strconv.Quote(m.MediaType)}, {"name", strconv.Quote(m.Name)}}
	case Accept:
		return [][2]string{{"type", "accept"}, id, u("offset", m.Offset)}
	case Decline:
		return [][2]string{{"type", "decline"}, id, u("code", uint64(m.Code)), {"reason", strconv.Quote(m.Reason)}}
	case Chunk:
		return [][2]string{{"type", "chunk"}, id, u("offset", m.Offset), {"data", hex.EncodeToString(m.Data)}}
	case Progress:
		return [][2]string{{"type", "progress"}, id, u("durable", m.Durable)}
	case Cancel:
		return [][2]string{{"type", "cancel"}, id, u("code", uint64(m.Code)), {"reason", strconv.Quote(m.Reason)}}
	case Done:
		return [][2]string{{"type", "done"}, id}
	}
	panic(fmt.Sprintf("no fields for %T", m))
}

// fromFields builds the message that a block of the vector file
// describes, from its fields alone.
func fromFields(t *testing.T, f map[string]string) Message {
	t.Helper()
	var id ID
	raw, err := hex.DecodeString(f["id"])
	require.NoError(t, err)
	require.Len(t, raw, IDSize)
	copy(id[:], raw)
	u := func(k string) uint64 {
		n, err := strconv.ParseUint(f[k], 10, 64)
		require.NoError(t, err, k)
		return n
	}
	q := func(k string) string {
		s, err := strconv.Unquote(f[k])
		require.NoError(t, err, k)
		return s
	}
	switch f["type"] {
	case "offer":
		o := Offer{ID: id, Size: u("size"), MediaType: q("media type"), Name: q("name")}
		sum, err := hex.DecodeString(f["sha256"])
		require.NoError(t, err)
		copy(o.SHA256[:], sum)
		return o
	case "accept":
		return Accept{ID: id, Offset: u("offset")}
	case "decline":
		return Decline{ID: id, Code: Code(u("code")), Reason: q("reason")}
	case "chunk":
		data, err := hex.DecodeString(f["data"])
		require.NoError(t, err)
		return Chunk{ID: id, Offset: u("offset"), Data: data}
	case "progress":
		return Progress{ID: id, Durable: u("durable")}
	case "cancel":
		return Cancel{ID: id, Code: Code(u("code")), Reason: q("reason")}
	case "done":
		return Done{ID: id}
	}
	t.Fatalf("unknown type %q", f["type"])
	return nil
}

// TestGenerateMessageVectors writes testdata/messages.txt: blocks of
// "key: value" lines separated by blank lines. A block with "message" is
// a valid message: its fields, then its encoding. A block with "refuse"
// is bytes that Parse must refuse, and why.
func TestGenerateMessageVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata")
	}
	var b strings.Builder
	b.WriteString("# SecureChat file messages (record plaintexts of the chat layer), filexfer package doc.\n")
	b.WriteString("# Integers in decimal, byte strings in hex, text Go-quoted; \"encoded\" is the whole message, type byte first.\n")
	b.WriteString("# Generated by TestGenerateMessageVectors (go test ./filexfer -run TestGenerate -update); do not edit.\n")
	for _, v := range vectorMessages() {
		enc, err := v.m.Marshal()
		require.NoError(t, err, v.title)
		fmt.Fprintf(&b, "\nmessage: %s\n", v.title)
		for _, f := range fields(v.m) {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
		fmt.Fprintf(&b, "encoded: %x\n", enc)
	}
	for _, v := range vectorRefusals() {
		fmt.Fprintf(&b, "\nrefuse: %s\nencoded: %s\n", v.title, v.hex)
	}
	require.NoError(t, os.WriteFile(filepath.Join("testdata", messageVectors), []byte(b.String()), 0o644))
}

// readBlocks reads the vector file's blocks.
func readBlocks(t testing.TB) []map[string]string {
	f, err := os.Open(filepath.Join("testdata", messageVectors))
	require.NoError(t, err)
	defer f.Close()
	var (
		blocks []map[string]string
		cur    map[string]string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case line == "":
			cur = nil
		default:
			k, v, ok := strings.Cut(line, ": ")
			if !ok { // "encoded: " of an empty message
				k, v = strings.TrimSuffix(line, ":"), ""
			}
			if cur == nil {
				cur = map[string]string{}
				blocks = append(blocks, cur)
			}
			cur[k] = v
		}
	}
	require.NoError(t, sc.Err())
	return blocks
}

// TestReplayMessageVectors rebuilds every message from its fields,
// encodes it, and parses the encoding back; and checks that Parse refuses
// every "refuse" block.
func TestReplayMessageVectors(t *testing.T) {
	var valid, refused int
	for _, blk := range readBlocks(t) {
		enc, err := hex.DecodeString(blk["encoded"])
		require.NoError(t, err)
		if title, ok := blk["refuse"]; ok {
			_, err := Parse(enc)
			require.ErrorIs(t, err, ErrInvalid, title)
			refused++
			continue
		}
		title := blk["message"]
		want := fromFields(t, blk)
		got, err := want.Marshal()
		require.NoError(t, err, title)
		require.Equal(t, enc, got, "%s: encoding", title)
		m, err := Parse(enc)
		require.NoError(t, err, title)
		require.Equal(t, want, m, "%s: parsed", title)
		valid++
	}
	require.Equal(t, len(vectorMessages()), valid, "regenerate with -update")
	require.Equal(t, len(vectorRefusals()), refused, "regenerate with -update")
}
