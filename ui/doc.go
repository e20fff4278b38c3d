// Package ui is SecureChat's desktop front end, built with Fyne: the unlock
// dialog, the Host or Connect dialog, the chat window, safety-number
// verification and the history browser. It drives a [session.Controller] and
// the profile vault; it does no cryptography or network I/O itself.
package ui
