// Package inbox runs every spreadsheet dropped in a directory, one after
// another, for scheduled runs (`flowenroll run --inbox DIR`). The directory
// holds:
//
//	DIR/incoming/       new files of input.FileTypes: .csv, .txt, .tsv or .xlsx
//	                    (any case; Excel's "Unicode Text" export is a UTF-16
//	                    .txt), whatever their content. Write them under
//	                    another name (a dotfile or name.csv.part) and rename
//	                    them when complete. Other files are left there, with a
//	                    warning in the log.
//	DIR/claimed/        files taken by a run: being processed, or kept for the
//	                    next run (exit 4, or 1 for a cause outside the file)
//	DIR/results/<base>/ the --out of claimed/<base>.<ext>; once its run has
//	                    settled (exit 0 or 3) the input is moved to
//	                    results/<base>/input/<name>, where it cannot land on
//	                    a result file's name
//	DIR/rejected/       files that can never run as they are, each with
//	                    <name>.reason.txt saying why and what to do
//
// A file is claimed by renaming it from incoming/ to claimed/, under an
// exclusive flock on claimed/<base>.lock, held for as long as the file is
// being processed. The kernel drops a flock when its process dies, even by
// SIGKILL, so a crashed run leaves no stale lock, and the next run resumes
// its file. Two runs at once never take the same file, nor two files of the
// same base name (a.csv and a.xlsx would share results/a/).
//
// Files left in claimed/ by earlier runs go first, oldest first, then new
// ones from incoming/, oldest first (modification time, then name): a file
// stopped early (exit 4: a signal, the request cap, Gong's daily quota) is
// resumed from its ledger before anything new is started.
//
// What happens to a file, by its run's outcome:
//
//	0, 3      settled: the input is moved to results/<base>/input/
//	4         stopped early: it stays in claimed/ and is resumed first next time
//	rejected  the run's error is marked with Reject (unreadable, not CSV
//	          text or a workbook, no required columns): the file can never
//	          run as it is. It moves to rejected/ with <name>.reason.txt, and
//	          counts as exit 1 this once; rejected/ is never looked at again,
//	          so the next scheduled run does not fail for it. A fixed copy
//	          put in incoming/ under the same name runs under that name.
//	1         fatal for a cause outside the file (Gong answered 401, output
//	          not writable): it stays in claimed/, so that once the cause is
//	          fixed the next run resumes it from its ledger instead of
//	          sending its rows again.
//
// A run that returns an error with exit 0, or an exit code outside 0, 1, 3
// and 4 (2, usage, is checked before any file is taken), counts as 1.
//
// Every results/<base>/ holds the run's summary.json and result files, or a
// reason.txt saying why it does not (a fatal run that wrote no summary; a
// rejected file whose run had already written something there). A rejected
// file's results directory is removed when its run left it empty, which is
// what frees the name for the fixed copy.
//
// A name is never run twice into the same results directory: a new file
// whose base is taken, in claimed/ or results/, is claimed as <base>-2.<ext>,
// <base>-3.<ext>, and so on (CRM exports often have the same name every day).
//
// The exit code of the whole is the worst of its files, in the order
// 1 > 4 > 3 > 0. No new file is taken once ctx ends (SIGTERM), once a run's
// Outcome says Stop (Gong's quota or credentials: the next file would only
// meet them again), or once Config.MaxRequests is spent; if files are left
// the whole is at least 4, since the next run continues.
package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/input"
	oc "github.com/flowenroll/flowenroll/pkg/outcome"
	"go.uber.org/zap"
)

// Subdirectories of the inbox, and the names the inbox writes in a results
// directory.
const (
	IncomingDir = "incoming"
	ClaimedDir  = "claimed"
	ResultsDir  = "results"
	RejectedDir = "rejected"
	// InputDir is where, under results/<base>/, a settled input is kept.
	InputDir = "input"
	// NoteFile is results/<base>/reason.txt, and the suffix of a rejected
	// file's note: rejected/<name>.reason.txt.
	NoteFile = "reason.txt"
)

