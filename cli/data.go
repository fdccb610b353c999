package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"labreview/auth"
	"labreview/db"
	"labreview/db/sqlite"
	"labreview/runs"
)

// dataCommands are export, import and backup: moving and keeping the whole
// database (docs/operations.md).
func newDataCommands(a *app) []*cobra.Command {
	var force bool
	export := &cobra.Command{
		Use:   "export [FILE|-]",
		Short: "Write the whole database as JSON Lines (to standard output with - or no FILE)",
		Long: "Write every user (with password hash), signing key, session and audit event as JSON Lines, " +
			"in the versioned format of docs/operations.md. Works in both modes, beside a running server. " +
			"The file holds secrets: it is created readable by its owner only.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			_, database, _, err := a.openForCLI(c.Context())
			if err != nil {
				return err
			}
			defer database.Close(context.WithoutCancel(c.Context()))
			target := "-"
			if len(args) == 1 {
				target = args[0]
			}
			counts, err := exportTo(c.Context(), database, target, force, a.Stdout, a.Build.Version)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "exported %s\n", describeCounts(counts))
			return nil
		},
	}
	export.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")

	var merge bool
	var trust auth.ImportTrust
	imp := &cobra.Command{
		Use:   "import [FILE|-]",
		Short: "Read a JSON Lines export into the database (from standard input with - or no FILE)",
		Long: "Read an export made by `labreview export`. The whole file is checked first, every record with the rules " +
			"the API applies to the same data, so a truncated, damaged or non-conforming file changes nothing. A database " +
			"that holds data is refused unless --merge is given; with --merge, records whose id exists are kept as they " +
			"are, users whose email belongs to (or looks like) another account are reported and skipped, and records that " +
			"would let the file take over the database are left out and listed unless a flag names them: signing keys " +
			"and shared secrets (--with-signing-keys), sessions and API tokens of users already in the database " +
			"(--with-sessions), new admins (--with-admin EMAIL, once per admin). It prints what it added.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var in io.Reader = a.Stdin
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				in = f
			}
			_, database, _, err := a.openForCLI(c.Context())
			if err != nil {
				return err
			}
			defer database.Close(context.WithoutCancel(c.Context()))
			cfg, _, err := a.load()
			if err != nil {
				return err
			}
			runsCheck := runs.NewImportCheck(runsConfig(cfg))
			opts := db.ImportOptions{Merge: merge, Check: func(rec db.Record) error {
				if err := auth.CheckImported(rec); err != nil {
					return err
				}
				return runsCheck.Check(rec)
			}}
			if merge {
				opts.Admit = auth.NewImportGuard(database, trust).Admit
			} else if trust.SigningKeys || trust.Sessions || len(trust.Admins) > 0 {
				return errors.New("import: --with-signing-keys, --with-sessions and --with-admin only apply with --merge (an import into an empty database takes the whole file)")
			}
			report, err := db.ImportWith(c.Context(), database, in, opts)
			if errors.Is(err, db.ErrNotEmpty) {
				return errors.New("import: the database already holds data; add --merge to add the file's records to it (existing records are kept)")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "imported %s", describeCounts(report.Added))
			if len(report.Skipped) > 0 {
				fmt.Fprintf(a.Stdout, "; kept as they were (same id already present): %s", describeCounts(report.Skipped))
			}
			fmt.Fprintln(a.Stdout)
			for _, name := range report.AddedNames {
				fmt.Fprintf(a.Stdout, "added %s\n", name)
			}
			for _, c := range report.Conflicts {
				fmt.Fprintf(a.Stdout, "not imported: %s\n", c)
			}
			return nil
		},
	}
	imp.Flags().BoolVar(&merge, "merge", false, "add to a database that holds data (existing records win)")
	imp.Flags().BoolVar(&trust.SigningKeys, "with-signing-keys", false, "with --merge: also add the file's signing keys and shared secrets")
	imp.Flags().BoolVar(&trust.Sessions, "with-sessions", false, "with --merge: also add sessions and API tokens of users already in the database")
	imp.Flags().StringArrayVar(&trust.Admins, "with-admin", nil, "with --merge: also add this new admin (its email; repeat for each)")

	backup := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the embedded database while the server runs",
		Long: "Copy the embedded SQLite database to FILE with VACUUM INTO: one consistent snapshot, taken while the " +
			"server keeps serving, checked with integrity_check before it is renamed into place. " +
			"For a hosted MongoDB use mongodump (docs/operations.md).",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			_, database, _, err := a.openForCLI(c.Context())
			if err != nil {
				return err
			}
			defer database.Close(context.WithoutCancel(c.Context()))
			s, ok := database.(*sqlite.Store)
			if !ok {
				return errors.New("backup: the database is a hosted MongoDB (mongodb.uri); back it up with mongodump or your provider's snapshots (docs/operations.md)")
			}
			info, err := s.Backup(c.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.Stdout, "backup written to %s (%d bytes, integrity check ok)\n", info.Path, info.Bytes)
			if err == nil && info.FilesPath != "" {
				_, err = fmt.Fprintf(a.Stdout, "runs' files copied to %s (%d files, %d bytes); restore it as data_dir/artifacts\n",
					info.FilesPath, info.Blobs, info.BlobBytes)
			}
			if err == nil && info.Missing > 0 {
				_, err = fmt.Fprintf(a.Stdout, "%d files were deleted while the backup ran and are not in it\n", info.Missing)
			}
			return err
		},
	}
	return []*cobra.Command{export, imp, backup}
}

// exportTo writes an export to stdout ("-") or to a new file, which appears
// only once the export is complete.
func exportTo(ctx context.Context, database db.Store, target string, force bool, stdout io.Writer, version string) (map[db.RecordKind]int, error) {
	info := db.ExportInfo{Version: version}
	if target == "-" {
		return db.Export(ctx, database, stdout, info)
	}
	if _, err := os.Stat(target); err == nil && !force {
		return nil, fmt.Errorf("export: %s exists; choose another name or add --force", target)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	counts, err := db.Export(ctx, database, tmp, info)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return counts, nil
}

func describeCounts(counts map[db.RecordKind]int) string {
	var parts []string
	for _, k := range db.RecordKinds {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k.Noun()))
	}
	return strings.Join(parts, ", ")
}
