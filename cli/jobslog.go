package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"labreview/db"
)

// Batches of `labreview log` from standard input: at most logBatchPoints
// points a request (the server takes 100,000), sent at least every
// logBatchEvery while input trickles in.
const (
	logBatchPoints = 20_000
	logBatchEvery  = 2 * time.Second
)

// point is one point read: its series, step, value and wall time.
type point struct {
	series string
	step   int64
	value  float64
	time   float64
}

// batchBody is a series batch as the API takes it.
func batchBody(points []point) []byte {
	bySeries := map[string][][3]any{}
	for _, p := range points {
		bySeries[p.series] = append(bySeries[p.series], [3]any{p.step, db.FloatValue(p.value), p.time})
	}
	body, _ := json.Marshal(bySeries) // numbers, NaN as text: always marshals
	return body
}

func newLogCommand(a *app) *cobra.Command {
	var flags deliveryFlags
	var runID, series string
	var step int64 = -1
	logCmd := &cobra.Command{
		Use:   "log --run ID [name=value... [--step N] | < points]",
		Short: "Append series points to a run (for cluster jobs)",
		Long: `log appends points to the series of a run.

With name=value arguments it appends one point to each named series:
labreview log --run ID loss=0.25 acc=0.91 --step 1200. Without --step each
series continues after its last step (read from the server first, which
needs the runs:read scope; give --step when several processes log to one
series).

Without arguments (or with -) it reads points from standard input, one a
line, and sends them in batches of up to 20,000 points (at least every 2 s
while input trickles in):
  step value [time]          with --series NAME: e.g. "1200 0.25" or "1200 0.25 1700000000.5"
  {"step": 1200, "loss": 0.25, "acc": 0.91, "time": 1700000000.5}   JSON Lines: any series
Blank lines and lines starting with # are skipped; a line that is neither
stops the command, naming it, after the lines before it are sent.

Values are numbers, or nan, inf, -inf. time is Unix seconds; a point
without one carries the time its line was read (the plots' time axis).
Retries are safe: a step sent again replaces, never doubles, its point.
Each batch goes through a spool file first (--spool); when the server stays
unreachable the rest is kept there for ` + "`labreview sync`" + ` and, with --best-effort,
the command exits 0.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runID == "" {
				return errors.New("--run is required: the id `labreview push` printed")
			}
			client, err := newJobClient(a, "", flags.retryFor)
			if err != nil {
				return err
			}
			if len(args) == 0 || (len(args) == 1 && args[0] == "-") {
				if step >= 0 {
					return errors.New("--step is for name=value arguments; lines read from standard input carry their steps")
				}
				return logStdin(cmd.Context(), a, client, &flags, runID, series)
			}
			if series != "" {
				return errors.New("--series is for points read from standard input; arguments are name=value")
			}
			return logArgs(cmd.Context(), a, client, &flags, runID, args, step)
		},
	}
	logCmd.Flags().StringVar(&runID, "run", "", "the run's id (as `labreview push` printed it)")
	logCmd.Flags().Int64Var(&step, "step", -1, "the step of the points (default: after each series' last step)")
	logCmd.Flags().StringVar(&series, "series", "", "the series of `step value [time]` lines read from standard input")
	flags.register(logCmd, a)
	return logCmd
}

// logArgs appends one point per name=value argument.
func logArgs(ctx context.Context, a *app, client *jobClient, flags *deliveryFlags, runID string, args []string, step int64) error {
	values := map[string]float64{}
	for _, arg := range args {
		name, v, ok := strings.Cut(arg, "=")
		if !ok || name == "" {
			return fmt.Errorf("%q is not name=value", arg)
		}
		f, err := parseLogValue(v)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		values[name] = f
	}
	path := "/api/runs/" + url.PathEscape(runID)
	steps := map[string]int64{}
	if step >= 0 {
		for name := range values {
			steps[name] = step
		}
	} else {
		var run jobRun
		if _, err := client.do(ctx, "GET", path, nil, &run); err != nil {
			var refused *errClient
			if errors.As(err, &refused) && refused.code == "insufficient_scope" {
				return fmt.Errorf("%w (without --step, log reads the run's last steps, which needs the runs:read scope: give --step, or use a token with runs:read)", err)
			}
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
	var points []point
	for name, v := range values {
		points = append(points, point{name, steps[name], v, at})
	}
	sp := flags.open(a, spoolHeader{URL: client.base, RunID: runID, Writer: "labreview-cli " + a.Build.Version})
	err := deliver(ctx, a, client, sp, runID, opPoints, batchBody(points))
	return flags.finish(a, sp, err)
}

// deliver spools a record, sends it and acknowledges it.
func deliver(ctx context.Context, a *app, client *jobClient, sp *spoolFile, runID, op string, body []byte) error {
	rec := spoolRecord{Op: op, Body: body}
	if sp != nil {
		var err error
		if rec, err = sp.add(op, body); err != nil {
			return err
		}
	}
	if err := sendRecord(ctx, client, a.Stderr, runID, rec); err != nil {
		return err
	}
	if sp != nil {
		return sp.ack(rec.Seq)
	}
	return nil
}

// sendRecord sends one spool record to the run. A series batch the
// server refuses for bad points is sent again without them (they are
// reported on w): a bad point never holds back the good ones.
func sendRecord(ctx context.Context, client *jobClient, w io.Writer, runID string, rec spoolRecord) error {
	path := "/api/runs/" + url.PathEscape(runID)
	if rec.Op == opPatch {
		_, err := client.do(ctx, "PATCH", path, rec.Body, nil)
		return err
	}
	body := []byte(rec.Body)
	for range 3 {
		_, err := client.do(ctx, "POST", path+"/series", body, nil)
		var refused *errClient
		if !errors.As(err, &refused) || refused.status != http.StatusBadRequest || len(refused.details) == 0 || refused.details[0].Series == nil {
			return err
		}
		kept, dropped, err2 := dropPoints(body, refused.details)
		if err2 != nil {
			return err
		}
		fmt.Fprintf(w, "labreview: the server refused %s; sending the other points without them\n", dropped)
		if kept == nil {
			return nil
		}
		body = kept
	}
	return errors.New("the server kept refusing points of a batch")
}

// dropPoints removes the points an error names from a batch body (nil:
// nothing left) and describes them.
func dropPoints(body []byte, details []errDetail) ([]byte, string, error) {
	var batch map[string][]json.RawMessage
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, "", err
	}
	drop := map[string]map[int]bool{}
	var said []string
	for _, d := range details {
		if d.Series == nil {
			continue
		}
		name := *d.Series
		if drop[name] == nil {
			drop[name] = map[int]bool{}
		}
		if d.Index == nil {
			delete(batch, name)
			said = append(said, fmt.Sprintf("series %q (%s)", name, d.Message))
			continue
		}
		drop[name][*d.Index] = true
		said = append(said, fmt.Sprintf("%s point %d (%s)", name, *d.Index, d.Message))
	}
	for name, pts := range batch {
		kept := pts[:0]
		for i, p := range pts {
			if !drop[name][i] {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(batch, name)
		} else {
			batch[name] = kept
		}
	}
	if len(batch) == 0 {
		return nil, strings.Join(said, "; "), nil
	}
	out, err := json.Marshal(batch)
	return out, strings.Join(said, "; "), err
}

// logStdin reads points from standard input and sends them in batches.
func logStdin(ctx context.Context, a *app, client *jobClient, flags *deliveryFlags, runID, series string) error {
	sp := flags.open(a, spoolHeader{URL: client.base, RunID: runID, Writer: "labreview-cli " + a.Build.Version})
	lines := make(chan []point, 16)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readPoints(a.Stdin, series, lines)
		close(lines)
	}()
	var batch []point
	var sendErr error
	sent, spooled := 0, 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		body := batchBody(batch)
		switch {
		case sendErr != nil && sp != nil: // offline: keep the rest in the spool
			if _, err := sp.add(opPoints, body); err != nil {
				sendErr = err
			}
			spooled += len(batch)
		case sendErr == nil:
			if sendErr = deliver(ctx, a, client, sp, runID, opPoints, body); sendErr == nil {
				sent += len(batch)
			} else {
				spooled += len(batch)
			}
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(logBatchEvery)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case pts, ok := <-lines:
			if !ok {
				done = true
				break
			}
			batch = append(batch, pts...)
			if len(batch) >= logBatchPoints {
				flush()
			}
		case <-tick.C:
			flush()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush()
	err := <-readErr
	if sendErr != nil {
		var refused *errClient
		if errors.As(sendErr, &refused) || sp == nil {
			err = sendErr
		} else {
			err = fmt.Errorf("%w (%d points sent, %d kept in the spool)", sendErr, sent, spooled)
		}
	}
	return flags.finish(a, sp, err)
}

// readPoints parses lines into points and hands them on in groups.
func readPoints(r io.Reader, series string, out chan<- []point) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var group []point
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		now := float64(time.Now().UnixMilli()) / 1000
		var err error
		if strings.HasPrefix(line, "{") {
			group, err = appendJSONLine(group, line, now)
		} else {
			group, err = appendTextLine(group, line, series, now)
		}
		if err != nil {
			if len(group) > 0 {
				out <- group
			}
			return fmt.Errorf("standard input, line %d: %w", n, err)
		}
		if len(group) >= 1000 {
			out <- group
			group = nil
		}
	}
	if len(group) > 0 {
		out <- group
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return nil
}

func appendTextLine(group []point, line, series string, now float64) ([]point, error) {
	if series == "" {
		return group, errors.New(`a "step value [time]" line needs --series NAME (or write JSON Lines: {"step": 1, "loss": 0.5})`)
	}
	f := strings.Fields(line)
	if len(f) < 2 || len(f) > 3 {
		return group, fmt.Errorf("%q is not \"step value [time]\"", truncateText(line, 60))
	}
	p := point{series: series, time: now}
	var err error
	if p.step, err = parseStep(f[0]); err != nil {
		return group, err
	}
	if p.value, err = parseLogValue(f[1]); err != nil {
		return group, err
	}
	if len(f) == 3 {
		if p.time, err = parseTime(f[2]); err != nil {
			return group, err
		}
	}
	return append(group, p), nil
}

func appendJSONLine(group []point, line string, now float64) ([]point, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		return group, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := obj["step"]
	if !ok {
		return group, errors.New(`a JSON line needs "step": {"step": 1, "loss": 0.5}`)
	}
	step, err := parseStep(string(raw))
	if err != nil {
		return group, err
	}
	at := now
	if raw, ok := obj["time"]; ok && string(raw) != "null" {
		if at, err = parseTime(string(raw)); err != nil {
			return group, err
		}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		if k != "step" && k != "time" {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return group, errors.New(`a JSON line holds at least one series: {"step": 1, "loss": 0.5}`)
	}
	sort.Strings(names)
	for _, name := range names {
		var v db.Float
		if err := v.UnmarshalJSON(obj[name]); err != nil {
			return group, fmt.Errorf("%s: %w", name, err)
		}
		group = append(group, point{series: name, step: step, value: float64(v), time: at})
	}
	return group, nil
}

func parseStep(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<53-1 {
		return 0, fmt.Errorf("the step %s is not a whole number from 0 to 2^53 − 1", truncateText(s, 30))
	}
	return n, nil
}

func parseTime(s string) (float64, error) {
	t, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(t) || t < 0 || t > 253402300799 {
		return 0, fmt.Errorf("the time %s is not Unix seconds from 0 to the year 9999", truncateText(s, 30))
	}
	return t, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newSyncCommand(a *app) *cobra.Command {
	var retryFor time.Duration
	var base string
	var bestEffort bool
	cmd := &cobra.Command{
		Use:   "sync [DIR]",
		Short: "Send what jobs left in a spool folder (for cluster jobs)",
		Long: `sync sends the spool files in DIR (default: LABREVIEW_SPOOL, else
~/.labreview/spool) that jobs left when the server was unreachable: each
file's records not yet acknowledged, in order, to the server named in the
file (or --url), with LABREVIEW_TOKEN. Every write is idempotent, so
running sync twice, or on a file whose job sent part of it, adds nothing
twice. A file is removed once everything in it reached the server; files
of jobs still running are skipped. The Python client's spools are the
same format (python -m labreview sync DIR does the same).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := defaultSpoolDir(a.Getenv)
			if len(args) == 1 {
				dir = args[0]
			}
			files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
			if err != nil {
				return err
			}
			sort.Strings(files)
			var failed []string
			allUnreachable := true
			for _, path := range files {
				msg, err := syncFile(cmd.Context(), a, path, base, retryFor)
				var u *errUnreachable
				switch {
				case errors.As(err, &u):
					failed = append(failed, path)
					fmt.Fprintf(a.Stderr, "labreview: %s: %s; kept\n", path, err)
				case err != nil:
					allUnreachable = false
					failed = append(failed, path)
					fmt.Fprintf(a.Stderr, "labreview: %s: %s; kept\n", path, err)
				case msg != "":
					fmt.Fprintf(a.Stdout, "%s: %s\n", path, msg)
				}
			}
			switch {
			case len(failed) == 0:
				if len(files) == 0 {
					fmt.Fprintf(a.Stdout, "nothing to send in %s\n", dir)
				}
				return nil
			case bestEffort && allUnreachable:
				fmt.Fprintf(a.Stderr, "labreview: the server is unreachable; %d spool files kept (--best-effort: exit 0)\n", len(failed))
				return nil
			}
			return fmt.Errorf("%d of %d spool files were not sent (they are kept; run sync again)", len(failed), len(files))
		},
	}
	cmd.Flags().DurationVar(&retryFor, "retry-for", 2*time.Minute, "keep retrying network errors and 5xx answers this long")
	cmd.Flags().StringVar(&base, "url", "", "send to this server instead of the one each file names")
	cmd.Flags().BoolVar(&bestEffort, "best-effort", false, "exit 0 when the server is unreachable (the files are kept)")
	return cmd
}

