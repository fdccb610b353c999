package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
	"labreview/server/fileserve"
)

// fileResponse is a run's file as the API lists it.
type fileResponse struct {
	Path        string    `json:"path"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	// URL downloads it (with the caller's bearer token); add ?inline=1 to
	// display an image or text.
	URL string `json:"url"`
}

func toFileResponse(f *db.Artifact) fileResponse {
	return fileResponse{Path: f.Path, Size: f.Size, SHA256: f.SHA256, ContentType: f.ContentType, CreatedAt: f.CreatedAt.UTC(),
		CreatedBy: f.CreatedBy, URL: "/api/runs/" + f.RunID + "/files/" + escapePath(f.Path)}
}

// escapePath escapes each part of a slash-separated path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// filePath is the *path parameter without its leading slash.
func filePath(c *gin.Context) string { return strings.TrimPrefix(c.Param("path"), "/") }

// handleFilePut: PUT /api/runs/{id}/files/{path}: the body is the file,
// streamed to storage (files.max_file_bytes at most). The same upload
// again is harmless.
func (s *Server) handleFilePut(c *gin.Context) {
	f, err := s.runs.PutFile(c.Request.Context(), runActor(c), c.Param("id"), filePath(c), c.Request.Body)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toFileResponse(f))
}

// handleFilesList: GET /api/runs/{id}/files?prefix=&after=&limit=.
func (s *Server) handleFilesList(c *gin.Context) {
	limit := 100
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			s.writeError(c, &runs.InputError{Field: "limit", Code: "invalid", Message: "A page lists 1 to 1000 files."})
			return
		}
		limit = n
	}
	list, more, err := s.runs.Files(c.Request.Context(), runActor(c), c.Param("id"), c.Query("prefix"), c.Query("after"), limit)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]fileResponse, len(list))
	for i := range list {
		out[i] = toFileResponse(&list[i])
	}
	var next any
	if more && len(list) > 0 {
		next = list[len(list)-1].Path
	}
	c.JSON(http.StatusOK, gin.H{"files": out, "next": next})
}

// handleFileGet: GET /api/runs/{id}/files/{path}[?inline=1]: the bytes,
// as a download unless inline is asked for an image or text.
func (s *Server) handleFileGet(c *gin.Context) {
	f, rc, err := s.runs.OpenFile(c.Request.Context(), runActor(c), c.Param("id"), filePath(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer rc.Close()
	if err := fileserve.Write(c.Writer, c.Request, f, rc, c.Query("inline") == "1"); err != nil {
		// The status line is sent: the client sees a cut-short body.
		s.log.WarnContext(c.Request.Context(), "file download cut short", "request_id", requestIDOf(c), "err", err)
	}
}

// handleFileDelete: DELETE /api/runs/{id}/files/{path} (admins, signed in).
func (s *Server) handleFileDelete(c *gin.Context) {
	if err := s.runs.DeleteFile(c.Request.Context(), runActor(c), c.Param("id"), filePath(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
