package ui

import (
	"fmt"
	"mime"
	"os"
	"strings"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transfer"
	"github.com/securechat/securechat/transport"
)

// ProfileEnv names the environment variable that points the app at another
// profile folder (tests, screenshots, a second instance on one machine).
const ProfileEnv = "SECURECHAT_PROFILE"

var (
	_ Vault   = (*history.Vault)(nil)
	_ TorMode = (*tormode.Mode)(nil)
	_ Files   = (*transfer.Engine)(nil)
)

// RealBackend wires the app to the profile vault and the session package.
func RealBackend() Backend {
	return Backend{
		ProfileDir: func() (string, error) {
			if d := os.Getenv(ProfileEnv); d != "" {
				return d, nil
			}
			return history.DefaultDir()
		},
		Exists: history.Exists,
		Create: func(dir, name string, passphrase []byte) (Vault, error) {
			v, err := history.Create(dir, name, passphrase)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
		Open: func(dir string, passphrase []byte) (Vault, error) {
			v, err := history.Open(dir, passphrase)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
		New: func(v Vault, files Files) (session.Controller, error) {
			s, err := session.New(sessionConfig(v, files))
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		LocalAddrs: localAddrs,
		Tor:        startTor,
		Files:      openFiles,
	}
}

// openFiles opens the profile's file store and its transfer engine; the
// engine asks v's settings and contacts whether to take an offer without
// asking the user.
func openFiles(v Vault) (Files, error) {
	e, err := transfer.OpenProfile(v, func(t transfer.Transfer) bool {
		c, ok := v.Contact(t.Contact)
		return autoAccept(v.Settings(), ok && c.Verified, t)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// autoAcceptLimit is the size under which a picture from a verified
// contact is accepted without asking, when the setting is on (10 MB).
const autoAcceptLimit = 10_000_000

// autoAccept decides an incoming offer without the user: only with the
// setting on, from a verified contact, a PNG, JPEG or GIF as offered,
// under autoAcceptLimit. The bytes are checked to be a picture only once
// they are here; until then a wrong type costs at most the limit.
func autoAccept(st profile.Settings, verified bool, t transfer.Transfer) bool {
	if !st.AutoAcceptPictures || !verified || t.Outgoing || t.Size <= 0 || t.Size >= autoAcceptLimit {
		return false
	}
	mt, _, err := mime.ParseMediaType(t.MediaType)
	if err != nil {
		return false
	}
	switch strings.ToLower(mt) {
	case "image/png", "image/jpeg", "image/gif":
		return true
	}
	return false
}

// startTor starts the profile's Tor mode: its own tor process, with tor's
// data in the profile folder and the profile's onion service key.
func startTor(profileDir string, v Vault, st profile.Settings) (TorMode, error) {
	seed, err := v.OnionKey()
	if err != nil {
		return nil, fmt.Errorf("failed to read the onion service's key: %w", err)
	}
	var key tor.OnionKey
	if len(seed) != len(key) {
		clear(seed)
		return nil, fmt.Errorf("the onion service's key is %d bytes, not %d", len(seed), len(key))
	}
	copy(key[:], seed)
	clear(seed)
	defer clear(key[:])
	extra, err := tormode.ExtraFromEnv()
	if err != nil {
		return nil, err
	}
	return tormode.Start(tormode.Config{TorPath: st.TorPath, DataDir: tormode.DataDir(profileDir), OnionKey: key, Extra: extra}), nil
}

// sessionConfig is the controller's configuration for v; files carries
// the file transfers when it is the real engine.
func sessionConfig(v Vault, files Files) session.Config {
	cfg := session.Config{Identity: v.Identity(), Name: v.Name(), Store: v, OnlyContacts: v.Settings().OnlyContacts}
	if e, ok := files.(*transfer.Engine); ok && e != nil {
		cfg.Files = e
	}
	return cfg
}

// localAddrs lists up to three of this machine's network addresses.
func localAddrs() []string {
	out := transport.NetworkHosts()
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
