package ui

import (
	"bytes"
	"errors"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDesktopStartFixes_ForceX11OnlyWhenWaylandCannotBeReached(t *testing.T) {
	const runDir = "/run/user/1000"
	isDir := func(p string) bool { return p == runDir }
	for _, tc := range []struct {
		name     string
		env      map[string]string
		forceX11 bool
		noBus    bool
	}{
		{"X11 without XDG_RUNTIME_DIR or a session bus", map[string]string{"DISPLAY": ":0"}, true, true},
		{"X11 with a missing XDG_RUNTIME_DIR", map[string]string{"DISPLAY": ":0", "XDG_RUNTIME_DIR": "/run/user/9", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/9/bus"}, true, false},
		{"a normal X11 session", map[string]string{"DISPLAY": ":0", "XDG_RUNTIME_DIR": runDir, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}, false, false},
		{"a Wayland session", map[string]string{"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": runDir}, false, true},
		{"Wayland only", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, false, true},
		{"no display at all", map[string]string{}, false, true},
		{"the user chose the platform", map[string]string{"DISPLAY": ":0", "FYNE_PLATFORM": "wayland"}, false, true},
		{"an autolaunch bus address", map[string]string{"DISPLAY": ":0", "XDG_RUNTIME_DIR": runDir, "DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := desktopStartFixes(func(k string) string { return tc.env[k] }, isDir)
			assert.Equal(t, startFixes{forceX11: tc.forceX11, noSessionBus: tc.noBus}, f)
		})
	}
}

func TestBusLogFilter_DropsOnlyTheThemeWatchRecordWithoutABus(t *testing.T) {
	var out bytes.Buffer
	l := log.New(&busLogFilter{w: &out}, "", 0)
	logError := func(reason string, err error) { // as fyne.LogError writes
		l.Println("Fyne error: ", reason)
		l.Println("  Cause:", err)
		l.Printf("  At: %s:%d", "fyne.io/fyne/v2@v2.8.1/app/app_xdg.go", 152)
	}

	logError("failed to watch theme settings", errors.New(`exec: "dbus-launch": executable file not found in $PATH`))
	logError("failed to watch theme settings", errors.New("dbus: couldn't determine address of session bus"))
	assert.Empty(t, out.String(), "no bus: the theme watcher's record is dropped")

	logError("failed to watch theme settings", errors.New("permission denied"))
	logError("Unable to connect to session D-Bus", errors.New(`exec: "dbus-launch": executable file not found in $PATH`))
	l.Println("something else")
	assert.Equal(t, "Fyne error:  failed to watch theme settings\n"+
		"  Cause: permission denied\n"+
		"  At: fyne.io/fyne/v2@v2.8.1/app/app_xdg.go:152\n"+
		"Fyne error:  Unable to connect to session D-Bus\n"+
		"  Cause: exec: \"dbus-launch\": executable file not found in $PATH\n"+
		"  At: fyne.io/fyne/v2@v2.8.1/app/app_xdg.go:152\n"+
		"something else\n", out.String(), "other records pass whole")
}
