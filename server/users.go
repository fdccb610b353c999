package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/auth/policy"
	"labreview/db"
)

// userResponse is a user as the API shows it. The stored document has a
// password hash; this type has no field it could land in.
type userResponse struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role" enum:"viewer|reviewer|admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUserResponse(u *db.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// userID parses the {id} path parameter; a malformed id is simply not found.
func (s *Server) userID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if !db.ValidID(id) {
		s.writeError(c, db.ErrNotFound)
		return "", false
	}
	return id, true
}

func actor(c *gin.Context) string { return principal(c).UserID }

// handleMeGet: GET /api/me.
func (s *Server) handleMeGet(c *gin.Context) {
	u, err := s.auth.Me(c.Request.Context(), principal(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, meResponse{userResponse: toUserResponse(u), Permissions: principal(c).Permissions()})
}

// meResponse is the caller with what the permission table lets them do:
// the UI shows its controls from Permissions, never from the role.
type meResponse struct {
	userResponse
	Permissions []policy.Permission `json:"permissions"`
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleMePassword: POST /api/me/password.
func (s *Server) handleMePassword(c *gin.Context) {
	var in passwordChangeRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if err := s.auth.ChangePassword(c.Request.Context(), principal(c), in.CurrentPassword, in.NewPassword, clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleUsersList: GET /api/users.
func (s *Server) handleUsersList(c *gin.Context) {
	users, err := s.auth.Users(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]userResponse, len(users))
	for i := range users {
		out[i] = toUserResponse(&users[i])
	}
	c.JSON(http.StatusOK, gin.H{"users": out})
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// handleUsersCreate: POST /api/users.
func (s *Server) handleUsersCreate(c *gin.Context) {
	var in createUserRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	u, err := s.auth.CreateUser(c.Request.Context(), actor(c), auth.NewUser(in), clientInfo(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Location", "/api/users/"+u.ID)
	c.JSON(http.StatusCreated, toUserResponse(u))
}

// handleUserGet: GET /api/users/{id}.
func (s *Server) handleUserGet(c *gin.Context) {
	id, ok := s.userID(c)
	if !ok {
		return
	}
	u, err := s.auth.User(c.Request.Context(), id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toUserResponse(u))
}

// patchUserRequest lists the only fields PATCH may change; any other field
// is refused by the decoder, never ignored.
type patchUserRequest struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// handleUserPatch: PATCH /api/users/{id}.
func (s *Server) handleUserPatch(c *gin.Context) {
	id, ok := s.userID(c)
	if !ok {
		return
	}
	var in patchUserRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if in.Name == nil && in.Role == nil && in.Disabled == nil {
		s.writeError(c, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "Nothing to change: send name, role or disabled."})
		return
	}
	u, err := s.auth.UpdateUser(c.Request.Context(), actor(c), id, auth.UserPatch(in), clientInfo(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toUserResponse(u))
}

// handleUserDelete: DELETE /api/users/{id}.
func (s *Server) handleUserDelete(c *gin.Context) {
	id, ok := s.userID(c)
	if !ok {
		return
	}
	if err := s.auth.DeleteUser(c.Request.Context(), actor(c), id, clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type resetPasswordRequest struct {
	NewPassword string `json:"new_password"`
	// RevokeTokens (default true) also revokes the user's API tokens.
	RevokeTokens *bool `json:"revoke_tokens"`
}

// handleUserPassword: POST /api/users/{id}/password (admin reset).
func (s *Server) handleUserPassword(c *gin.Context) {
	id, ok := s.userID(c)
	if !ok {
		return
	}
	var in resetPasswordRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	revoke := in.RevokeTokens == nil || *in.RevokeTokens
	if err := s.auth.ResetPassword(c.Request.Context(), actor(c), id, in.NewPassword, revoke, clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleUserSessionsDelete: DELETE /api/users/{id}/sessions.
func (s *Server) handleUserSessionsDelete(c *gin.Context) {
	id, ok := s.userID(c)
	if !ok {
		return
	}
	if err := s.auth.TerminateUserSessions(c.Request.Context(), actor(c), id, clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type auditResponse struct {
	ID        string         `json:"id"`
	At        time.Time      `json:"at"`
	Event     string         `json:"event"`
	ActorID   string         `json:"actor_id,omitempty"`
	UserID    string         `json:"user_id,omitempty"`
	Email     string         `json:"email,omitempty"`
	SessionID string         `json:"session_id,omitempty"`
	IP        string         `json:"ip,omitempty"`
	UserAgent string         `json:"user_agent,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// handleAuditList: GET /api/audit?user=&event=&before=&limit=.
func (s *Server) handleAuditList(c *gin.Context) {
	f := db.AuditFilter{UserID: c.Query("user"), Event: c.Query("event")}
	if b := c.Query("before"); b != "" {
		if !db.ValidID(b) {
			s.writeError(c, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "before is not a page cursor."})
			return
		}
		f.Before = b
	}
	limit := 50
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			s.writeError(c, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "limit must be 1 to 200."})
			return
		}
		limit = n
	}
	page, err := s.auth.Audit(c.Request.Context(), f, limit)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]auditResponse, len(page.Events))
	for i, e := range page.Events {
		out[i] = auditResponse{ID: e.ID, At: e.At.UTC(), Event: e.Event, ActorID: e.ActorID, UserID: e.UserID,
			Email: e.Email, SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Details: e.Details}
	}
	resp := gin.H{"events": out, "next": nil}
	if page.Next != "" {
		resp["next"] = page.Next
	}
	c.JSON(http.StatusOK, resp)
}

type setupRequest struct {
	Token    string `json:"token"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// handleSetupGet: GET /api/setup.
func (s *Server) handleSetupGet(c *gin.Context) {
	needed, err := s.auth.SetupNeeded(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"needed": needed})
}

// handleSetupPost: POST /api/setup. Creates the first admin and signs in.
func (s *Server) handleSetupPost(c *gin.Context) {
	name, secure, err := s.cookieMode(c.Request)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var in setupRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	g, err := s.auth.Setup(c.Request.Context(), in.Token,
		auth.NewUser{Email: in.Email, Name: in.Name, Password: in.Password}, clientInfo(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.writeGrant(c, g, name, secure)
}
