package server

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
)

// Refresh cookie names: __Secure- whenever the cookie can be Secure (HTTPS
// or localhost); the bare name only with auth.allow_insecure_cookies.
const (
	refreshCookieSecure   = "__Secure-labreview_refresh"
	refreshCookieInsecure = "labreview_refresh"
	refreshCookiePath     = "/api/auth"
	// The device cookie (auth/device.go) goes only to the sign-in endpoint.
	deviceCookieSecure   = "__Secure-labreview_device"
	deviceCookieInsecure = "labreview_device"
	deviceCookiePath     = "/api/auth/login"
	principalKey         = "labreview.principal"
)

var (
	errUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "Sign in first: this endpoint needs an access token (Authorization: Bearer …)."}
	errInvalidToken = &Error{Status: http.StatusUnauthorized, Code: "invalid_token",
		Message: "The access token is invalid or expired."}
	errForbidden = &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: "Your role does not allow this."}
	errCrossOrigin = &Error{Status: http.StatusForbidden, Code: "cross_origin_request",
		Message: "Cross-origin requests to this endpoint are refused."}
	errTokenNotHere = &Error{Status: http.StatusForbidden, Code: "api_token_not_allowed",
		Message: "API tokens are accepted only for reading and writing runs; sign in for this one."}
	errNoSuchToken       = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such API token."}
	errInsecureTransport = &Error{Status: http.StatusForbidden, Code: "https_required",
		Message: "Sign-in over plain HTTP works only at localhost: from another machine the session cookie would travel unprotected. " +
			"Open this server over HTTPS instead. Its administrator can turn HTTPS on with server.tls.mode: self-signed " +
			"(no certificate to buy), serve it behind a TLS-terminating proxy listed in server.trusted_proxies, " +
			"or, on a closed lab network only, set auth.allow_insecure_cookies: true."}
)

// authenticate requires a valid bearer credential: the access token of a
// person's live session, or a job's API token (lrt_…). It reads only the
// Authorization header: data endpoints ignore cookies, so cross-site
// requests carry no credentials to them. What the caller may then do is
// the route's permission (require).
func (s *Server) authenticate(c *gin.Context) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="labreview"`)
		s.writeError(c, errUnauthenticated)
		return
	}
	var p *auth.Principal
	var err error
	if auth.IsAPIToken(token) {
		p, err = s.auth.AuthenticateAPIToken(c.Request.Context(), token)
	} else {
		p, err = s.auth.Authenticate(c.Request.Context(), token)
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

func principal(c *gin.Context) *auth.Principal {
	p, _ := c.Get(principalKey)
	pp, _ := p.(*auth.Principal)
	return pp
}

// crossOriginProtection refuses cross-origin state-changing requests to the
// cookie-reading endpoints (login, refresh, logout, setup), using
// Sec-Fetch-Site and Origin (Go's http.CrossOriginProtection). Requests
// without either header (non-browser clients) pass: they carry no ambient
// browser cookies.
func (s *Server) crossOriginProtection(c *gin.Context) {
	if err := s.csrf.Check(c.Request); err != nil {
		s.writeError(c, errCrossOrigin)
		return
	}
	c.Next()
}

func clientInfo(c *gin.Context) auth.ClientInfo {
	return auth.ClientInfo{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
}

// cookieMode decides how the refresh cookie is set for this request:
// Secure with the __Secure- prefix over HTTPS and on localhost (browsers
// accept Secure cookies there); plain only when the operator allowed it.
func (s *Server) cookieMode(r *http.Request) (name string, secure bool, err error) {
	if s.isHTTPS(r) || isLoopbackHost(r.Host) {
		return refreshCookieSecure, true, nil
	}
	if s.opts.AllowInsecureCookies {
		return refreshCookieInsecure, false, nil
	}
	return "", false, errInsecureTransport
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(strings.ToLower(host), "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setCookie hands the browser an auth cookie: HttpOnly, SameSite=Strict,
// scoped to path, no Domain, expiring after maxAge. The refresh cookie's
// Max-Age stays within the session's remaining life.
func setCookie(c *gin.Context, name, path string, secure bool, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   max(int(maxAge/time.Second), 1),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// clearRefreshCookies removes the refresh cookie under both names (same
// name and path, Max-Age=0).
func clearRefreshCookies(c *gin.Context) {
	for _, name := range []string{refreshCookieSecure, refreshCookieInsecure} {
		http.SetCookie(c.Writer, &http.Cookie{
			Name: name, Value: "", Path: refreshCookiePath, MaxAge: -1, HttpOnly: true,
			Secure: name == refreshCookieSecure, SameSite: http.SameSiteStrictMode,
		})
	}
}

// readCookie reads an auth cookie under its __Secure- name, or under its
// unprefixed name only when auth.allow_insecure_cookies is on: otherwise
// anyone who can plant a non-Secure cookie for the host (a plain-HTTP
// answer before HSTS is cached, a sibling subdomain) could sign a
// signed-out victim into the planter's account at the victim's next boot
// refresh. A __Secure- cookie can only be set over HTTPS (or on localhost)
// by the host itself.
func (s *Server) readCookie(c *gin.Context, secureName, insecureName string) string {
	names := []string{secureName}
	if s.opts.AllowInsecureCookies {
		names = append(names, insecureName)
	}
	for _, name := range names {
		if ck, err := c.Request.Cookie(name); err == nil && ck.Value != "" {
			return ck.Value
		}
	}
	return ""
}

// refreshCookie reads the refresh token.
func (s *Server) refreshCookie(c *gin.Context) string {
	return s.readCookie(c, refreshCookieSecure, refreshCookieInsecure)
}

// deviceCookie reads the device cookie sent with a sign-in.
func (s *Server) deviceCookie(c *gin.Context) string {
	return s.readCookie(c, deviceCookieSecure, deviceCookieInsecure)
}
