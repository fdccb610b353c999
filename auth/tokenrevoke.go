package auth

import (
	"context"
	"slices"

	"labreview/auth/policy"
	"labreview/db"
)

// Reasons a user's API tokens are revoked with, in token_revoked events.
const (
	RevokedUserDisabled  = "user_disabled"
	RevokedRoleChanged   = "role_changed"
	RevokedPasswordReset = "password_reset"
)

// revokeUserTokens revokes every active token of user (neither revoked nor
// expired) that keep does not keep, each audited as token_revoked with
// reason and the actor who caused it, and returns how many it revoked.
// Tokens used to be only suspended by these changes (the check at each
// request refuses a disabled or demoted owner's token) and worked again
// once the owner was re-enabled or promoted; revoked, they never do. It
// is idempotent: run again, it finds nothing more to revoke.
func (s *Service) revokeUserTokens(ctx context.Context, actor string, user *db.User, reason string, client ClientInfo,
	keep func(*db.APIToken) bool) (int, error) {
	list, err := s.db.ListAPITokens(ctx, user.ID)
	if err != nil {
		return 0, err
	}
	now, n := s.now(), 0
	for i := range list {
		t := &list[i]
		if t.RevokedAt != nil || !now.Before(t.ExpiresAt) || keep(t) {
			continue
		}
		first, err := s.db.RevokeAPIToken(ctx, t.ID, now)
		s.apiTokens.forget(t.Hash)
		if err != nil {
			return n, err
		}
		if !first {
			continue // revoked meanwhile, and audited there
		}
		n++
		details := tokenDetails(t)
		details["reason"] = reason
		s.audit(ctx, &db.AuditEvent{Event: EventTokenRevoked, ActorID: actor, UserID: user.ID,
			IP: client.IP, UserAgent: client.UserAgent, Details: details})
	}
	return n, nil
}

// revokeTokensBeyond revokes what user's tokens may no longer do as the
// user now is: all of them when disabled, else those holding a scope the
// role does not grant (a reviewer's runs:write token when they become a
// viewer).
func (s *Service) revokeTokensBeyond(ctx context.Context, actor string, user *db.User, client ClientInfo) (int, error) {
	if user.Disabled {
		return s.revokeUserTokens(ctx, actor, user, RevokedUserDisabled, client, func(*db.APIToken) bool { return false })
	}
	return s.revokeUserTokens(ctx, actor, user, RevokedRoleChanged, client, func(t *db.APIToken) bool {
		return !slices.ContainsFunc(t.Scopes, func(sc string) bool { return !policy.RoleGrants(user.Role, policy.Permission(sc)) })
	})
}