// File is one claimed file, as the inbox hands it to a FileFunc.
type File struct {
	// Name is the file's name in claimed/ (its name in incoming/, unless
	// that was taken; see the package comment).
	Name string
	// Input is the file's path, in claimed/.
	Input string
	// Out is its results directory, the run's --out.
	Out string
	// MaxRequests is what is left of Config.MaxRequests for this file (at
	// least 1); 0: no cap.
	MaxRequests int64
}

// Outcome is what a FileFunc reports of one file's run.
type Outcome struct {
	// ExitCode is the contract's exit code of the run.
	ExitCode int
	// Err is why the run failed, if it did. Wrapped with Reject, it says
	// the file itself can never run (see Reject).
	Err error
	// Requests is the number of requests the run sent, counted against
	// Config.MaxRequests.
	Requests int64
	// Stop: take no more files this run, because the next one would only
	// meet the same wall (Gong's daily quota, credentials refused). The
	// file is treated by its exit code as usual.
	Stop bool
}

// FileFunc runs one file, like `flowenroll run --input f.Input --out f.Out
// --max-requests f.MaxRequests`. ctx ending means SIGTERM: the run is
// expected to stop with exit 4.
type FileFunc func(ctx context.Context, f File) Outcome

// RunFunc is the older form of FileFunc, for Process.
type RunFunc func(ctx context.Context, input, out string) (exitCode int, err error)

// Config configures Run.
type Config struct {
	// Dir is the inbox.
	Dir string
	// Run runs one file.
	Run FileFunc
	// MaxRequests caps the requests of the whole call, shared by its files
	// as they share the pacer; 0: no cap. Once spent no file is taken.
	MaxRequests int64
	// Log gets a line per file and per decision; nil logs nothing.
	Log *zap.Logger
	// Now dates the reason notes; nil means time.Now.
	Now func() time.Time
}

// RejectedError marks the error of a file that can never run as it is. Make
// one with Reject; find one with errors.As.
type RejectedError struct {
	Err error
}

// Reject marks err, returned by a FileFunc in Outcome.Err, as saying that
// the file itself is at fault and no later run could do better with it:
// unreadable, not CSV text or a workbook, without the required columns. The
// inbox then moves it to rejected/ with a note giving err's message, which
// should be one a person understands. A nil err stays nil.
func Reject(err error) error {
	if err == nil {
		return nil
	}
	return &RejectedError{Err: err}
}

// Error is the message of the error marked.
func (e *RejectedError) Error() string { return e.Err.Error() }

// Unwrap returns the error marked.
func (e *RejectedError) Unwrap() error { return e.Err }

// FileResult is what became of one file.
type FileResult struct {
	// Name is the file's name in claimed/.
	Name string
	// Out is the results directory the file was run into.
	Out string
	// ExitCode is the run's, as ranked here: 0, 1, 3 or 4. With 0 or 3 the
	// input is now in Out/input/; with 4, or 1 and not Rejected, it is still
	// in claimed/.
	ExitCode int
	// Rejected: the file was rejected and is now in rejected/ (ExitCode 1).
	Rejected bool
}

// Result is what a Run or Process call did, in order.
type Result struct {
	Files    []FileResult
	ExitCode int
}

// Process runs the files of the inbox dir with run, as Run does with no
// request cap and no Stop. Errors run returns are never rejections unless
// wrapped with Reject.
func Process(ctx context.Context, dir string, run RunFunc, log *zap.Logger) (Result, error) {
	return Run(ctx, Config{Dir: dir, Log: log, Run: func(ctx context.Context, f File) Outcome {
		code, err := run(ctx, f.Input, f.Out)
		return Outcome{ExitCode: code, Err: err}
	}})
}

