package main

import (
	"embed"
	"io/fs"
)

// distFS holds the built web UI. frontend/dist is committed with a
// placeholder only; `make build` fills it before the binary is compiled.
//
//go:embed all:frontend/dist
var distFS embed.FS

// uiFS returns the built UI rooted at frontend/dist.
func uiFS() fs.FS {
	sub, err := fs.Sub(distFS, "frontend/dist")
	if err != nil {
		panic(err) // the path is a constant that go:embed already checked
	}
	return sub
}
