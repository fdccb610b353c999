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

// The job-side commands: `labreview push`, `labreview log` and `labreview
// sync` talk to a labreview server over its API with an API token, from a
// cluster job. They read LABREVIEW_URL and LABREVIEW_TOKEN, retry network
// errors, 5xx and 429 with growing waits (writes are idempotent, so a
// retry never doubles anything), and stop at once with the server's
// message on any other 4xx. What they send goes through a spool file
// first (spool.go), so a server that stays unreachable loses nothing.

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
	details []errDetail
}

// errDetail is one entry of an error's details: a field, or a bad point
// of a series batch (series and index; no index: the whole series).
type errDetail struct {
	Field   string  `json:"field"`
	Message string  `json:"message"`
	Series  *string `json:"series"`
	Index   *int    `json:"index"`
}

func (e *errClient) Error() string {
	return fmt.Sprintf("the server refused the request (%d %s): %s", e.status, e.code, e.message)
}

// errUnreachable: the server could not be reached, or kept failing, for
// the whole retry time.
type errUnreachable struct{ err error }

func (e *errUnreachable) Error() string { return e.err.Error() }
func (e *errUnreachable) Unwrap() error { return e.err }

func newJobClient(a *app, base string, retryFor time.Duration) (*jobClient, error) {
	if base == "" {
		base = a.Getenv("LABREVIEW_URL")
	}
	base = strings.TrimRight(strings.TrimSpace(base), "/")
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
	c := &jobClient{base: base, token: token, retryFor: retryFor, stderr: a.Stderr, sleep: sleepCtx, version: a.Build.Version}
	c.http = &http.Client{Timeout: 60 * time.Second, CheckRedirect: sameHostRedirects(u)}
	return c, nil
}

// sameHostRedirects follows redirects to the server's own scheme and host
// only: the token must never reach another host (Go drops the
// Authorization header on a redirect to another host anyway; refusing is
// clearer than failing with 401 there).
func sameHostRedirects(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) >= 5:
			return errors.New("stopped after 5 redirects")
		case req.URL.Host != base.Host || req.URL.Scheme != base.Scheme:
			return fmt.Errorf("the server redirected to %s://%s; the token is only sent to %s://%s (set LABREVIEW_URL to the address it redirects to)",
				req.URL.Scheme, req.URL.Host, base.Scheme, base.Host)
		}
		return nil
	}
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
// 2xx answer into out. It returns the final status. When retrying did not
// help for retryFor, the error is an *errUnreachable.
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
			return status, &errUnreachable{fmt.Errorf("gave up after %d attempts in %s: %w", attempt, c.retryFor, err)}
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
		var uerr *url.Error
		if errors.As(err, &uerr) && strings.Contains(uerr.Err.Error(), "the token is only sent to") {
			return 0, 0, &errClient{code: "redirect_refused", message: uerr.Err.Error()}
		}
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
	var e struct {
		Error, Message string
		Details        []errDetail
	}
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
	return resp.StatusCode, 0, &errClient{status: resp.StatusCode, code: e.Error, message: e.Message, details: e.Details}
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
var pushFields = []string{"status", "metrics", "params", "tags", "notes", "failure", "finished_at"}

// jobIDVars name the job in the batch systems labreview knows, first
// found first.
var jobIDVars = []string{"SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID", "FLUX_JOB_ID"}

func jobIDFromEnv(getenv func(string) string) string {
	for _, v := range jobIDVars {
		if id := getenv(v); id != "" {
			if task := getenv("SLURM_ARRAY_TASK_ID"); v == "SLURM_JOB_ID" && task != "" {
				return id + "_" + task
			}
			return id
		}
	}
	return ""
}

// deliveryFlags are the flags of the commands that send through a spool.
type deliveryFlags struct {
	retryFor   time.Duration
	spoolDir   string
	noSpool    bool
	bestEffort bool
}

func (f *deliveryFlags) register(cmd *cobra.Command, a *app) {
	cmd.Flags().DurationVar(&f.retryFor, "retry-for", 2*time.Minute, "keep retrying network errors and 5xx answers this long")
	cmd.Flags().StringVar(&f.spoolDir, "spool", defaultSpoolDir(a.Getenv),
		"keep what is sent in a spool file in this folder until the server has it (LABREVIEW_SPOOL)")
	cmd.Flags().BoolVar(&f.noSpool, "no-spool", false, "send without a spool file")
	cmd.Flags().BoolVar(&f.bestEffort, "best-effort", false,
		"exit 0 when the server stays unreachable after the retries (the spool keeps the data; `labreview sync` sends it later)")
}

