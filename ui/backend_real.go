package ui

import (
	"fmt"
	"os"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transport"
)

// ProfileEnv names the environment variable that points the app at another
// profile folder (tests, screenshots, a second instance on one machine).
const ProfileEnv = "SECURECHAT_PROFILE"

var (
	_ Vault   = (*history.Vault)(nil)
	_ TorMode = (*tormode.Mode)(nil)
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
		New: func(v Vault) (session.Controller, error) {
			s, err := session.New(sessionConfig(v))
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		LocalAddrs: localAddrs,
		Tor:        startTor,
	}
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

func sessionConfig(v Vault) session.Config {
	return session.Config{Identity: v.Identity(), Name: v.Name(), Store: v, OnlyContacts: v.Settings().OnlyContacts}
}

// localAddrs lists up to three of this machine's network addresses.
func localAddrs() []string {
	out := transport.NetworkHosts()
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
