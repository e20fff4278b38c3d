module github.com/securechat/securechat

go 1.26.0

require (
	fyne.io/fyne/v2 v2.8.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
