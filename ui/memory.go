package ui

import (
	"runtime/debug"
	"time"
)

// settleDelay is how long after unlocking the app returns the memory its
// start-up left as garbage.
const settleDelay = 3 * time.Second

// settleMemory gives the system back the memory that building the
// messenger left behind, once the window has been drawn. Most of it is
// garbage from parsing font faces (Fyne loads a set of faces for each text
// style the messenger uses: bold, monospace); without a collection the Go
// runtime keeps up to twice the live heap, and an idle app does not
// allocate enough to start one. The unlock itself already returned
// Argon2id's buffer (history.Open). The measurement is `make bench`'s idle
// memory row.
func settleMemory() {
	time.AfterFunc(settleDelay, debug.FreeOSMemory)
}
