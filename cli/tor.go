package cli

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tor"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transport"
)

// torOptions are the Tor mode flags of host, connect and send.
type torOptions struct {
	on, only bool
	path     string
}

func addTorFlags(fs *flag.FlagSet, o *torOptions) {
	fs.BoolVar(&o.on, "tor", false, "Tor mode: run our own tor, reach .onion addresses through it and, as host, be reachable at the profile's onion address (also on when the profile's settings say so)")
	fs.BoolVar(&o.only, "tor-only", false, "Tor mode, and only through Tor: dial only .onion addresses and, as host, listen on this computer only, so that no contact learns your IP address")
	fs.StringVar(&o.path, "tor-path", "", "the tor `program` to run (default: the settings', else tor on PATH)")
}

// resolve merges the flags with the profile's settings.
func (o torOptions) resolve(v *history.Vault) torOptions {
	st := v.Settings()
	out := o
	out.on = o.on || o.only || st.Tor
	out.only = o.only || (st.Tor && st.TorOnly)
	if out.path == "" {
		out.path = st.TorPath
	}
	return out
}

// torInstallHint says what to install when tor is missing.
const torInstallHint = "Tor mode needs the tor program: on Debian or Ubuntu `sudo apt install tor`, on Fedora `sudo dnf install tor`, on macOS `brew install tor`; on Windows, the Tor Expert Bundle's tor.exe (give its path with --tor-path)"

// startTor starts Tor mode for the profile and reports its progress on out
// until it is closed.
func startTor(v *history.Vault, o torOptions, out *printer) (*tormode.Mode, error) {
	seed, err := v.OnionKey()
	if err != nil {
		return nil, err
	}
	var key tor.OnionKey
	copy(key[:], seed)
	clear(seed)
	extra, err := tormode.ExtraFromEnv()
	if err != nil {
		return nil, err
	}
	m := tormode.Start(tormode.Config{TorPath: o.path, DataDir: tormode.DataDir(v.Dir()), OnionKey: key, Extra: extra})
	go reportTor(m, out)
	return m, nil
}

// reportTor prints Tor mode's status changes: every 10% of the bootstrap,
// connected, reachable, and why it failed.
func reportTor(m *tormode.Mode, out *printer) {
	lastPct, lastState, reachable := -10, tormode.Off, false
	for st := range m.Watch() {
		j := jsonEvent{Event: "tor", Reason: st.State.String()}
		switch {
		case st.State == tormode.Failed && lastState != tormode.Failed:
			text := "Tor mode failed: " + errText(st.Err)
			if errors.Is(st.Err, tormode.ErrNoTor) {
				text += ". " + torInstallHint
			}
			j.Error = errText(st.Err)
			out.event(j, text)
		case st.State == tormode.Bootstrapping && st.Progress.Percent >= lastPct+10:
			lastPct = st.Progress.Percent
			summary := st.Progress.Summary
			if summary == "" {
				summary = "starting"
			}
			j.Text = fmt.Sprintf("%d%% %s", st.Progress.Percent, summary)
			out.event(j, fmt.Sprintf("Tor: connecting to the Tor network, %d%% (%s)", st.Progress.Percent, summary))
		case st.State == tormode.Ready && lastState != tormode.Ready:
			out.event(j, "Tor: connected to the Tor network.")
		}
		if st.Reachable && !reachable {
			addr := fmt.Sprintf("%s:%d", st.Onion, st.Port)
			out.event(jsonEvent{Event: "tor", Reason: "reachable", Addr: addr}, "Reachable through Tor at "+addr)
		}
		lastState, reachable = st.State, st.Reachable
	}
}

// waitTor waits until tor is connected (dialing works), it fails, or the
// wait ends.
func waitTor(m *tormode.Mode, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	ch := m.Watch()
	for {
		select {
		case st, ok := <-ch:
			if !ok {
				return errors.New("tor mode stopped")
			}
			switch st.State {
			case tormode.Ready:
				return nil
			case tormode.Failed:
				return st.Err
			}
		case <-timer.C:
			return fmt.Errorf("tor did not connect to the Tor network within %s", wait)
		}
	}
}

// withTor sets the session configuration's Tor mode.
func withTor(cfg *session.Config, m *tormode.Mode, o torOptions) {
	cfg.OnionDialer = m.Dial
	cfg.TorOnly = o.only
}

// torWait bounds the wait for tor to connect before a dial through it.
const torWait = 3 * time.Minute

// needsTor reports whether dialing addrs needs tor: one is a .onion, or
// only .onion addresses are dialed.
func needsTor(addrs []string, only bool) bool {
	if only {
		return true
	}
	for _, a := range addrs {
		if transport.IsOnion(a) {
			return true
		}
	}
	return false
}

// publishListener makes the onion service forward the listener's port.
func publishListener(m *tormode.Mode, listen string) error {
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("tor: cannot tell the port of %q: %w", listen, err)
	}
	port, err := transport.ParsePort(p)
	if err != nil {
		return fmt.Errorf("tor: the onion service needs a fixed port: %w", err)
	}
	m.Publish(port)
	return nil
}
