// Package cli is labreview's command line: the root command, `serve` and
// the administrative and job commands, with the configuration they share.
// main only hands it the process's environment.
package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// Build describes the binary, as the linker stamped it into main.
type Build struct {
	Version, Commit, Date string
}

// Env is everything a command reads and writes: the process's own
// environment in main, a test's in tests.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// UI is the built web UI (the contents of frontend/dist).
	UI    fs.FS
	Build Build
}

// app is one invocation: its environment and the --config flag the
// commands share.
type app struct {
	Env
	configPath string
}

// load reads and validates the configuration named by --config.
func (a *app) load() (*Config, string, error) {
	cfg, file, err := loadConfig(a.configPath, a.Getenv)
	if err != nil {
		return nil, file, err
	}
	if err := cfg.validate(); err != nil {
		return nil, file, fmt.Errorf("config: %w", err)
	}
	return cfg, file, nil
}

// Main runs the program and returns the process's exit code: on an error,
// 1, after one line on stderr saying what is wrong.
func Main(ctx context.Context, env Env) int {
	if err := Run(ctx, env); err != nil {
		fmt.Fprintf(env.Stderr, "labreview: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	return 0
}

// Run is the whole program: it parses env.Args and runs the command they
// name (serve without one).
func Run(ctx context.Context, env Env) error {
	a := &app{Env: env}
	root := &cobra.Command{
		Use:           "labreview",
		Short:         "Review server for numeric calculation results",
		Long:          "labreview serves the review web UI and API. Without a subcommand it runs `serve`.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          a.runServe,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "",
		"configuration file (default: ./config.yaml, then /etc/labreview/config.yaml)")
	root.SetArgs(env.Args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetContext(ctx)
	root.AddCommand(
		newServeCommand(a),
		newVersionCommand(a),
		newConfigCommand(a),
		newHealthcheckCommand(a),
		newUserCommand(a),
		newKeysCommand(a),
	)
	root.AddCommand(newDataCommands(a)...)
	root.AddCommand(newJobCommands(a)...)
	root.AddCommand(newFileCommands(a)...)
	return root.Execute()
}

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(a.Stdout, "labreview %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\n",
				a.Build.Version, a.Build.Commit, a.Build.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

func newConfigCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := a.load()
			if err != nil {
				return err
			}
			out, err := cfg.redacted().toYAML()
			if err != nil {
				return err
			}
			source := file
			if source == "" {
				source = "built-in defaults"
			}
			_, err = fmt.Fprintf(a.Stdout, "# effective configuration (file: %s; LABREVIEW_* variables applied)\n%s", source, out)
			return err
		},
	}
}
