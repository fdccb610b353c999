package auth

import (
	"context"

	"labreview/db"
)

// maxUserAgent caps the User-Agent kept in sessions and audit events.
const maxUserAgent = 512

// Audit event names (stable: the audit API filters on them).
const (
	EventLoginOK           = "login_ok"
	EventLoginFailed       = "login_failed"
	EventLoginThrottled    = "login_throttled"
	EventRefreshReuse      = "refresh_reuse"
	EventLogout            = "logout"
	EventLogoutAll         = "logout_all"
	EventSessionRevoked    = "session_revoked"
	EventSessionsEnded     = "sessions_terminated"
	EventPasswordChanged   = "password_changed"
	EventPasswordReset     = "password_reset"
	EventSetup             = "setup"
	EventSetupTokenInvalid = "setup_token_invalid"
	EventSetupThrottled    = "setup_throttled"
	EventUserCreated       = "user_created"
	EventUserChanged       = "user_changed"
	EventUserDeleted       = "user_deleted"
	EventKeysRotated       = "keys_rotated"
)

// audit appends an event. The audit log must not make the action fail
// after the fact, so a write error is logged, not returned. Callers never
// put a password, token, cookie or hash in an event.
func (s *Service) audit(ctx context.Context, e *db.AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if s.onEvent != nil {
		s.onEvent(e.Event)
	}
	// Every string a client supplies is capped: anyone can cause some
	// events (failed sign-ins), and their size must not be theirs to pick.
	e.Email = truncate(e.Email, 254)
	e.UserAgent = truncate(e.UserAgent, maxUserAgent)
	e.IP = truncate(e.IP, 64)
	if err := s.db.InsertAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing audit event", "event", e.Event, "err", err)
	}
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Events []db.AuditEvent
	// Next is the cursor for the following (older) page; "" at the end.
	Next string
}

// Audit lists audit events for an admin.
func (s *Service) Audit(ctx context.Context, f db.AuditFilter, limit int) (*AuditPage, error) {
	events, more, err := s.db.ListAudit(ctx, f, limit)
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Events: events}
	if more && len(events) > 0 {
		page.Next = events[len(events)-1].ID
	}
	return page, nil
}
