// Package names is a stand-in until the real package lands.
package names

import "strings"

// Confusable is a stand-in.
func Confusable(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Check is a stand-in.
func Check(name string) error { return nil }

// Escape is a stand-in.
func Escape(s string) string { return s }
