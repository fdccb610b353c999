// Package policy is labreview's permission table: the one place that says
// who may do what. Roles and API-token scopes map to permissions here;
// routes declare the permission they need (server/routes.go) and services
// ask Subject.Can. It is plain data and imports nothing of labreview but
// the role names of db.
package policy

import (
	"slices"

	"labreview/db"
)

// Permission names one kind of action.
type Permission string

// The permissions. A route needs exactly one; a handler may ask for a
// further one about the resource at hand (deleting another's comment).
const (
	// RunsRead: list and read runs, their series, reviews, comments, files,
	// projects and names.
	RunsRead Permission = "runs:read"
	// RunsWrite: create runs, change them, append and truncate series.
	RunsWrite Permission = "runs:write"
	// RunsComment: write, edit and remove one's own comments.
	RunsComment Permission = "runs:comment"
	// RunsReview: verdicts, bulk reviews and their undo, project baselines.
	RunsReview Permission = "runs:review"
	// RunsDelete: soft-delete and restore runs, list deleted runs, remove
	// files and series.
	RunsDelete Permission = "runs:delete"
	// RunsModerate: remove anyone's comment, undo anyone's review batch.
	RunsModerate Permission = "runs:moderate"
	// UsersManage: create, change, disable and delete accounts.
	UsersManage Permission = "users:manage"
	// TokensManageAll: list and revoke everyone's API tokens.
	TokensManageAll Permission = "tokens:manage-all"
	// AuditRead: the audit log.
	AuditRead Permission = "audit:read"
	// Account: one's own profile, password, sessions, saved views and API
	// tokens. People only.
	Account Permission = "account"
)

// Public marks a route anyone may call (probes, sign-in, the key set).
const Public Permission = ""

// All lists every permission, in the order the UI and docs show them.
var All = []Permission{RunsRead, RunsWrite, RunsComment, RunsReview, RunsDelete, RunsModerate,
	UsersManage, TokensManageAll, AuditRead, Account}

// roleGrants is the table: what each role may do, on every project.
// Per-project roles, when they come, are rows of the same kind (a role
// held on one project), applied by Subject.ProjectRoles: a change of data.
var roleGrants = map[string][]Permission{
	db.RoleViewer:   {RunsRead, RunsComment, Account},
	db.RoleReviewer: {RunsRead, RunsComment, Account, RunsWrite, RunsReview},
	db.RoleAdmin: {RunsRead, RunsComment, Account, RunsWrite, RunsReview,
		RunsDelete, RunsModerate, UsersManage, TokensManageAll, AuditRead},
}

// TokenScopes are the permissions an API token can hold, as scopes: a job
// reads and writes runs; everything else needs a person.
var TokenScopes = []Permission{RunsRead, RunsWrite}

// Resource is what an action is about. The zero Resource is "no single
// project" (listing): a caller limited to some projects passes, and its
// projects filter what it sees.
type Resource struct {
	Project string
}

// Project is the resource of one project.
func Project(name string) Resource { return Resource{Project: name} }

// Subject is a caller as the table sees it: a signed-in person by role,
// or an API token, bounded by its own scopes, its projects and its
// owner's role.
type Subject struct {
	Role string
	// Token says an API token asks; Scopes and Projects (empty: every
	// project) then bound it.
	Token    bool
	Scopes   []Permission
	Projects []string
	// ProjectRoles are roles held on single projects (project → role), on
	// top of Role. Nothing stores them yet; the table already applies them.
	ProjectRoles map[string]string
}

// Can reports whether the subject may do p on r.
func (s Subject) Can(p Permission, r Resource) bool {
	if p == Public {
		return true
	}
	if s.Token && !slices.Contains(s.Scopes, p) {
		return false
	}
	if !s.Reaches(r.Project) {
		return false
	}
	if RoleGrants(s.Role, p) {
		return true
	}
	if r.Project != "" {
		return RoleGrants(s.ProjectRoles[r.Project], p)
	}
	// No single project: a role held on some project is enough to ask;
	// the answer is then filtered to those projects.
	for _, role := range s.ProjectRoles {
		if RoleGrants(role, p) {
			return true
		}
	}
	return false
}

// Reaches reports whether the subject may touch project at all: always
// for a person and an unlimited token; "" (no single project) always.
func (s Subject) Reaches(project string) bool {
	return !s.Token || len(s.Projects) == 0 || project == "" || slices.Contains(s.Projects, project)
}

// Permissions lists what the subject may do on some project, in All's
// order (for /api/me and the UI's controls).
func (s Subject) Permissions() []Permission {
	out := []Permission{}
	for _, p := range All {
		if s.Can(p, Resource{}) {
			out = append(out, p)
		}
	}
	return out
}

// RoleGrants reports whether role holds p.
func RoleGrants(role string, p Permission) bool {
	return slices.Contains(roleGrants[role], p)
}

// TokenGrantable reports whether an API token can ever hold p.
func TokenGrantable(p Permission) bool { return slices.Contains(TokenScopes, p) }

// ScopesOf is what a token of a user with role may hold.
func ScopesOf(role string) []Permission {
	var out []Permission
	for _, p := range TokenScopes {
		if RoleGrants(role, p) {
			out = append(out, p)
		}
	}
	return out
}

// Roles lists the roles of the table, least privileged first.
func Roles() []string { return []string{db.RoleViewer, db.RoleReviewer, db.RoleAdmin} }
