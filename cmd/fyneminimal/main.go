// Command fyneminimal is the smallest Fyne app worth comparing SecureChat
// with: one window of SecureChat's default size holding one list. The
// memory row of `make bench` (scripts/bench-memory.sh) runs it beside the
// app, built with the same release tags and flags, and compares their
// resident memory when idle.
package main

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

// Title is the window's title, by which the bench finds the window.
const Title = "Fyne minimal"

func main() {
	a := app.NewWithID("io.github.securechat.fyneminimal")
	w := a.NewWindow(Title)
	list := widget.NewList(
		func() int { return 100 },
		func() fyne.CanvasObject { return widget.NewLabel("template") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(fmt.Sprintf("Item %d", i+1)) },
	)
	w.SetContent(list)
	w.Resize(fyne.NewSize(820, 640)) // SecureChat's default size
	w.ShowAndRun()
}