// open starts a spool, or says why there is none (the job goes on).
func (f *deliveryFlags) open(a *app, h spoolHeader) *spoolFile {
	if f.noSpool || f.spoolDir == "" {
		return nil
	}
	sp, err := createSpool(f.spoolDir, h)
	if err != nil {
		fmt.Fprintf(a.Stderr, "labreview: no spool (%s): sending without one\n", err)
		return nil
	}
	return sp
}

// finish ends a delivery: the spool goes when everything was sent; when
// the server stayed unreachable the spool is kept and named, and
// --best-effort turns the failure into exit 0.
func (f *deliveryFlags) finish(a *app, sp *spoolFile, err error) error {
	kept := sp != nil && sp.finish()
	var unreachable *errUnreachable
	switch {
	case err == nil:
		return nil
	case kept:
		fmt.Fprintf(a.Stderr, "labreview: what was not sent is kept in %s; send it later with: labreview sync %s\n", sp.path, f.spoolDir)
	}
	if f.bestEffort && errors.As(err, &unreachable) {
		fmt.Fprintf(a.Stderr, "labreview: %s (--best-effort: exit 0)\n", err)
		return nil
	}
	return err
}

func newJobCommands(a *app) []*cobra.Command {
	return []*cobra.Command{newPushCommand(a), newLogCommand(a), newSyncCommand(a)}
}

func newPushCommand(a *app) *cobra.Command {
	var flags deliveryFlags
	push := &cobra.Command{
		Use:   "push [FILE|-]",
		Short: "Create or update a run from a JSON document (for cluster jobs)",
		Long: `push sends a run document to the labreview server named by LABREVIEW_URL, with
the API token in LABREVIEW_TOKEN: {"project", "external_id", "name", "status",
"host", "job_id", "params", "metrics", "tags", "notes", "failure"}. The first
push of an external id creates the run; later pushes update its status,
metrics, params, tags, notes and failure. host and job_id default to this
machine's name and the batch system's job id (SLURM_JOB_ID, PBS_JOBID,
LSB_JOBID, JOB_ID). It prints the run's id. Network errors and 5xx answers are
retried; other refusals stop with the server's message. The document goes
through a spool file first (--spool): when the server stays unreachable it
is kept there for ` + "`labreview sync`" + `.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := newJobClient(a, "", flags.retryFor)
			if err != nil {
				return err
			}
			raw, err := readDocument(args, a.Stdin)
			if err != nil {
				return err
			}
			doc, err := db.DecodeJSONObject(raw)
			if err != nil {
				return fmt.Errorf("the run document is not a JSON object: %w", err)
			}
			if _, ok := doc["host"]; !ok {
				if host, err := os.Hostname(); err == nil {
					doc["host"] = host
				}
			}
			if _, ok := doc["job_id"]; !ok {
				if id := jobIDFromEnv(a.Getenv); id != "" {
					doc["job_id"] = id
				}
			}
			create, err := db.AppendJSON(nil, doc)
			if err != nil {
				return err
			}
			patch := map[string]any{}
			for _, f := range pushFields {
				if v, ok := doc[f]; ok {
					patch[f] = v
				}
			}
			project, _ := doc["project"].(string)
			external, _ := doc["external_id"].(string)
			sp := flags.open(a, spoolHeader{URL: client.base, Project: project, ExternalID: external, Create: create,
				Writer: "labreview-cli " + a.Build.Version})
			var rec spoolRecord
			var patchBody []byte
			if len(patch) > 0 {
				patchBody, _ = db.AppendJSON(nil, patch)
				if sp != nil {
					if rec, err = sp.add(opPatch, patchBody); err != nil {
						return err
					}
				}
			}
			var run jobRun
			status, err := client.do(cmd.Context(), "POST", "/api/runs", create, &run)
			if err == nil && status == http.StatusOK && patchBody != nil { // the run existed: apply the document's changes
				_, err = client.do(cmd.Context(), "PATCH", "/api/runs/"+url.PathEscape(run.ID), patchBody, &run)
			}
			if err == nil && sp != nil {
				if err = sp.created(run.ID); err == nil && rec.Seq > 0 {
					err = sp.ack(rec.Seq)
				}
			}
			if err := flags.finish(a, sp, err); err != nil || run.ID == "" {
				return err
			}
			_, err = fmt.Fprintln(a.Stdout, run.ID)
			return err
		},
	}
	flags.register(push, a)
	return push
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
	case "inf", "+inf", "infinity", "+infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is beyond the range of a 64-bit float", v)
		}
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}
