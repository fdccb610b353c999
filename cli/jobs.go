package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"labreview/db"
)

// The job-side commands: `labreview push` and `labreview log` talk to a
// labreview server over its API with an API token, from a cluster job.
// They read LABREVIEW_URL and LABREVIEW_TOKEN, retry network errors, 5xx
// and 429 with growing waits (writes are idempotent, so a retry never
// doubles anything), and stop at once with the server's message on any
// other 4xx.

// jobClient calls the labreview API for a job.
type jobClient struct {
	base     string
	token    string
	http     *http.Client
	retryFor time.Duration
	stderr   io.Writer
	version  string
	sleep    func(context.Context, time.Duration) error
}

// errClient is a request the server refused (4xx): retrying cannot help.
type errClient struct {
	status  int
	code    string
	message string
}

func (e *errClient) Error() string {
	return fmt.Sprintf("the server refused the request (%d %s): %s", e.status, e.code, e.message)
}

func newJobClient(a *app, retryFor time.Duration) (*jobClient, error) {
	base := strings.TrimRight(strings.TrimSpace(a.Getenv("LABREVIEW_URL")), "/")
	token := strings.TrimSpace(a.Getenv("LABREVIEW_TOKEN"))
	switch {
	case base == "":
		return nil, errors.New("LABREVIEW_URL is not set: export LABREVIEW_URL=https://labreview.example.org")
	case token == "":
		return nil, errors.New("LABREVIEW_TOKEN is not set: create an API token on the Tokens page and export LABREVIEW_TOKEN=lrt_…")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("LABREVIEW_URL %q is not an http(s) URL", base)
	}
	return &jobClient{base: base, token: token, http: &http.Client{Timeout: 60 * time.Second}, retryFor: retryFor,
		stderr: a.Stderr, sleep: sleepCtx, version: a.Build.Version}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do sends one request, retrying what may succeed later, and decodes a
// 2xx answer into out. It returns the final status.
func (c *jobClient) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	return c.retry(ctx, func() (int, time.Duration, error) { return c.once(ctx, method, path, body, out) })
}

// retry calls attempt until it succeeds, the server refuses (4xx), ctx
// ends or retryFor has passed, pausing with growing, jittered waits.
func (c *jobClient) retry(ctx context.Context, attemptOnce func() (int, time.Duration, error)) (int, error) {
	deadline := time.Now().Add(c.retryFor)
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := attemptOnce()
		var refused *errClient
		if err == nil || errors.As(err, &refused) || ctx.Err() != nil {
			return status, err
		}
		pause := wait/2 + rand.N(wait/2+1) // jitter: jobs of a sweep do not retry in step
		if retryAfter > pause {
			pause = retryAfter
		}
		if time.Now().Add(pause).After(deadline) {
			return status, fmt.Errorf("gave up after %d attempts in %s: %w", attempt, c.retryFor, err)
		}
		fmt.Fprintf(c.stderr, "labreview: %s; retrying in %s\n", err, pause.Round(100*time.Millisecond))
		if err := c.sleep(ctx, pause); err != nil {
			return status, err
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (c *jobClient) once(ctx context.Context, method, path string, body []byte, out any) (status int, retryAfter time.Duration, err error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "labreview-cli/"+c.version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

// send sends a prepared request once and reads its answer as once does.
func (c *jobClient) send(req *http.Request, out any) (status int, retryAfter time.Duration, err error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, 0, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, 0, fmt.Errorf("the server's answer is not the expected JSON: %w", err)
			}
		}
		return resp.StatusCode, 0, nil
	}
	var e struct{ Error, Message string }
	_ = json.Unmarshal(raw, &e)
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, retryAfter, fmt.Errorf("server answered %d %s", resp.StatusCode, e.Error)
	}
	return resp.StatusCode, 0, &errClient{status: resp.StatusCode, code: e.Error, message: e.Message}
}

// jobRun is the part of a run the commands print or use.
type jobRun struct {
	ID     string `json:"id"`
	Series []struct {
		Name     string `json:"name"`
		LastStep *int64 `json:"last_step"`
	} `json:"series"`
}

// pushFields are the fields a push may change on an existing run.
var pushFields = []string{"status", "metrics", "params", "tags", "notes"}

