// Package clients holds the job-side clients that are not Go (the Python
// client in clients/python) and embeds them, so that the server serves
// them pinned to its own version: the one file, and a wheel built from it
// (python.go). It sits here because go:embed cannot reach a parent folder.
package clients

import _ "embed"

// pythonSource is clients/python/labreview.py as committed, with
// __version__ = "0+dev".
//
//go:embed python/labreview.py
var pythonSource []byte

// pythonReadme is the wheel's long description.
//
//go:embed python/README.md
var pythonReadme []byte
