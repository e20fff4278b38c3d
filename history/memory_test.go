package history

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/require"
)

// heapRetained is the memory the Go heap holds from the system: live and
// not yet swept objects, and free pages not returned yet.
func heapRetained() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		n += x.Value.Uint64()
	}
	return n
}

// Creating, unlocking and changing the passphrase give Argon2id's buffer
// (64 MiB with DefaultParams) back to the system before they return:
// otherwise the idle desktop app holds it for seconds (the background
// scavenger's pace) and the heap grows into it. The buffer is DefaultParams'
// size; one pass instead of ten keeps the test cheap and uses as much memory.
func TestArgon2MemoryIsReturned(t *testing.T) {
	p := DefaultParams
	p.Time = 1
	const slack = 16 << 20 // the vault itself and whatever else runs meanwhile: a few MiB
	dir := t.TempDir()
	step := func(what string, f func()) {
		t.Helper()
		debug.FreeOSMemory()
		before := heapRetained()
		f()
		after := heapRetained()
		grew := int64(after) - int64(before)
		t.Logf("%s: heap held from the system %d MiB before, %d MiB after", what, before>>20, after>>20)
		require.Less(t, grew, int64(slack), "%s kept %d MiB more heap than before (Argon2id's buffer is %d MiB)", what, grew>>20, p.MemoryKiB>>10)
	}
	var v *Vault
	step("create", func() {
		var err error
		v, err = create(dir, "Alice", testPass, p, testIdentity(t), hooks{})
		require.NoError(t, err)
	})
	require.NoError(t, v.Close())
	step("open", func() {
		var err error
		v, err = Open(dir, testPass)
		require.NoError(t, err)
	})
	step("change passphrase", func() {
		require.NoError(t, v.ChangePassphrase(testPass, []byte("another good passphrase")))
	})
	require.NoError(t, v.Close())
}
