// Package ui is SecureChat's desktop front end, built with Fyne: the unlock
// dialog, the Host or Connect dialog, the chat window, safety-number
// verification, the history browser and the files sent in a thread. It
// drives a [session.Controller], the file transfer engine ([Files]) and the
// profile vault; it does no cryptography or network I/O itself.
package ui
