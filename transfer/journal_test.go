package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filestore"
	"github.com/securechat/securechat/filexfer"
)

// recordFiles lists the journal's record files of the store in dir.
func recordFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, journalDir))
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		out = append(out, filepath.Join(dir, journalDir, de.Name()))
	}
	return out
}

func TestJournal_SurvivesRestartsAndADamagedRecordIsReported(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a := openEngine(t, dirA)
	b := openEngine(t, dirB)
	c := connect(t, a, b)
	var ids []string
	var datas [][]byte
	for _, n := range []int{10, 200000} {
		outID, inID, data := offerAndAccept(t, a, b, n)
		waitState(t, b, alice, inID, StateDone)
		waitState(t, a, bob, outID, StateDone)
		ids, datas = append(ids, inID), append(datas, data)
	}
	path, _ := randomFile(t, t.TempDir(), "no.txt", 5)
	sent, err := a.SendFile(bob, path)
	require.NoError(t, err)
	declined := waitState(t, b, alice, theirs(sent.ID), StateWaiting)
	require.NoError(t, b.Decline(alice, declined.ID))
	waitState(t, a, bob, sent.ID, StateFailed)
	before := b.List(alice)
	beforeA := a.List(bob)
	c.cut()
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())

	b2 := openEngine(t, dirB)
	assert.Empty(t, b2.Problems())
	after := b2.List(alice)
	require.Len(t, after, 3)
	for i := range after {
		assert.Equal(t, before[i].ID, after[i].ID)
		assert.Equal(t, before[i].Name, after[i].Name)
		assert.Equal(t, before[i].State, after[i].State)
		assert.True(t, before[i].Time.Equal(after[i].Time))
		assert.False(t, after[i].Connected)
	}
	for i, id := range ids {
		assert.Equal(t, datas[i], contents(t, b2, alice, id))
	}
	got, _ := b2.Get(alice, declined.ID)
	assert.ErrorIs(t, got.Err, filexfer.ErrDeclined)
	a2 := openEngine(t, dirA)
	afterA := a2.List(bob)
	require.Len(t, afterA, 3)
	for i := range afterA {
		assert.Equal(t, beforeA[i].State, afterA[i].State)
	}
	got, _ = a2.Get(bob, sent.ID)
	var pe *filexfer.PartnerError
	assert.ErrorAs(t, got.Err, &pe)
	assert.ErrorIs(t, got.Err, filexfer.ErrDeclined)
	require.NoError(t, b2.Close())

	// One record damaged, and a stranger in the folder.
	recs := recordFiles(t, dirB)
	require.Len(t, recs, 3)
	raw, err := os.ReadFile(recs[0])
	require.NoError(t, err)
	raw[len(raw)-1] ^= 1
	require.NoError(t, os.WriteFile(recs[0], raw, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dirB, journalDir, "0123.rec"), []byte("not a record"), 0o600))

	b3 := openEngine(t, dirB)
	problems := b3.Problems()
	require.Len(t, problems, 2)
	for _, p := range problems {
		assert.ErrorIs(t, p, errJournal)
		assert.Contains(t, p.Error(), "transfer record")
	}
	assert.Len(t, b3.List(alice), 2, "the other records load")
}

// oneDoneOneHalfWay connects a and b, sends a file of 100000 bytes from
// alice to bob to the end (outID, inID, data), then one of 8 MiB that
// stops half-way with its partial file at b.
func oneDoneOneHalfWay(t *testing.T, a, b *Engine) (c *conn, outID, inID string, data []byte) {
	t.Helper()
	c = connect(t, a, b)
	outID, inID, data = offerAndAccept(t, a, b, 100000)
	waitState(t, b, alice, inID, StateDone)
	waitState(t, a, bob, outID, StateDone)
	dropProgress(c)
	_, partID, _ := offerAndAccept(t, a, b, 8<<20)
	halfWay(t, c, partID)
	return c, outID, inID, data
}

