package policy

import (
	"slices"
	"testing"

	"labreview/db"
)

// TestTable pins the table: every role's permissions, and what tokens can
// hold. A change here is a change of who may do what, so it is explicit.
func TestTable(t *testing.T) {
	want := map[string][]Permission{
		db.RoleViewer:   {RunsRead, RunsComment, Account},
		db.RoleReviewer: {RunsRead, RunsWrite, RunsComment, RunsReview, Account},
		db.RoleAdmin:    All,
		"":              {},
		"superuser":     {},
	}
	for role, perms := range want {
		got := Subject{Role: role}.Permissions()
		if !slices.Equal(got, perms) && !(len(got) == 0 && len(perms) == 0) {
			t.Errorf("%q may %v, want %v", role, got, perms)
		}
	}
	if !slices.Equal(ScopesOf(db.RoleViewer), []Permission{RunsRead}) ||
		!slices.Equal(ScopesOf(db.RoleReviewer), []Permission{RunsRead, RunsWrite}) {
		t.Errorf("token scopes: viewer %v, reviewer %v", ScopesOf(db.RoleViewer), ScopesOf(db.RoleReviewer))
	}
	for _, p := range All {
		if TokenGrantable(p) != (p == RunsRead || p == RunsWrite) {
			t.Errorf("%s: token-grantable %v", p, TokenGrantable(p))
		}
	}
}

func TestTokensAreBoundedByScopesProjectsAndRole(t *testing.T) {
	tok := Subject{Role: db.RoleAdmin, Token: true, Scopes: []Permission{RunsRead, RunsWrite}, Projects: []string{"p1"}}
	cases := []struct {
		s    Subject
		p    Permission
		r    Resource
		want bool
	}{
		{tok, RunsWrite, Project("p1"), true},
		{tok, RunsWrite, Project("p2"), false},
		{tok, RunsRead, Resource{}, true},       // a list: filtered to p1
		{tok, RunsDelete, Project("p1"), false}, // never a token's, even an admin's
		{tok, UsersManage, Resource{}, false},
		{tok, Account, Resource{}, false},
		// A viewer's token that claims runs:write gets nothing from it.
		{Subject{Role: db.RoleViewer, Token: true, Scopes: []Permission{RunsWrite}}, RunsWrite, Project("p1"), false},
		{Subject{Role: db.RoleReviewer, Token: true, Scopes: []Permission{RunsRead}}, RunsWrite, Project("p1"), false},
		// People reach every project.
		{Subject{Role: db.RoleReviewer, Projects: []string{"ignored"}}, RunsWrite, Project("p9"), true},
		{Subject{}, Public, Resource{}, true},
	}
	for i, c := range cases {
		if got := c.s.Can(c.p, c.r); got != c.want {
			t.Errorf("case %d: %+v Can(%s, %+v) = %v, want %v", i, c.s, c.p, c.r, got, c.want)
		}
	}
}

// TestProjectRolesAreRowsOfTheSameTable: a role held on one project grants
// that role's permissions there and nowhere else; a list ("no single
// project") is allowed and filtered.
func TestProjectRolesAreRowsOfTheSameTable(t *testing.T) {
	s := Subject{Role: db.RoleViewer, ProjectRoles: map[string]string{"sweep": db.RoleReviewer}}
	if !s.Can(RunsReview, Project("sweep")) || s.Can(RunsReview, Project("other")) {
		t.Fatal("a project role must apply on its project only")
	}
	if !s.Can(RunsReview, Resource{}) || s.Can(UsersManage, Resource{}) {
		t.Fatal("a project role allows asking across projects for its own permissions only")
	}
	if !slices.Contains(s.Permissions(), RunsReview) {
		t.Fatalf("permissions %v lack the project role's", s.Permissions())
	}
}
