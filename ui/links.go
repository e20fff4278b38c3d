package ui

import (
	"net/url"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// urlPattern finds web addresses in message text.
var urlPattern = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)

// findLinks returns the [start, end) byte ranges of the http(s) addresses in
// text, without trailing punctuation that ends a sentence, and their URLs.
func findLinks(text string) (spans [][2]int, urls []*url.URL) {
	for _, m := range urlPattern.FindAllStringIndex(text, -1) {
		s, e := m[0], m[1]
		for e > s {
			c := text[e-1]
			if c == ')' && strings.Count(text[s:e], "(") >= strings.Count(text[s:e], ")") {
				break // closes a bracket of the address (Wikipedia)
			}
			if !strings.ContainsRune(".,;:!?'\")]}", rune(c)) {
				break
			}
			e--
		}
		u, err := url.Parse(text[s:e]) // lowercases the scheme
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		spans = append(spans, [2]int{s, e})
		urls = append(urls, u)
	}
	return spans, urls
}

// bodySegments turns a message's text into rich-text segments: its web
// addresses become links that call onLink, and every occurrence of term
// outside them is emphasised. The last segment ends the paragraph.
func bodySegments(text, term string, onLink func(*url.URL)) []widget.RichTextSegment {
	spans, urls := findLinks(text)
	if len(spans) == 0 {
		return highlightSegments(text, term)
	}
	var segs []widget.RichTextSegment
	plain := func(s string) {
		if s == "" {
			return
		}
		for _, seg := range highlightSegments(s, term) {
			if ts, ok := seg.(*widget.TextSegment); ok {
				ts.Style.Inline = true
			}
			segs = append(segs, seg)
		}
	}
	at := 0
	for i, sp := range spans {
		plain(text[at:sp[0]])
		u := urls[i]
		segs = append(segs, &widget.HyperlinkSegment{Text: text[sp[0]:sp[1]], URL: u, OnTapped: func() {
			if onLink != nil {
				onLink(u)
			}
		}})
		at = sp[1]
	}
	plain(text[at:])
	// end the paragraph, so that what follows starts on a line of its own
	if ts, ok := segs[len(segs)-1].(*widget.TextSegment); ok {
		ts.Style.Inline = false
	} else {
		segs = append(segs, &widget.TextSegment{})
	}
	return segs
}

// confirmOpen asks before opening u in the browser, and opens it with open
// if the user agrees. A link in a message is never opened on the tap alone:
// the address it shows is the whole of what the user can check.
func confirmOpen(w fyne.Window, u *url.URL, open func(*url.URL) error, done func()) {
	msg := widget.NewLabel("Open " + u.String() + " in your browser?")
	msg.Wrapping = fyne.TextWrapBreak
	d := dialog.NewCustomConfirm("Open link?", "Open", "Cancel", fixedWidth(420, container.NewVBox(msg)), func(ok bool) {
		if ok {
			if err := open(u); err != nil {
				dialog.ShowError(err, w)
			}
		}
		if done != nil {
			done()
		}
	}, w)
	d.Show()
}

// copyText puts text on the clipboard.
func copyText(text string) {
	fyne.CurrentApp().Clipboard().SetContent(text)
}
