package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
)

type anchorJSON struct {
	Param  string `json:"param,omitempty"`
	Series string `json:"series,omitempty"`
	From   *int64 `json:"from,omitempty"`
	To     *int64 `json:"to,omitempty"`
}

type commentVersionJSON struct {
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

// commentResponse is a comment as the API shows it; a deleted comment
// keeps its place without its text or history.
type commentResponse struct {
	ID         string               `json:"id"`
	Author     string               `json:"author"`
	AuthorName string               `json:"author_name"`
	At         time.Time            `json:"at"`
	Body       string               `json:"body"`
	Anchor     *anchorJSON          `json:"anchor"`
	EditedAt   *time.Time           `json:"edited_at"`
	Deleted    bool                 `json:"deleted"`
	History    []commentVersionJSON `json:"history"`
}

func toCommentResponse(c *db.Comment, names map[string]string) commentResponse {
	out := commentResponse{ID: c.ID, Author: c.Author, AuthorName: names[c.Author], At: c.At.UTC(), Body: c.Body,
		EditedAt: utcPtr(c.EditedAt), Deleted: c.DeletedAt != nil, History: []commentVersionJSON{}}
	if c.Anchor != nil {
		a := anchorJSON(*c.Anchor)
		out.Anchor = &a
	}
	if !out.Deleted {
		for _, h := range c.History {
			out.History = append(out.History, commentVersionJSON{Body: h.Body, At: h.At.UTC()})
		}
	}
	return out
}

type commentRequest struct {
	Body   string      `json:"body"`
	Anchor *anchorJSON `json:"anchor"`
}

// handleCommentsList: GET /api/runs/{id}/comments, the thread.
func (s *Server) handleCommentsList(c *gin.Context) {
	list, err := s.runs.Comments(c.Request.Context(), runActor(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	ids := make([]string, len(list))
	for i := range list {
		ids[i] = list[i].Author
	}
	names, err := s.auth.DisplayNames(c.Request.Context(), ids)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]commentResponse, len(list))
	for i := range list {
		out[i] = toCommentResponse(&list[i], names)
	}
	c.JSON(http.StatusOK, gin.H{"comments": out})
}

func (s *Server) commentAnswer(c *gin.Context, status int, cm *db.Comment) {
	names, err := s.auth.DisplayNames(c.Request.Context(), []string{cm.Author})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(status, toCommentResponse(cm, names))
}

// handleCommentsCreate: POST /api/runs/{id}/comments.
func (s *Server) handleCommentsCreate(c *gin.Context) {
	var in commentRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	var anchor *db.CommentAnchor
	if in.Anchor != nil {
		a := db.CommentAnchor(*in.Anchor)
		anchor = &a
	}
	cm, err := s.runs.AddComment(c.Request.Context(), runActor(c), c.Param("id"), runs.NewComment{Body: in.Body, Anchor: anchor})
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.commentAnswer(c, http.StatusCreated, cm)
}

// handleCommentEdit: PATCH /api/runs/{id}/comments/{cid} {"body"}.
func (s *Server) handleCommentEdit(c *gin.Context) {
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	cm, err := s.runs.EditComment(c.Request.Context(), runActor(c), c.Param("id"), c.Param("cid"), in.Body)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.commentAnswer(c, http.StatusOK, cm)
}

// handleCommentDelete: DELETE /api/runs/{id}/comments/{cid}.
func (s *Server) handleCommentDelete(c *gin.Context) {
	err := s.runs.DeleteComment(c.Request.Context(), runActor(c), c.Param("id"), c.Param("cid"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