// Run runs the files of the inbox cfg.Dir one at a time, as the package
// comment describes, until none is left, ctx ends, a run says Stop or the
// request cap is spent. It creates the subdirectories (mode 0700) if they
// are missing. It returns an error, with exit code 1, only when the inbox
// itself cannot be used (a directory that cannot be created or listed); a
// failing file is in Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	ib := newInbox(cfg)
	res := Result{}
	for _, d := range []string{ib.incoming, ib.claimed, ib.results, ib.rejected} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return ib.fail(res, err)
		}
	}
	if err := ib.warnIgnored(); err != nil {
		return ib.fail(res, err)
	}

	// handled: files this call has run already. One kept in claimed/ (exit 4
	// or 1) is not taken again by the same call: a quota that ran out would
	// otherwise make it spin.
	handled := map[string]bool{}
	var spent int64
	stop := ""
	for {
		if stop == "" && ctx.Err() != nil {
			stop = "the run was told to stop"
		}
		if stop != "" {
			return ib.stopped(res, handled, stop)
		}
		c, err := ib.next(handled)
		if err != nil {
			return ib.fail(res, err)
		}
		if c == nil {
			break
		}
		handled[c.name] = true
		budget := int64(0)
		if cfg.MaxRequests > 0 {
			budget = max(cfg.MaxRequests-spent, 1)
		}
		fr, o := ib.runOne(ctx, c, budget)
		res.Files = append(res.Files, fr)
		res.ExitCode = worst(res.ExitCode, fr.ExitCode)
		spent += o.Requests
		switch {
		case o.Stop:
			stop = "the run of " + c.name + " said the next file would meet the same wall"
		case cfg.MaxRequests > 0 && spent >= cfg.MaxRequests:
			stop = "the request cap is spent (" + strconv.FormatInt(spent, 10) + " requests)"
		}
	}
	if len(res.Files) == 0 && res.ExitCode == oc.ExitOK {
		ib.log.Info("inbox: nothing to do", zap.String("incoming", ib.incoming))
	}
	return res, nil
}

type inbox struct {
	incoming, claimed, results, rejected string
	run                                  FileFunc
	log                                  *zap.Logger
	now                                  func() time.Time
}

func newInbox(cfg Config) inbox {
	ib := inbox{
		incoming: filepath.Join(cfg.Dir, IncomingDir),
		claimed:  filepath.Join(cfg.Dir, ClaimedDir),
		results:  filepath.Join(cfg.Dir, ResultsDir),
		rejected: filepath.Join(cfg.Dir, RejectedDir),
		run:      cfg.Run,
		log:      cfg.Log,
		now:      cfg.Now,
	}
	if ib.log == nil {
		ib.log = zap.NewNop()
	}
	if ib.now == nil {
		ib.now = time.Now
	}
	return ib
}

func (ib inbox) fail(res Result, err error) (Result, error) {
	res.ExitCode = oc.ExitFatal
	return res, fmt.Errorf("inbox: %w", err)
}

// stopped ends a call that takes no more files: if files are left, the
// whole is at least 4, since the next run continues.
func (ib inbox) stopped(res Result, handled map[string]bool, why string) (Result, error) {
	left, err := ib.anyLeft(handled)
	if err != nil {
		return ib.fail(res, err)
	}
	if left {
		ib.log.Warn("inbox: no more files this run; those left wait for the next", zap.String("reason", why))
		res.ExitCode = worst(res.ExitCode, oc.ExitStoppedEarly)
	}
	return res, nil
}

// claim is a file in claimed/ that this run holds the lock of.
type claim struct {
	name string
	lock *fsguard.Lock
}

func (ib inbox) out(name string) string {
	return filepath.Join(ib.results, baseName(name))
}

