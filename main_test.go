package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStorageBoundary keeps the storage boundary where docs/architecture.md
// draws it: only packages under db/ import a database driver, bson or
// database/sql, and the binary does not link FerretDB (the tests' MongoDB
// stand-in).
func TestStorageBoundary(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"go.mongodb.org/", "database/sql", "modernc.org/sqlite", "github.com/FerretDB/"}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if pkg == "labreview/db" || strings.HasPrefix(pkg, "labreview/db/") || strings.Contains(pkg, "/node_modules/") {
			continue
		}
		checked++
		for _, imp := range strings.Fields(imports) {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s: storage goes through package db", pkg, imp)
				}
			}
		}
	}
	if checked < 3 {
		t.Fatalf("only %d packages checked", checked)
	}
	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if strings.Contains(string(deps), "FerretDB") {
		t.Error("the labreview binary links FerretDB")
	}
	if !strings.Contains(string(deps), "modernc.org/sqlite") {
		t.Error("the labreview binary does not link the SQLite driver")
	}
}

// TestLayers keeps the dependency direction of docs/architecture.md:
// main → cli → server → auth, runs → db. auth and runs are plain Go (no
// Gin, no net/http), runs does not reach into auth, db and its adapters
// import none of them, and db/query (the typed query tree, part of the
// storage contract) imports nothing of labreview.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./auth", "./auth/policy", "./runs", "./db/query", "./db", "./db/sqlite", "./db/mongo").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := map[string][]string{
		"labreview/auth": {"github.com/gin-gonic/", "net/http", "labreview/server", "labreview/runs"},
		// runs may read the permission table (auth/policy), not the auth
		// service.
		"labreview/runs": {"github.com/gin-gonic/", "net/http", "labreview/server", "labreview/auth"},
		// The permission table is data: it knows the role names of db only.
		"labreview/auth/policy": {"github.com/gin-gonic/", "net/http", "labreview/server", "labreview/auth",
			"labreview/runs", "labreview/cli", "labreview/db/"},
		// The typed query tree is shared by runs and the adapters: it
		// imports none of labreview.
		"labreview/db/query":  {"labreview/"},
		"labreview/db":        {"labreview/auth", "labreview/runs", "labreview/server"},
		"labreview/db/sqlite": {"labreview/auth", "labreview/runs", "labreview/server"},
		"labreview/db/mongo":  {"labreview/auth", "labreview/runs", "labreview/server"},
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		forbidden, ok := rules[pkg]
		if !ok {
			continue
		}
		seen++
		for _, imp := range strings.Fields(imports) {
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f) && strings.HasSuffix(f, "/") {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
	if seen != len(rules) {
		t.Fatalf("checked %d of %d packages", seen, len(rules))
	}
}
