package filexfer

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	scrypto "github.com/securechat/securechat/crypto"
)

func mustMarshal(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	require.NoError(t, err)
	return b
}

func TestTypes_FollowTheChatTypesAndStopBeforeFinished(t *testing.T) {
	for typ := 0; typ < 256; typ++ {
		require.Equal(t, typ >= 0x08 && typ <= 0x0e, IsType(byte(typ)), "0x%02x", typ)
	}
	require.Less(t, TypeDone, scrypto.MsgFinished)
}

// TestParse_BoundaryLengths: each variable field at 0, 1, max-1, max and
// max+1 where that makes sense.
func TestParse_BoundaryLengths(t *testing.T) {
	offer := func(mt, name string) []byte {
		b := []byte{TypeOffer}
		b = append(b, vecID[:]...)
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 1)
		b = append(b, vecSum[:]...)
		b = append(b, byte(len(mt)))
		b = append(b, mt...)
		return append(b, name...)
	}
	chunk := func(n int) []byte {
		return append(append([]byte{TypeChunk}, append(vecID[:], 0, 0, 0, 0, 0, 0, 0, 0)...), make([]byte, n)...)
	}
	decline := func(n int) []byte {
		return append(append([]byte{TypeDecline}, append(vecID[:], byte(CodeProtocol))...), strings.Repeat("r", n)...)
	}
	part := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"name 0", offer("a/b", ""), false},
		{"name 1", offer("a/b", "n"), true},
		{"name max-1", offer("a/b", strings.Repeat("n", MaxNameBytes-1)), true},
		{"name max", offer("a/b", strings.Repeat("n", MaxNameBytes)), true},
		{"name max+1", offer("a/b", strings.Repeat("n", MaxNameBytes+1)), false},
		{"media type part 127", offer(part(127)+"/"+part(127), "n"), true},
		{"media type part 128", offer(part(128)+"/"+part(126), "n"), false},
		{"media type empty subtype", offer("image/", "n"), false},
		{"media type empty type", offer("/png", "n"), false},
		{"media type two slashes", offer("a/b/c", "n"), false},
		{"media type starts with punctuation", offer("image/+xml", "n"), false},
		{"media type with punctuation", offer("application/vnd.ms-excel+x_y", "n"), true},
		{"media type with a space", offer("text/plain ", "n"), false},
		{"media type not ASCII", offer("image/pñg", "n"), false},
		{"chunk 0", chunk(0), false},
		{"chunk 1", chunk(1), true},
		{"chunk max-1", chunk(ChunkSize - 1), true},
		{"chunk max", chunk(ChunkSize), true},
		{"chunk max+1", chunk(ChunkSize + 1), false},
		{"reason 0", decline(0), true},
		{"reason max-1", decline(MaxReasonBytes - 1), true},
		{"reason max", decline(MaxReasonBytes), true},
		{"reason max+1", decline(MaxReasonBytes + 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(c.b)
			if !c.ok {
				require.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.b, mustMarshal(t, m))
		})
	}
}

func TestParse_EachParserRefusesTheOtherTypes(t *testing.T) {
	parsers := map[byte]func([]byte) error{
		TypeOffer:    func(b []byte) error { _, err := ParseOffer(b); return err },
		TypeAccept:   func(b []byte) error { _, err := ParseAccept(b); return err },
		TypeDecline:  func(b []byte) error { _, err := ParseDecline(b); return err },
		TypeChunk:    func(b []byte) error { _, err := ParseChunk(b); return err },
		TypeProgress: func(b []byte) error { _, err := ParseProgress(b); return err },
		TypeCancel:   func(b []byte) error { _, err := ParseCancel(b); return err },
		TypeDone:     func(b []byte) error { _, err := ParseDone(b); return err },
	}
	for _, v := range vectorMessages() {
		b := mustMarshal(t, v.m)
		for typ, parse := range parsers {
			err := parse(b)
			if typ == b[0] {
				require.NoError(t, err, v.title)
			} else {
				require.ErrorIs(t, err, ErrInvalid, "%s parsed as 0x%02x", v.title, typ)
				require.Contains(t, err.Error(), "type 0x", v.title)
			}
		}
	}
}

