package ui

import (
	"errors"
	"net"
	"os"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
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
		Host: func(v Vault, listenAddr string) (session.Controller, error) {
			cfg, err := sessionConfig(v)
			if err != nil {
				return nil, err
			}
			s, err := session.Host(cfg, listenAddr)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Connect: func(v Vault, t session.Target) (session.Controller, error) {
			cfg, err := sessionConfig(v)
			if err != nil {
				return nil, err
			}
			s, err := session.ConnectTarget(cfg, t)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		LocalAddrs: localAddrs,
	}
}

func sessionConfig(v Vault) (session.Config, error) {
	hv, ok := v.(*history.Vault)
	if !ok {
		return session.Config{}, errors.New("ui: the profile is not a history.Vault")
	}
	return session.Config{Identity: hv.Identity(), Name: hv.Name(), Store: hv, OnlyContacts: hv.Settings().OnlyContacts}, nil
}

// localAddrs lists this machine's non-loopback addresses, IPv4 first.
func localAddrs() []string {
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, a := range ifaces {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
			continue
		}
		if ipn.IP.To4() != nil {
			v4 = append(v4, ipn.IP.String())
		} else {
			v6 = append(v6, ipn.IP.String())
		}
	}
	out := append(v4, v6...)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
