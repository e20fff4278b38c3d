package transfer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
)

func TestEngine_FileArrivesByteIdenticalAndBothSidesSayDone(t *testing.T) {
	a := openEngine(t, t.TempDir())
	b := openEngine(t, t.TempDir())
	connect(t, a, b)
	path, data := randomFile(t, t.TempDir(), "report.pdf", 5*filexfer.ChunkSize+123)

	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	assert.Equal(t, StatePreparing, sent.State)
	assert.True(t, sent.Outgoing)
	assert.Equal(t, "report.pdf", sent.Name)

	in := waitIncoming(t, b, alice)
	assert.Equal(t, StateWaiting, in.State)
	assert.Equal(t, "report.pdf", in.Name)
	assert.Equal(t, int64(len(data)), in.Size)
	assert.Equal(t, sum(data), in.SHA256)
	assert.Equal(t, "application/pdf", in.MediaType)
	assert.Equal(t, "i-"+sent.ID[2:], in.ID)

	require.NoError(t, b.Accept(alice, in.ID))
	done := waitState(t, b, alice, in.ID, StateDone)
	assert.Equal(t, done.Size, done.Bytes)
	assert.NoError(t, done.Err)
	waitState(t, a, bob, sent.ID, StateDone)

	assert.Equal(t, data, contents(t, b, alice, in.ID))
	assert.Equal(t, data, contents(t, a, bob, sent.ID), "the sender keeps its copy")
}