// TestParse_ErrorsSayWhatIsWrongAndEchoLittle: an error names the field
// and the problem, and never carries more than a few bytes of the input.
func TestParse_ErrorsSayWhatIsWrongAndEchoLittle(t *testing.T) {
	secret := strings.Repeat("SECRET", 40)
	offer := mustMarshal(t, Offer{ID: vecID, Size: 1, SHA256: vecSum, MediaType: "a/b", Name: secret})
	cases := []struct {
		b    []byte
		says string
	}{
		{append(bytes.Clone(offer), 0xff), "name is not valid UTF-8 (byte 240)"},
		{append(append(bytes.Clone(offer[:57]), 200), []byte(secret)...), "media type"},
		{append(append(bytes.Clone(offer[:57]), 5), []byte("image"+secret)...), `media type "image" is not type/subtype`},
		{append(mustMarshal(t, Accept{ID: vecID}), 1), "accept: 26 bytes, not 25"},
		{mustMarshal(t, Done{ID: vecID})[:10], "done: 10 bytes, not 17"},
		{append([]byte{TypeDecline}, append(vecID[:], 9)...), "decline: unknown code 9"},
		{append([]byte{TypeCancel}, append(vecID[:], 1)...), "cancel: code 1 (a cancel carries 2, 4 or 7)"},
		{append([]byte{TypeChunk}, append(vecID[:], 0, 0, 0, 0, 0, 0, 0, 7, 1)...), "chunk: offset 7 is not a multiple of 49152"},
		{[]byte{0x42}, "type 0x42 is not a file message"},
		{nil, "invalid message: empty"},
	}
	for _, c := range cases {
		_, err := Parse(c.b)
		require.ErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), c.says)
		require.NotContains(t, err.Error(), strings.Repeat("SECRET", 3), "the error echoes the input")
	}
}

func TestMarshal_RefusesWhatParseWouldRefuse(t *testing.T) {
	good := Offer{ID: vecID, Size: 10, SHA256: vecSum, MediaType: "text/plain", Name: "a.txt"}
	empty, huge, noName, badType := good, good, good, good
	empty.Size, huge.Size, noName.Name, badType.MediaType = 0, MaxSize+1, "", "text/plain; charset=utf-8"
	for _, c := range []struct {
		m    Message
		want error
	}{
		{empty, ErrEmptyFile},
		{huge, ErrTooLarge},
		{noName, ErrInvalid},
		{badType, ErrInvalid},
		{Offer{ID: vecID, Size: 1, MediaType: "a/b", Name: "\xff"}, ErrInvalid},
		{Accept{Offset: MaxSize + 1}, ErrInvalid},
		{Progress{Durable: MaxSize + 1}, ErrInvalid},
		{Chunk{}, ErrInvalid},
		{Chunk{Data: make([]byte, ChunkSize+1)}, ErrInvalid},
		{Chunk{Offset: 1, Data: []byte{1}}, ErrInvalid},
		{Decline{Code: 0}, ErrInvalid},
		{Decline{Code: CodeSourceChanged}, ErrInvalid},
		{Decline{Code: CodeDeclined, Reason: strings.Repeat("r", 256)}, ErrInvalid},
		{Cancel{Code: CodeHashMismatch}, ErrInvalid},
		{Cancel{Code: CodeCancelled, Reason: "\xc3"}, ErrInvalid},
	} {
		_, err := c.m.Marshal()
		require.ErrorIs(t, err, c.want, "%#v", c.m)
		require.ErrorIs(t, err, ErrInvalid)
	}
	_, err := NewSender(empty)
	require.ErrorIs(t, err, ErrEmptyFile)
	require.EqualError(t, err, "filexfer: invalid offer: size 0")
	_, err = NewSender(huge)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestParse_ChunkDataIsACopy(t *testing.T) {
	b := mustMarshal(t, Chunk{ID: vecID, Data: []byte("abc")})
	c, err := ParseChunk(b)
	require.NoError(t, err)
	b[len(b)-1] = 'X'
	require.Equal(t, []byte("abc"), c.Data)
}

func TestID_IsRandomAndPrintsAsHex(t *testing.T) {
	a, b := NewID(), NewID()
	require.NotEqual(t, a, b)
	require.Equal(t, "00112233445566778899aabbccddeeff", vecID.String())
	require.Equal(t, sha256.Size, len(vecSum))
}
