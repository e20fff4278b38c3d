package ui

import (
	"bytes"
	"io"
	"log"
	"os"
	"runtime"
	"sync"
)

// startFixes is what a start on a Linux or BSD desktop changes so that a
// normal start prints no errors; see [desktopStartFixes].
type startFixes struct {
	// forceX11 sets FYNE_PLATFORM=x11: Wayland cannot be reached, and
	// GLFW's probe of it makes libwayland print "error: XDG_RUNTIME_DIR is
	// invalid or not set in the environment."
	forceX11 bool
	// noSessionBus filters the one error Fyne logs when it cannot watch the
	// desktop's theme settings for want of a D-Bus session bus.
	noSessionBus bool
}

// desktopStartFixes decides the [startFixes] from the environment; isDir
// reports whether a path is a folder.
//
// GLFW, under Fyne's automatic choice (no FYNE_PLATFORM), tries Wayland
// before X11. Wayland cannot be reached when WAYLAND_DISPLAY is unset and
// XDG_RUNTIME_DIR, where its socket would be, is unset or not a folder:
// then X11 is what GLFW ends up with anyway, and Fyne's own FYNE_PLATFORM
// switch skips the failing probe. A FYNE_PLATFORM the user set is kept.
//
// Without DBUS_SESSION_BUS_ADDRESS, Fyne's theme watcher (app_xdg.go)
// asks D-Bus to autolaunch a bus with dbus-launch, which may not be
// installed, and logs "Fyne error: failed to watch theme settings". The
// app then keeps its default theme: nothing the user has to act on.
func desktopStartFixes(getenv func(string) string, isDir func(string) bool) startFixes {
	var f startFixes
	if getenv("FYNE_PLATFORM") == "" && getenv("WAYLAND_DISPLAY") == "" && getenv("DISPLAY") != "" {
		dir := getenv("XDG_RUNTIME_DIR")
		f.forceX11 = dir == "" || !isDir(dir)
	}
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a == "" || a == "autolaunch:" {
		f.noSessionBus = true
	}
	return f
}

// quietStart applies [desktopStartFixes] before Fyne starts.
func quietStart() {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return
	}
	f := desktopStartFixes(os.Getenv, func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	})
	if f.forceX11 {
		os.Setenv("FYNE_PLATFORM", "x11")
	}
	if f.noSessionBus {
		log.SetOutput(&busLogFilter{w: log.Writer()})
	}
}

// busLogFilter passes the standard logger's lines on to w, except the three
// lines of the record fyne.LogError writes when the theme watcher finds no
// D-Bus session bus:
//
//	... Fyne error:  failed to watch theme settings
//	...   Cause: exec: "dbus-launch": executable file not found in $PATH
//	...   At: fyne.io/fyne/v2@v2.8.1/app/app_xdg.go:152
//
// A record with any other cause is passed on whole.
type busLogFilter struct {
	mu   sync.Mutex
	w    io.Writer
	held []byte // the first line of a theme-watch record, until its cause is known
	drop bool   // the next "At:" line belongs to a dropped record
}

func (f *busLogFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case bytes.Contains(p, []byte("Fyne error:  failed to watch theme settings")):
		if err := f.flush(); err != nil {
			return 0, err
		}
		f.held = bytes.Clone(p)
		return len(p), nil
	case f.held != nil && bytes.Contains(p, []byte("  Cause: ")) && bytes.Contains(bytes.ToLower(p), []byte("dbus")):
		f.held, f.drop = nil, true
		return len(p), nil
	case f.drop && bytes.Contains(p, []byte("  At: ")):
		f.drop = false
		return len(p), nil
	}
	f.drop = false
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.w.Write(p)
}

func (f *busLogFilter) flush() error {
	if f.held == nil {
		return nil
	}
	_, err := f.w.Write(f.held)
	f.held = nil
	return err
}
