package crypto

// Stand-ins until the v2 handshake lands.
const (
	AlertNotAdmitted AlertCode = 8
	AlertInvite      AlertCode = 9
	AlertWrongKey    AlertCode = 10
)
