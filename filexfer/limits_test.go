package filexfer_test

// An external test package: package session imports package transfer,
// which imports filexfer, so a test inside filexfer cannot import session.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// TestChunkSize_FitsTheFrameAndStaysUnderTheLargestText pins the reason
// for ChunkSize: a sealed chunk record is under half a frame and under the
// largest chat Text record.
func TestChunkSize_FitsTheFrameAndStaysUnderTheLargestText(t *testing.T) {
	chunkRecord := filexfer.MaxMessageSize + scrypto.RecordOverhead
	textRecord := 1 + session.IDSize + 8 + session.MaxMessageBytes + scrypto.RecordOverhead
	require.Equal(t, 49202, chunkRecord)
	require.LessOrEqual(t, chunkRecord, transport.MaxFrameSize/2)
	require.Less(t, chunkRecord, textRecord)
	chunk, err := filexfer.Chunk{Data: make([]byte, filexfer.ChunkSize)}.Marshal()
	require.NoError(t, err)
	require.Len(t, chunk, filexfer.MaxMessageSize)

	largestOffer := filexfer.Offer{Size: 1, MediaType: strings.Repeat("t", 127) + "/" + strings.Repeat("s", 127), Name: strings.Repeat("n", filexfer.MaxNameBytes)}
	offer, err := largestOffer.Marshal()
	require.NoError(t, err)
	require.Len(t, offer, 1337)
	require.Less(t, 1337, filexfer.MaxMessageSize)
}
