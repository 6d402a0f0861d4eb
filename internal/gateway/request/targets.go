package request

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Where the gateway may connect: the upstreams, JWKS URIs and introspection endpoints that
// the admin API registers. A link-local address (adminapi.IsLinkLocal: 169.254.0.0/16,
// fe80::/10, a cloud's metadata service) is refused unless Options.AllowLinkLocalTargets:
// by the admin API when the URL names one, and by the dialer after name resolution, so a
// host name that resolves to one is never dialled either.

// ErrLinkLocalTarget is the dialer's refusal of a link-local address.
var ErrLinkLocalTarget = errors.New("refusing to connect to a link-local address (idpgate serve -allow-link-local-targets allows it)")

// NewDialer is the dialer of every connection the gateway opens to a registered target.
func NewDialer(allowLinkLocal bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowLinkLocal {
		d.Control = refuseLinkLocal
	}
	return d
}

// refuseLinkLocal is a net.Dialer Control function: it runs for each resolved address
// before the connection is made.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrLinkLocalTarget // not an IP address: never expected after resolution
	}
	if adminapi.IsLinkLocal(ap.Addr()) {
		return ErrLinkLocalTarget
	}
	return nil
}

// CheckPlacement refuses, for the admin API, what only this gateway's options forbid:
// a target at a link-local address literal, and a listen path at or below its decision path.
func (c *Checker) CheckPlacement(api *adminapi.API) error {
	if !c.allowLinkLocal {
		for _, t := range api.TargetURLs() {
			if h := adminapi.LinkLocalHost(t[1]); h != "" {
				return adminapi.FieldError(t[0], "%s is a link-local address (such as a cloud's metadata service); "+
					"the gateway connects to none unless started with -allow-link-local-targets", h)
			}
		}
	}
	if p := adminapi.NormalizeListenPath(api.ListenPath); p == c.decisionPath || strings.HasPrefix(p, c.decisionPath+"/") {
		return adminapi.FieldError("listen_path", "%q is at or below the decision endpoint %s, which the gateway answers itself", api.ListenPath, c.decisionPath)
	}
	return nil
}
