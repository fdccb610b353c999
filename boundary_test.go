package main

import (
	"os/exec"
	"runtime"
	"runtime/debug"
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
// main → server → auth, runs → db. auth and runs are plain Go (no Gin, no
// net/http), runs does not reach into auth, db imports none of them (but
// may import runs/query, the typed query tree), and runs/query imports
// nothing of labreview.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./auth", "./runs", "./runs/query", "./db", "./db/sqlite", "./db/mongo").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := map[string][]string{
		"labreview/auth": {"github.com/gin-gonic/", "net/http", "labreview/server", "labreview/runs"},
		"labreview/runs": {"github.com/gin-gonic/", "net/http", "labreview/server", "labreview/auth"},
		// The typed query tree is shared by runs and the adapters: it
		// imports none of labreview.
		"labreview/runs/query": {"labreview/"},
		"labreview/db":         {"labreview/auth", "labreview/runs", "labreview/server"},
		"labreview/db/sqlite":  {"labreview/auth", "labreview/runs", "labreview/server"},
		"labreview/db/mongo":   {"labreview/auth", "labreview/runs", "labreview/server"},
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

func TestAtLeastTwoProcsOnOneCPU(t *testing.T) {
	before := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(before)
	if got := atLeastTwoProcs(func(string) string { return "1" }); got != 0 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("an explicit GOMAXPROCS was overridden: %d, now %d", got, runtime.GOMAXPROCS(0))
	}
	if got := atLeastTwoProcs(func(string) string { return "" }); got != 2 || runtime.GOMAXPROCS(0) != 2 {
		t.Fatalf("one CPU: got %d, GOMAXPROCS %d; want 2", got, runtime.GOMAXPROCS(0))
	}
	runtime.GOMAXPROCS(4)
	if got := atLeastTwoProcs(func(string) string { return "" }); got != 0 || runtime.GOMAXPROCS(0) != 4 {
		t.Fatalf("four CPUs were changed: %d", runtime.GOMAXPROCS(0))
	}
}

func TestCollectLessOftenUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	if got := collectLessOften(func(string) string { return "50" }); got != 0 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("an explicit GOGC was overridden: %d", got)
	}
	if got := collectLessOften(func(string) string { return "" }); got != serverGCPercent {
		t.Fatalf("collectLessOften returned %d, want %d", got, serverGCPercent)
	}
	if now := debug.SetGCPercent(100); now != serverGCPercent {
		t.Fatalf("GOGC is %d, want %d", now, serverGCPercent)
	}
}
