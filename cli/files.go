package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newFileCommands is `labreview file put`: a job uploads a file to a run.
func newFileCommands(a *app) []*cobra.Command {
	file := &cobra.Command{
		Use:   "file",
		Short: "Files of runs (plots, logs, weights) from cluster jobs",
	}
	var runID, as string
	var retryFor time.Duration
	put := &cobra.Command{
		Use:   "put --run ID FILE [--as PATH]",
		Short: "Upload a file to a run",
		Long: `put uploads FILE to the run (LABREVIEW_URL, LABREVIEW_TOKEN) under PATH (default:
the file's name; a/b/c.png puts it in folders). A file already there is
replaced. The upload is streamed from disk; network errors and 5xx answers are
retried (the same upload again leaves the same file). It prints the file's
download URL.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runID == "" {
				return errors.New("--run is required: the id `labreview push` printed")
			}
			name := as
			if name == "" {
				name = filepath.Base(args[0])
			}
			client, err := newJobClient(a, "", retryFor)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := f.Stat()
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file", args[0])
			}
			parts := strings.Split(strings.Trim(filepath.ToSlash(name), "/"), "/")
			for i, p := range parts {
				parts[i] = url.PathEscape(p)
			}
			path := "/api/runs/" + url.PathEscape(runID) + "/files/" + strings.Join(parts, "/")
			var out struct {
				URL string `json:"url"`
			}
			_, err = client.retry(cmd.Context(), func() (int, time.Duration, error) {
				if _, err := f.Seek(0, 0); err != nil {
					return 0, 0, err
				}
				req, err := http.NewRequestWithContext(cmd.Context(), "PUT", client.base+path, f)
				if err != nil {
					return 0, 0, err
				}
				req.ContentLength = info.Size()
				req.GetBody = nil
				req.Header.Set("Authorization", "Bearer "+client.token)
				req.Header.Set("User-Agent", "labreview-cli/"+client.version)
				req.Header.Set("Content-Type", "application/octet-stream")
				return client.send(req, &out)
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.Stdout, client.base+out.URL)
			return err
		},
	}
	put.Flags().StringVar(&runID, "run", "", "the run's id (as `labreview push` printed it)")
	put.Flags().StringVar(&as, "as", "", "the file's path in the run (default: its name)")
	put.Flags().DurationVar(&retryFor, "retry-for", 10*time.Minute, "keep retrying network errors and 5xx answers this long")
	file.AddCommand(put)
	return []*cobra.Command{file}
}
