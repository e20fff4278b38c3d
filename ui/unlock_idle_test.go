package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The busy bar of the unlock screen animates while the vault is created or
// opened and stops once it is open: a bar left running in its hidden
// container redrew the idle window sixty times a second from then on
// (about 70% of a core under Xvfb) and kept the heap churning.
func TestUnlock_BusyBarStopsOnceOpen(t *testing.T) {
	for _, create := range []bool{false, true} {
		f := newFixture(t, !create)
		s := f.ui.unlock
		bar, ok := s.busy.Objects[0].(*widget.ProgressBarInfinite)
		require.True(t, ok, "the busy box starts with its bar")
		var busyRunning bool
		open, mk := f.ui.backend.Open, f.ui.backend.Create
		// While the vault opens the bar is on screen: it has a renderer.
		whileBusy := func() {
			test.WidgetRenderer(bar)
			busyRunning = bar.Running()
		}
		f.ui.backend.Open = func(dir string, pass []byte) (Vault, error) { whileBusy(); return open(dir, pass) }
		f.ui.backend.Create = func(dir, name string, pass []byte) (Vault, error) {
			whileBusy()
			return mk(dir, name, pass)
		}
		if create {
			test.Type(s.name, "Alice")
			test.Type(s.pass2, "correct horse battery")
		}
		test.Type(s.pass, "correct horse battery")
		test.Tap(s.button)
		require.NotNil(t, f.ui.main, "the messenger opens (create: %v)", create)
		assert.True(t, busyRunning, "the bar runs while busy (create: %v)", create)
		assert.False(t, bar.Running(), "the bar stops once the vault is open (create: %v)", create)
	}
}