// next takes the next file: one left in claimed/ by an earlier run whose lock
// is free, else a new one from incoming/. nil: none is left.
func (ib inbox) next(handled map[string]bool) (*claim, error) {
	left, _, err := listInputs(ib.claimed)
	if err != nil {
		return nil, err
	}
	for _, name := range left {
		if handled[name] {
			continue
		}
		lock, err := tryLock(ib.lockPath(name))
		if err != nil {
			return nil, err
		}
		if lock == nil {
			continue // another run is processing it
		}
		// It may have settled and moved between the listing and the lock.
		if _, err := os.Lstat(filepath.Join(ib.claimed, name)); err != nil {
			ib.unlock(lock)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		ib.log.Info("inbox: resuming a file left by an earlier run", zap.String("file", name))
		return &claim{name: name, lock: lock}, nil
	}

	fresh, _, err := listInputs(ib.incoming)
	if err != nil {
		return nil, err
	}
	for _, name := range fresh {
		c, err := ib.claimNew(name)
		if err != nil {
			return nil, err
		}
		if c != nil {
			return c, nil
		}
	}
	return nil, nil
}

// claimNew moves incoming/name into claimed/ under a name whose base has no
// file in claimed/ and no results directory yet, holding that base's lock.
// nil: another run took the file, or is claiming or processing a file of
// the same base; it is tried again later.
func (ib inbox) claimNew(name string) (*claim, error) {
	base, ext := baseName(name), name[len(baseName(name)):]
	for n := 1; ; n++ {
		target := name
		if n > 1 {
			target = base + "-" + strconv.Itoa(n) + ext
		}
		lock, err := tryLock(ib.lockPath(target))
		if err != nil {
			return nil, err
		}
		if lock == nil {
			if n == 1 {
				return nil, nil
			}
			continue
		}
		taken, err := ib.taken(target)
		if err != nil {
			ib.unlock(lock)
			return nil, err
		}
		if taken {
			ib.unlock(lock)
			continue
		}
		// Within one filesystem a rename is atomic: of two runs renaming the
		// same file, one gets ENOENT.
		err = os.Rename(filepath.Join(ib.incoming, name), filepath.Join(ib.claimed, target))
		if errors.Is(err, fs.ErrNotExist) {
			ib.unlock(lock)
			return nil, nil
		}
		if err != nil {
			ib.unlock(lock)
			return nil, err
		}
		if target != name {
			ib.log.Info("inbox: claimed under a new name: the name was used before",
				zap.String("file", name), zap.String("claimed", target))
		} else {
			ib.log.Info("inbox: claimed", zap.String("file", name))
		}
		return &claim{name: target, lock: lock}, nil
	}
}

// taken: a file of name's base is in claimed/ (kept by an earlier run), or
// results/<base> exists. rejected/ does not count: a fixed copy of a
// rejected file takes its name.
func (ib inbox) taken(name string) (bool, error) {
	base := baseName(name)
	left, _, err := listInputs(ib.claimed)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(left, func(n string) bool { return baseName(n) == base }) {
		return true, nil
	}
	_, err = os.Lstat(ib.out(name))
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return false, nil
}

// anyLeft: a file this call has not run is waiting, in claimed/ or incoming/.
func (ib inbox) anyLeft(handled map[string]bool) (bool, error) {
	left, _, err := listInputs(ib.claimed)
	if err != nil {
		return false, err
	}
	for _, name := range left {
		if !handled[name] {
			return true, nil
		}
	}
	fresh, _, err := listInputs(ib.incoming)
	return len(fresh) > 0, err
}

// warnIgnored logs the files of incoming/ that are not taken, so that a
// person who dropped a .xls or a .pdf learns why nothing happens.
func (ib inbox) warnIgnored() error {
	_, ignored, err := listInputs(ib.incoming)
	if err != nil {
		return err
	}
	for _, name := range ignored {
		ib.log.Warn("inbox: not taken: only "+input.AcceptedNames()+" files are read; save it in one of those",
			zap.String("file", name))
	}
	return nil
}

// runOne runs a claimed file and puts it where its outcome says: its
// results directory, claimed/ or rejected/. The lock is released either way.
func (ib inbox) runOne(ctx context.Context, c *claim, budget int64) (FileResult, Outcome) {
	defer ib.unlock(c.lock)
	f := File{Name: c.name, Input: filepath.Join(ib.claimed, c.name), Out: ib.out(c.name), MaxRequests: budget}
	fr := FileResult{Name: c.name, Out: f.Out}
	log := ib.log.With(zap.String("file", c.name), zap.String("out", f.Out))

	o := ib.run(ctx, f)
	fr.ExitCode = normalise(o, log)
	if errors.As(o.Err, new(*RejectedError)) {
		fr.Rejected = ib.reject(f, o.Err, log)
		return fr, o
	}

	switch fr.ExitCode {
	case oc.ExitOK, oc.ExitSomeFailed:
		kept, err := ib.settle(f)
		if err != nil {
			// The next run resumes it: its ledger says every row is settled,
			// so that costs no request, and then it is moved.
			log.Error("inbox: the run settled but its input could not be moved; it stays in claimed/", zap.Error(err))
			fr.ExitCode = oc.ExitFatal
			return fr, o
		}
		log.Info("inbox: settled; input moved beside its results", zap.Int("exitCode", fr.ExitCode), zap.String("input", kept))
	case oc.ExitStoppedEarly:
		log.Warn("inbox: stopped early; the file stays in claimed/ and the next run resumes it first",
			zap.Int("exitCode", fr.ExitCode))
	default:
		log.Error("inbox: fatal; the file stays in claimed/ and the next run retries it from its ledger",
			zap.Int("exitCode", fr.ExitCode))
	}
	ib.account(f, fatalNote(c.name, fr.ExitCode, o.Err), log)
	return fr, o
}

// normalise ranks the run's exit code: an error with exit 0, or a code the
// contract does not give a run, counts as fatal, and so does a rejection.
func normalise(o Outcome, log *zap.Logger) int {
	code := o.ExitCode
	switch {
	case o.Err != nil && (code == oc.ExitOK || errors.As(o.Err, new(*RejectedError))):
		log.Error("inbox: the run failed", zap.Error(o.Err))
		return oc.ExitFatal
	case code != oc.ExitOK && code != oc.ExitFatal && code != oc.ExitSomeFailed && code != oc.ExitStoppedEarly:
		log.Error("inbox: the run returned an unexpected exit code; counted as fatal",
			zap.Int("exitCode", code), zap.Error(o.Err))
		return oc.ExitFatal
	case o.Err != nil:
		log.Error("inbox: the run failed", zap.Int("exitCode", code), zap.Error(o.Err))
	}
	return code
}

// settle moves the input to Out/input/, under its name or, should that be
// taken, a numbered one: it never lands on another file. It returns the new
// path.
func (ib inbox) settle(f File) (string, error) {
	dir := filepath.Join(f.Out, InputDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name, err := moveNoReplace(f.Input, dir, f.Name, "")
	return filepath.Join(dir, name), err
}

// reject moves a rejected file to rejected/ with its note, and leaves its
// results directory accounted for. false: it could not be moved and stays in
// claimed/, so the next run meets it again.
// lockFileOfOut is the lock a run takes in its --out (pkg/outdir's).
const lockFileOfOut = ".flowenroll.lock"

func (ib inbox) reject(f File, why error, log *zap.Logger) bool {
	note := NoteFile
	name, err := moveNoReplace(f.Input, ib.rejected, f.Name, "."+note)
	if err != nil {
		log.Error("inbox: the file cannot be run, but could not be moved to rejected/; it stays in claimed/", zap.Error(err))
		ib.account(f, fmt.Sprintf("%s cannot be run as it is.\n\nWhy: %s\n\n"+
			"It could not be moved to rejected/ (%v), so it stays in claimed/ and the\n"+
			"next run meets it again: fix it there, or remove it.\n", f.Name, why, err), log)
		return false
	}
	at := filepath.Join(ib.rejected, name)
	if err := writeNote(at+"."+note, rejectedNote(f.Name, name, why, ib.now())); err != nil {
		log.Error("inbox: writing the note of a rejected file", zap.Error(err))
	}
	log.Error("inbox: rejected: the file cannot be run as it is; it is in rejected/ with a note, and will not be tried again",
		zap.String("rejected", at))
	// An empty results directory is removed, so that a fixed copy under the
	// same name runs under that name; anything in it is explained. The
	// run's lock file, left by a run that read nothing, does not count.
	os.Remove(filepath.Join(f.Out, lockFileOfOut))
	if err := os.Remove(f.Out); err == nil || errors.Is(err, fs.ErrNotExist) {
		return true
	}
	ib.account(f, rejectedNote(f.Name, name, why, ib.now()), log)
	return true
}

// account keeps the promise that a results directory holds a summary.json
// or a reason.txt: it writes the note when the run wrote no summary, and
// removes an earlier note once a summary is there.
func (ib inbox) account(f File, note string, log *zap.Logger) {
	reason := filepath.Join(f.Out, NoteFile)
	_, err := os.Lstat(filepath.Join(f.Out, "summary.json"))
	switch {
	case err == nil:
		err = os.Remove(reason)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	case errors.Is(err, fs.ErrNotExist):
		if err = os.MkdirAll(f.Out, 0o700); err == nil {
			err = writeNote(reason, note)
		}
	}
	if err != nil {
		log.Error("inbox: accounting for the results directory", zap.Error(err))
	}
}

// fatalNote is the reason.txt of a run that wrote no summary.json.
func fatalNote(name string, code int, why error) string {
	cause := "see the job's log"
	if why != nil {
		cause = why.Error()
	}
	switch code {
	case oc.ExitOK, oc.ExitSomeFailed:
		return fmt.Sprintf("%s ran (exit %d) but its run wrote no summary.json.\n\nWhy: %s\n", name, code, cause)
	case oc.ExitStoppedEarly:
		return fmt.Sprintf("%s was stopped before it finished (exit 4).\n\nWhy: %s\n\n"+
			"It waits in claimed/; the next scheduled run continues it.\n", name, cause)
	}
	return fmt.Sprintf("%s could not be run to the end (exit 1).\n\nWhy: %s\n\n"+
		"It waits in claimed/; the next scheduled run tries it again and continues\n"+
		"where this one stopped, without sending again what was already sent.\n"+
		"Fix the cause above (credentials, disk space, Gong's address); nothing\n"+
		"needs to be done to the file.\n", name, cause)
}

// rejectedNote is the note of a rejected file, for the person who put it in
// the inbox.
func rejectedNote(name, rejectedAs string, why error, at time.Time) string {
	return fmt.Sprintf("%s was not run, and will not be tried again.\n\n"+
		"Why: %s\n\n"+
		"What to do: fix the file and put it in incoming/ again, under the same name\n"+
		"if you like. flowenroll reads CSV text (.csv, .txt, .tsv; Excel's \"CSV UTF-8\"\n"+
		"or \"Unicode Text\") and Excel workbooks (.xlsx), with a header row naming\n"+
		"crmProspectId, flowId (or flowName) and flowInstanceOwnerEmail.\n\n"+
		"The file is kept as rejected/%s (rejected %s).\n",
		name, why.Error(), rejectedAs, at.UTC().Format("2006-01-02 15:04 MST"))
}

// writeNote writes a note through a temporary file renamed into place, so
// that a reader never sees half of it.
func writeNote(path, text string) error { return fsguard.WriteBytes(path, []byte(text)) }

// moveNoReplace moves src into dir under name, or <base>-2<ext>, -3, ...
// when that is taken (and when a file of that name plus sidecar is, if
// sidecar is set), never over an existing file; it returns the name used.
// A hard link then an unlink is what makes "never over" atomic; where the
// file system has no hard links it checks, then renames.
func moveNoReplace(src, dir, name, sidecar string) (string, error) {
	base, ext := baseName(name), name[len(baseName(name)):]
	for n := 1; n <= 1000; n++ {
		cand := name
		if n > 1 {
			cand = base + "-" + strconv.Itoa(n) + ext
		}
		if sidecar != "" {
			if _, err := os.Lstat(filepath.Join(dir, cand+sidecar)); !errors.Is(err, fs.ErrNotExist) {
				if err != nil {
					return "", err
				}
				continue
			}
		}
		dst := filepath.Join(dir, cand)
		err := os.Link(src, dst)
		switch {
		case errors.Is(err, fs.ErrExist):
			continue
		case err == nil:
			if err := os.Remove(src); err != nil {
				os.Remove(dst)
				return "", err
			}
			return cand, nil
		case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EMLINK):
			if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
				if err != nil {
					return "", err
				}
				continue
			}
			return cand, os.Rename(src, dst)
		default:
			return "", err
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

// lockPath is the lock of name's base: a.csv and a.xlsx share results/a/.
func (ib inbox) lockPath(name string) string {
	return filepath.Join(ib.claimed, baseName(name)+".lock")
}

// tryLock takes the exclusive lock of path, creating the file. nil, nil: the
// lock is held by someone else. The lock file is removed on unlock, so a run
// that opened it just before may hold a lock on a file no longer at path:
// such a lock is dropped and taken again on the file that is there.
func tryLock(path string) (*fsguard.Lock, error) {
	for {
		lock, err := fsguard.TryLock(path)
		if errors.Is(err, fsguard.ErrHeld) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		held, err := lock.File().Stat()
		if err != nil {
			lock.Close()
			return nil, err
		}
		there, err := os.Lstat(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			lock.Close()
			return nil, err
		}
		if err != nil || !os.SameFile(held, there) {
			lock.Close()
			continue
		}
		// For a person looking: which process holds it.
		if err := lock.File().Truncate(0); err == nil {
			_, _ = lock.File().WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return lock, nil
	}
}

// unlock removes the lock file while still holding its lock, then releases
// it. (Windows may refuse to remove a file that is open: the file then
// stays, unlocked, and is taken again next time.)
func (ib inbox) unlock(lock *fsguard.Lock) {
	if err := os.Remove(lock.File().Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		ib.log.Warn("inbox: removing a lock file", zap.Error(err))
	}
	lock.Close()
}

// baseName is name without its extension, when the inbox accepts it
// (input.Accepted: the extensions of input.FileTypes, any case).
func baseName(name string) string {
	if ext := filepath.Ext(name); input.Accepted(ext) {
		return name[:len(name)-len(ext)]
	}
	return name
}

// inProgress: a name that upload tools and editors give a file while it is
// being written or held, not worth a warning.
func inProgress(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".part", ".partial", ".tmp", ".filepart", ".crdownload", ".download", ".lock":
		return true
	}
	return false
}

// listInputs returns the names of the regular files in dir the inbox takes,
// oldest first (modification time, then name), and of those it does not
// (not hidden, not being written), by name.
func listInputs(dir string) (inputs, ignored []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	type file struct {
		name  string
		mtime time.Time
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.Type().IsRegular() || inProgress(name):
			continue
		case !input.Accepted(filepath.Ext(name)):
			ignored = append(ignored, name)
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // taken by another run since ReadDir
		}
		if err != nil {
			return nil, nil, err
		}
		files = append(files, file{name, info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for _, f := range files {
		inputs = append(inputs, f.name)
	}
	return inputs, ignored, nil
}

// rank orders exit codes by badness: 1 > 4 > 3 > 0.
func rank(code int) int {
	switch code {
	case oc.ExitFatal:
		return 3
	case oc.ExitStoppedEarly:
		return 2
	case oc.ExitSomeFailed:
		return 1
	default:
		return 0
	}
}

func worst(a, b int) int {
	if rank(b) > rank(a) {
		return b
	}
	return a
}
