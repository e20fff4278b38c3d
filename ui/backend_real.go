package ui

import (
	"os"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transport"
)

// ProfileEnv names the environment variable that points the app at another
// profile folder (tests, screenshots, a second instance on one machine).
const ProfileEnv = "SECURECHAT_PROFILE"

var _ Vault = (*history.Vault)(nil)

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
	}
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