// syncFile sends one spool file's pending records and removes it when
// they all arrived.
func syncFile(ctx context.Context, a *app, path, base string, retryFor time.Duration) (string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	unlock, err := lockFile(f, false)
	if errors.Is(err, errLocked) {
		return "skipped: " + err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	defer unlock()
	h, records, err := readSpool(path)
	if err != nil {
		return "", err
	}
	if base == "" {
		base = h.URL
	}
	client, err := newJobClient(a, base, retryFor)
	if err != nil {
		return "", err
	}
	sp := &spoolFile{path: path, f: f, unlock: func() {}, runID: h.RunID}
	if len(records) > 0 {
		sp.seq, sp.acked = records[len(records)-1].Seq, records[0].Seq-1
	}
	if h.RunID == "" {
		if len(h.Create) == 0 {
			return "", errors.New("the file names no run")
		}
		var run jobRun
		if _, err := client.do(ctx, "POST", "/api/runs", h.Create, &run); err != nil {
			return "", err
		}
		if err := sp.created(run.ID); err != nil {
			return "", err
		}
	}
	points := 0
	for _, r := range records {
		if err := sendRecord(ctx, client, a.Stderr, sp.runID, r); err != nil {
			return "", err
		}
		if err := sp.ack(r.Seq); err != nil {
			return "", err
		}
		if r.Op == opPoints {
			var batch map[string][]json.RawMessage
			_ = json.Unmarshal(r.Body, &batch)
			for _, p := range batch {
				points += len(p)
			}
		}
	}
	if err := os.Remove(path); err != nil {
		return "", err
	}
	return fmt.Sprintf("sent %d records (%d points) to run %s of %s; removed", len(records), points, sp.runID, client.base), nil
}
