package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChoose_RejectsBadPort(t *testing.T) {
	for _, port := range []string{"", "0", "65536", "99999", "abc", "-1", "9 9"} {
		t.Run(port, func(t *testing.T) {
			f := newFixture(t, true)
			s := f.newChat()
			s.hostPort.SetText(port)
			test.Tap(s.hostButton)
			assert.True(t, s.hostErr.Visible(), "host with port %q", port)

			s.addr.SetText("192.168.1.20")
			s.connectPort.SetText(port)
			test.Tap(s.connButton)
			assert.True(t, s.connectErr.Visible(), "connect with port %q", port)
			assert.Empty(t, f.ctrl.listens)
			assert.Empty(t, f.ctrl.dialed)
		})
	}
}

func TestChoose_AcceptsBoundaryPorts(t *testing.T) {
	for _, port := range []string{"1", "65535", " 9999 "} {
		p, err := parsePort(port)
		require.NoError(t, err, port)
		assert.NotEmpty(t, p)
	}
}

func TestChoose_RejectsEmptyAddress(t *testing.T) {
	f := newFixture(t, true)
	f.fresh()
	f.unlock()
	s := f.ui.choose
	require.NotNil(t, s, "the first start opens New chat")
	test.Tap(s.connButton)
	assert.Equal(t, "Enter your partner's address.", s.connectErr.Text)
	s.addr.SetText("bad host name")
	test.Tap(s.connButton)
	assert.Contains(t, s.connectErr.Text, "is not an address")
	assert.Empty(t, f.ctrl.dialed)
}

func TestChoose_RecentAddressFillsBothFields(t *testing.T) {
	f := newFixture(t, true)
	f.vault.recent = []string{"10.0.0.7:7000", "10.0.0.9:7002"}
	s := f.newChat()
	assert.Equal(t, "10.0.0.7", s.addr.Text, "the last address is filled in")
	assert.Equal(t, "7000", s.connectPort.Text)
	s.addr.SetText("10.0.0.9:7002") // what picking a recent entry does
	assert.Equal(t, "10.0.0.9", s.addr.Text)
	assert.Equal(t, "7002", s.connectPort.Text)
	test.Tap(s.connButton)
	assert.Equal(t, "10.0.0.9:7002", f.dialedAddrs())
}

func TestChoose_TypedHostPortIsSplitOnConnect(t *testing.T) {
	f := newFixture(t, true)
	f.fresh()
	f.unlock()
	s := f.ui.choose
	require.Equal(t, s.addr, f.win.Canvas().Focused(), "the address has the keyboard")
	test.Type(f.win.Canvas().Focused(), "10.0.0.8:7001")
	assert.Equal(t, "10.0.0.8:7001", s.addr.Text, "typing is not interrupted")
	s.addr.OnSubmitted(s.addr.Text)
	assert.Equal(t, "10.0.0.8:7001", f.dialedAddrs())
}

func TestChoose_HostShowsAddresses(t *testing.T) {
	f := newFixture(t, true)
	s := f.newChat()
	assert.Contains(t, s.hostAddrs.Text, "192.168.1.20:9999")
	s.hostPort.SetText("7777")
	assert.Contains(t, s.hostAddrs.Text, "192.168.1.20:7777")
}