func newJobCommands(a *app) []*cobra.Command {
	var retryFor time.Duration
	push := &cobra.Command{
		Use:   "push [FILE|-]",
		Short: "Create or update a run from a JSON document (for cluster jobs)",
		Long: `push sends a run document to the labreview server named by LABREVIEW_URL, with
the API token in LABREVIEW_TOKEN: {"project", "external_id", "name", "status",
"host", "job_id", "params", "metrics", "tags", "notes"}. The first push of an
external id creates the run; later pushes update its status, metrics, params,
tags and notes. It prints the run's id. Network errors and 5xx answers are
retried; other refusals stop with the server's message.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := newJobClient(a, retryFor)
			if err != nil {
				return err
			}
			raw, err := readDocument(args, a.Stdin)
			if err != nil {
				return err
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(raw, &doc); err != nil {
				return fmt.Errorf("the run document is not a JSON object: %w", err)
			}
			var run jobRun
			status, err := client.do(cmd.Context(), "POST", "/api/runs", raw, &run)
			if err != nil {
				return err
			}
			if status == http.StatusOK { // the run existed: apply the document's changes
				patch := map[string]json.RawMessage{}
				for _, f := range pushFields {
					if v, ok := doc[f]; ok {
						patch[f] = v
					}
				}
				if len(patch) > 0 {
					body, _ := json.Marshal(patch)
					if _, err := client.do(cmd.Context(), "PATCH", "/api/runs/"+url.PathEscape(run.ID), body, &run); err != nil {
						return err
					}
				}
			}
			_, err = fmt.Fprintln(a.Stdout, run.ID)
			return err
		},
	}
	push.Flags().DurationVar(&retryFor, "retry-for", 2*time.Minute, "keep retrying network errors and 5xx answers this long")

	var runID string
	var step int64 = -1
	var logRetryFor time.Duration
	logCmd := &cobra.Command{
		Use:   "log --run ID name=value... [--step N]",
		Short: "Append series points to a run (for cluster jobs)",
		Long: `log appends one point to each named series of a run: labreview log --run ID
loss=0.25 acc=0.91 --step 1200. Values are numbers, or nan, inf, -inf. Without
--step each series continues after its last step (read from the server first;
give --step when several processes log to one series). Retries are safe: the
same step is sent again and replaces, never doubles, the point. Each point
carries the time it was logged, for the plots' time axis.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runID == "" {
				return errors.New("--run is required: the id `labreview push` printed")
			}
			values := map[string]float64{}
			for _, a := range args {
				name, v, ok := strings.Cut(a, "=")
				if !ok || name == "" {
					return fmt.Errorf("%q is not name=value", a)
				}
				f, err := parseLogValue(v)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				values[name] = f
			}
			client, err := newJobClient(a, logRetryFor)
			if err != nil {
				return err
			}
			path := "/api/runs/" + url.PathEscape(runID)
			steps := map[string]int64{}
			if step >= 0 {
				for name := range values {
					steps[name] = step
				}
			} else {
				var run jobRun
				if _, err := client.do(cmd.Context(), "GET", path, nil, &run); err != nil {
					return err
				}
				for name := range values {
					steps[name] = 0
					for _, s := range run.Series {
						if s.Name == name && s.LastStep != nil {
							steps[name] = *s.LastStep + 1
						}
					}
				}
			}
			// The time of logging, not of a retried send, is the points' time.
			at := float64(time.Now().UnixMilli()) / 1000
			batch := map[string][][3]any{}
			for name, v := range values {
				batch[name] = [][3]any{{steps[name], db.FloatValue(v), at}}
			}
			body, _ := json.Marshal(batch)
			_, err = client.do(cmd.Context(), "POST", path+"/series", body, nil)
			return err
		},
	}
	logCmd.Flags().StringVar(&runID, "run", "", "the run's id (as `labreview push` printed it)")
	logCmd.Flags().Int64Var(&step, "step", -1, "the step of the points (default: after each series' last step)")
	logCmd.Flags().DurationVar(&logRetryFor, "retry-for", 2*time.Minute, "keep retrying network errors and 5xx answers this long")
	return []*cobra.Command{push, logCmd}
}

func readDocument(args []string, stdin io.Reader) ([]byte, error) {
	if len(args) == 0 || args[0] == "-" {
		return io.ReadAll(io.LimitReader(stdin, 16<<20))
	}
	return os.ReadFile(args[0])
}

func parseLogValue(v string) (float64, error) {
	switch strings.ToLower(v) {
	case "nan":
		return math.NaN(), nil
	case "inf", "+inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}
