package auth

import "labreview/auth/policy"

// Subject is the principal as the permission table sees it.
func (p *Principal) Subject() policy.Subject {
	s := policy.Subject{Role: p.Role, Token: p.TokenID != "", Projects: p.Projects}
	for _, sc := range p.Scopes {
		s.Scopes = append(s.Scopes, policy.Permission(sc))
	}
	return s
}

// Can reports whether the principal may do perm on r, by the permission
// table (auth/policy): a person by role, an API token by its scopes and
// projects within its owner's role. A nil principal may do nothing but
// the public.
func (p *Principal) Can(perm policy.Permission, r policy.Resource) bool {
	if p == nil {
		return perm == policy.Public
	}
	return p.Subject().Can(perm, r)
}

// Permissions lists what the principal may do (for /api/me).
func (p *Principal) Permissions() []policy.Permission {
	if p == nil {
		return []policy.Permission{}
	}
	return p.Subject().Permissions()
}

// IsToken says an API token, not a person, authenticated the request.
func (p *Principal) IsToken() bool { return p != nil && p.TokenID != "" }