func TestEngine_DeleteContactLeavesNoFileOfThatContact(t *testing.T) {
	dirB := t.TempDir()
	a := openEngine(t, t.TempDir())
	b := openEngine(t, dirB)
	c, _, _, _ := oneDoneOneHalfWay(t, a, b)
	require.NotEmpty(t, storeFiles(t, dirB))
	require.NotEmpty(t, recordFiles(t, dirB))

	require.NoError(t, b.DeleteContact(alice))
	assert.Empty(t, b.List(alice))
	assert.Empty(t, storeFiles(t, dirB))
	assert.Empty(t, recordFiles(t, dirB))
	c.cut()
	require.NoError(t, b.Close())
	b2 := openEngine(t, dirB)
	assert.Empty(t, b2.List(""))
}

func TestJournal_TheLongestRecordFitsAndOneByteMoreIsRefused(t *testing.T) {
	aead, err := journalKey(testKey)
	require.NoError(t, err)
	r := record{
		State: StateFailed, Code: filexfer.CodeStorage, Farewell: true,
		Contact: strings.Repeat("c", maxContactLen), Detail: strings.Repeat("d", maxDetailLen),
		Offer: filexfer.Offer{Size: filexfer.MaxSize, MediaType: strings.Repeat("t", 127) + "/" + strings.Repeat("s", 127),
			Name: strings.Repeat("n", filexfer.MaxNameBytes)},
	}
	b, err := sealRecord(aead, make([]byte, nonceLen), &r)
	require.NoError(t, err)
	require.Len(t, b, maxRecordLen)
	back, err := openRecord(aead, b)
	require.NoError(t, err)
	assert.Equal(t, describe(&r), describe(back))
	_, err = openRecord(aead, append(b, 0))
	assert.ErrorIs(t, err, errJournal)

	r.Contact += "c"
	_, err = sealRecord(aead, make([]byte, nonceLen), &r)
	assert.Error(t, err, "a contact over 1024 bytes is not kept")
}

func TestEngine_FilesACrashLeftWithoutATransferAreRemovedAtOpen(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a, b := openEngine(t, dirA), openEngine(t, dirB)
	c, outID, inID, data := oneDoneOneHalfWay(t, a, b)
	c.cut()
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	keptA, keptB := storeFiles(t, dirA), storeFiles(t, dirB)
	require.Len(t, keptB, 2)

	// What a crash leaves between making a file and journaling it: a
	// sent file copied into the store, a partial file for an Accept.
	for _, dir := range []string{dirA, dirB} {
		s, err := filestore.Open(dir, testKey)
		require.NoError(t, err)
		_, _, err = s.Import(bytes.NewReader([]byte("copied, then the power went")), filestore.Meta{Name: "x.txt", MediaType: "text/plain", Size: 27})
		require.NoError(t, err)
		w, err := s.Create(filestore.Meta{Name: "y.bin", MediaType: "application/octet-stream", Size: 1 << 20})
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	require.Len(t, storeFiles(t, dirB), 4)

	a2, b2 := openEngine(t, dirA), openEngine(t, dirB)
	assert.Empty(t, b2.Problems())
	assert.ElementsMatch(t, keptA, storeFiles(t, dirA), "only the leftovers went")
	assert.ElementsMatch(t, keptB, storeFiles(t, dirB), "only the leftovers went")
	assert.Equal(t, data, contents(t, b2, alice, inID))
	assert.Equal(t, data, contents(t, a2, bob, outID))

	// With a record that cannot be read, nothing is removed: it may be
	// the one that holds a file.
	require.NoError(t, b2.Close())
	recs := recordFiles(t, dirB)
	raw, err := os.ReadFile(recs[0])
	require.NoError(t, err)
	raw[len(raw)-1] ^= 1
	require.NoError(t, os.WriteFile(recs[0], raw, 0o600))
	b3 := openEngine(t, dirB)
	require.Len(t, b3.Problems(), 1)
	assert.ElementsMatch(t, keptB, storeFiles(t, dirB))
}
