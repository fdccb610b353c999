package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/auth/policy"
	"labreview/db"
)

type tokenCreateRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	Projects      []string `json:"projects"`
	ExpiresInDays int      `json:"expires_in_days"`
}

// apiTokenResponse is an API token as the API shows it: never its hash, and
// its secret only in the answer to its creation.
type apiTokenResponse struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Hint       string      `json:"hint"` // the last characters, to tell tokens apart
	Scopes     []string    `json:"scopes" enum:"runs:read|runs:write"`
	Projects   []string    `json:"projects"`
	CreatedAt  time.Time   `json:"created_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	LastUsedAt *time.Time  `json:"last_used_at"`
	RevokedAt  *time.Time  `json:"revoked_at"`
	Owner      *tokenOwner `json:"owner,omitempty"` // admins' list only
	Token      string      `json:"token,omitempty"` // creation only
	Status     string      `json:"status" enum:"active|expired|revoked"`
}

type tokenOwner struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func toAPITokenResponse(t *db.APIToken, now time.Time) apiTokenResponse {
	status := "active"
	switch {
	case t.RevokedAt != nil:
		status = "revoked"
	case !now.Before(t.ExpiresAt):
		status = "expired"
	}
	return apiTokenResponse{ID: t.ID, Name: t.Name, Hint: t.Hint, Scopes: t.Scopes, Projects: t.Projects,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), LastUsedAt: utcPtr(t.LastUsedAt),
		RevokedAt: utcPtr(t.RevokedAt), Status: status}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// handleTokensCreate: POST /api/tokens. The secret is in this answer only.
func (s *Server) handleTokensCreate(c *gin.Context) {
	var in tokenCreateRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	t, secret, err := s.auth.CreateAPIToken(c.Request.Context(), principal(c),
		auth.TokenRequest{Name: in.Name, Scopes: in.Scopes, Projects: in.Projects, ExpiresInDays: in.ExpiresInDays}, clientInfo(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := toAPITokenResponse(t, time.Now())
	out.Token = secret
	c.Header("Location", "/api/tokens/"+t.ID)
	c.JSON(http.StatusCreated, out)
}

// handleTokensList: GET /api/tokens. The caller's tokens; an admin's list
// holds every token, with its owner.
func (s *Server) handleTokensList(c *gin.Context) {
	p := principal(c)
	all := p.Can(policy.TokensManageAll, policy.Resource{})
	list, err := s.auth.ListAPITokens(c.Request.Context(), p, all)
	if err != nil {
		s.writeError(c, err)
		return
	}
	owners := map[string]*tokenOwner{}
	if all && len(list) > 0 {
		users, err := s.auth.Users(c.Request.Context())
		if err != nil {
			s.writeError(c, err)
			return
		}
		for _, u := range users {
			owners[u.ID] = &tokenOwner{ID: u.ID, Email: u.Email, Name: u.Name}
		}
	}
	now := time.Now()
	out := make([]apiTokenResponse, len(list))
	for i := range list {
		out[i] = toAPITokenResponse(&list[i], now)
		if all {
			out[i].Owner = owners[list[i].UserID]
			if out[i].Owner == nil {
				out[i].Owner = &tokenOwner{ID: list[i].UserID}
			}
		}
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
}

// handleTokenDelete: DELETE /api/tokens/{id}. Revoking twice is fine.
func (s *Server) handleTokenDelete(c *gin.Context) {
	id := c.Param("id")
	if !db.ValidID(id) {
		s.writeError(c, errNoSuchToken)
		return
	}
	if err := s.auth.RevokeAPIToken(c.Request.Context(), principal(c), id, clientInfo(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
