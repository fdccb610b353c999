package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
)

// loginBodyLimit caps login and setup bodies.
const loginBodyLimit = 16 << 10

// tokenResponse is the OAuth2 token response (RFC 6749 §5.1). The refresh
// token travels only in its HttpOnly cookie, never in a body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

type loginRequest struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	GrantType string `json:"grant_type"`
}

var errUnsupportedGrant = &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
	Message: "Only grant_type=password is supported here."}

// readLogin accepts the OAuth2 password form (the standard) or the same
// fields as JSON. Each field must be a single string: nothing in the body
// can become a database operator.
func readLogin(c *gin.Context) (loginRequest, error) {
	var in loginRequest
	switch mediaType(c) {
	case "application/x-www-form-urlencoded":
		if err := c.Request.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return in, err
			}
			return in, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "The form body is malformed."}
		}
		form := c.Request.PostForm
		for _, f := range []string{"username", "password", "grant_type"} {
			if len(form[f]) > 1 {
				return in, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "Field " + f + " is given more than once."}
			}
		}
		in = loginRequest{Username: form.Get("username"), Password: form.Get("password"), GrantType: form.Get("grant_type")}
	case "application/json":
		if err := decodeJSON(c, &in); err != nil {
			return in, err
		}
	default:
		return in, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Send application/x-www-form-urlencoded (OAuth2 password form) or application/json."}
	}
	if in.GrantType != "" && in.GrantType != "password" {
		return in, errUnsupportedGrant
	}
	var missing []FieldError
	if in.Username == "" {
		missing = append(missing, FieldError{Field: "username", Message: "required"})
	}
	if in.Password == "" {
		missing = append(missing, FieldError{Field: "password", Message: "required"})
	}
	if missing != nil {
		return in, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "Username and password are required.", Details: missing}
	}
	return in, nil
}

// handleLogin: POST /api/auth/login.
func (s *Server) handleLogin(c *gin.Context) {
	name, secure, err := s.cookieMode(c.Request)
	if err != nil {
		s.writeError(c, err)
		return
	}
	in, err := readLogin(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	client := clientInfo(c)
	client.Device = s.deviceCookie(c)
	g, err := s.auth.Login(c.Request.Context(), in.Username, in.Password, client)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if g.DeviceCookie != "" {
		// It marks the browser as a known device of the account it signed
		// in to, and goes to the sign-in endpoint only.
		deviceName := deviceCookieInsecure
		if secure {
			deviceName = deviceCookieSecure
		}
		setCookie(c, deviceName, deviceCookiePath, secure, g.DeviceCookie, g.DeviceMaxAge)
	}
	s.writeGrant(c, g, name, secure)
}

// writeGrant answers with the token response and, when the grant carries
// one, the refresh cookie.
func (s *Server) writeGrant(c *gin.Context, g *auth.Grant, cookieName string, secure bool) {
	if g.RefreshToken != "" {
		setCookie(c, cookieName, refreshCookiePath, secure, g.RefreshToken, g.RefreshMaxAge)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, tokenResponse{
		AccessToken: g.AccessToken,
		TokenType:   "bearer",
		ExpiresIn:   int(g.ExpiresIn.Round(time.Second) / time.Second),
	})
}

// handleRefresh: POST /api/auth/refresh. Reads the cookie only.
func (s *Server) handleRefresh(c *gin.Context) {
	name, secure, err := s.cookieMode(c.Request)
	if err != nil {
		s.writeError(c, err)
		return
	}
	token := s.refreshCookie(c)
	if token == "" {
		s.writeError(c, auth.ErrInvalidRefresh)
		return
	}
	g, err := s.auth.Refresh(c.Request.Context(), token, clientInfo(c))
	if err != nil {
		if errors.Is(err, auth.ErrInvalidRefresh) {
			clearRefreshCookies(c)
		}
		s.writeError(c, err)
		return
	}
	s.writeGrant(c, g, name, secure)
}

// handleLogout: POST /api/auth/logout. Always 204; the session of a
// genuine cookie is revoked.
func (s *Server) handleLogout(c *gin.Context) {
	if token := s.refreshCookie(c); token != "" {
		if err := s.auth.Logout(c.Request.Context(), token, clientInfo(c)); err != nil {
			s.writeError(c, err)
			return
		}
	}
	clearRefreshCookies(c)
	c.Status(http.StatusNoContent)
}

// handleLogoutAll: POST /api/auth/logout-all (bearer).
func (s *Server) handleLogoutAll(c *gin.Context) {
	if err := s.auth.LogoutAll(c.Request.Context(), principal(c), clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	clearRefreshCookies(c)
	c.Status(http.StatusNoContent)
}

type sessionResponse struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// handleSessionsList: GET /api/auth/sessions.
func (s *Server) handleSessionsList(c *gin.Context) {
	list, err := s.auth.Sessions(c.Request.Context(), principal(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]sessionResponse, len(list))
	for i, x := range list {
		out[i] = sessionResponse{ID: x.ID, CreatedAt: x.CreatedAt.UTC(), LastUsedAt: x.LastUsedAt.UTC(),
			UserAgent: x.UserAgent, IP: x.IP, Current: x.Current}
	}
	c.JSON(http.StatusOK, gin.H{"sessions": out})
}

// handleSessionDelete: DELETE /api/auth/sessions/{id}.
func (s *Server) handleSessionDelete(c *gin.Context) {
	if err := s.auth.RevokeOwnSession(c.Request.Context(), principal(c), c.Param("id"), clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleJWKS: GET /api/auth/jwks and /.well-known/jwks.json.
func (s *Server) handleJWKS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, s.auth.JWKS())
}
