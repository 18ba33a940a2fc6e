// Package inbox runs every CSV dropped in a directory, one after another, for
// scheduled runs (`flowenroll run --inbox DIR`). The directory holds:
//
//	DIR/incoming/       new files; write them under another name (a dotfile or
//	                    name.csv.part) and rename them to *.csv when complete
//	DIR/claimed/        files taken by a run: being processed, or kept for the
//	                    next run (exit 4 or 1)
//	DIR/results/<base>/ the --out of claimed/<base>.csv; the input is moved in
//	                    once its run has settled (exit 0 or 3)
//
// A file is claimed by renaming it from incoming/ to claimed/, under an
// exclusive flock on claimed/<name>.lock, held for as long as the file is
// being processed. The kernel drops a flock when its process dies, even by
// SIGKILL, so a crashed run leaves no stale lock, and the next run resumes
// its file. Two runs at once never take the same file.
//
// Files left in claimed/ by earlier runs go first, oldest first, then new
// ones from incoming/, oldest first (modification time, then name): a file
// stopped early (exit 4: a signal, the request cap, Gong's daily quota) is
// resumed from its ledger before anything new is started.
//
// What happens to a file, by its run's exit code:
//
//	0, 3  settled: the input is moved to results/<base>/
//	4     stopped early: it stays in claimed/ and is resumed first next time
//	1     fatal (Gong answered 401, an unreadable or broken input, output not
//	      writable): it stays in claimed/ too, so that once the cause is fixed
//	      (credentials rotated, disk freed) the next run resumes it from its
//	      ledger instead of sending its rows again. A file that can never
//	      succeed must be fixed in place or removed from claimed/ by a person;
//	      until then every run retries it and ends with exit 1, which is the
//	      alert.
//
// A run that returns an error with exit 0, or an exit code outside 0, 1, 3
// and 4 (2, usage, is checked before any file is taken), counts as 1.
//
// A name is never run twice into the same results directory: a new file
// whose name is taken, in claimed/ or results/, is claimed as <base>-2.csv,
// <base>-3.csv, and so on (CRM exports often have the same name every day).
//
// The exit code of the whole is the worst of its files, in the order
// 1 > 4 > 3 > 0; when ctx ends (SIGTERM) no new file is taken, and if files
// are left it is at least 4, since the next run continues.
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

	"go.uber.org/zap"
)

// Subdirectories of the inbox.
const (
	IncomingDir = "incoming"
	ClaimedDir  = "claimed"
	ResultsDir  = "results"
)

// Exit codes of the contract, as the inbox ranks them.
const (
	exitOK           = 0
	exitFatal        = 1
	exitSomeFailed   = 3
	exitStoppedEarly = 4
)

// RunFunc runs one input file into the output directory out, like
// `flowenroll run --input input --out out`, and returns the contract's exit
// code. ctx ending means SIGTERM: the run is expected to stop with exit 4.
type RunFunc func(ctx context.Context, input, out string) (exitCode int, err error)

// FileResult is what became of one file.
type FileResult struct {
	// Name is the file's name in claimed/ (its name in incoming/, unless that
	// was taken; see the package comment).
	Name string
	// Out is the results directory the file was run into.
	Out string
	// ExitCode is the run's, as ranked here: 0, 1, 3 or 4. With 0 or 3 the
	// input is now in Out; with 1 or 4 it is still in claimed/.
	ExitCode int
}

// Result is what a Process call did, in order.
type Result struct {
	Files    []FileResult
	ExitCode int
}

// Process runs the files of the inbox dir one at a time, as the package
// comment describes, until none is left or ctx ends. It creates the
// subdirectories (mode 0700) if they are missing. It returns an error, with
// exit code 1, only when the inbox itself cannot be used (a directory that
// cannot be created or listed); a failing file is in Result.
func Process(ctx context.Context, dir string, run RunFunc, log *zap.Logger) (Result, error) {
	if log == nil {
		log = zap.NewNop()
	}
	ib := inbox{
		incoming: filepath.Join(dir, IncomingDir),
		claimed:  filepath.Join(dir, ClaimedDir),
		results:  filepath.Join(dir, ResultsDir),
		log:      log,
	}
	res := Result{}
	for _, d := range []string{ib.incoming, ib.claimed, ib.results} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			res.ExitCode = exitFatal
			return res, fmt.Errorf("inbox: %w", err)
		}
	}

	// handled: files this call has run already. One kept in claimed/ (exit 4
	// or 1) is not taken again by the same call: a quota that ran out would
	// otherwise make it spin.
	handled := map[string]bool{}
	for {
		if ctx.Err() != nil {
			left, err := ib.anyLeft(handled)
			if err != nil {
				return ib.fail(res, err)
			}
			if left {
				log.Info("inbox: stopping before the next file; it is left for the next run")
				res.ExitCode = worst(res.ExitCode, exitStoppedEarly)
			}
			break
		}
		c, err := ib.next(handled)
		if err != nil {
			return ib.fail(res, err)
		}
		if c == nil {
			break
		}
		handled[c.name] = true
		fr := ib.runOne(ctx, c, run)
		res.Files = append(res.Files, fr)
		res.ExitCode = worst(res.ExitCode, fr.ExitCode)
	}
	if len(res.Files) == 0 && res.ExitCode == exitOK {
		log.Info("inbox: nothing to do", zap.String("incoming", ib.incoming))
	}
	return res, nil
}

type inbox struct {
	incoming, claimed, results string
	log                        *zap.Logger
}

func (ib inbox) fail(res Result, err error) (Result, error) {
	res.ExitCode = exitFatal
	return res, fmt.Errorf("inbox: %w", err)
}

// claim is a file in claimed/ that this run holds the lock of.
type claim struct {
	name string
	lock *os.File
}

func (ib inbox) out(name string) string {
	return filepath.Join(ib.results, strings.TrimSuffix(name, ".csv"))
}

// next takes the next file: one left in claimed/ by an earlier run whose lock
// is free, else a new one from incoming/. nil: none is left.
func (ib inbox) next(handled map[string]bool) (*claim, error) {
	left, err := listCSV(ib.claimed)
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

	fresh, err := listCSV(ib.incoming)
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

// claimNew moves incoming/name into claimed/ under a name that has no file
// in claimed/ and no results directory yet, holding that name's lock. nil:
// another run took the file, or is claiming or processing a file of the same
// name; it is tried again later.
func (ib inbox) claimNew(name string) (*claim, error) {
	base := strings.TrimSuffix(name, ".csv")
	for n := 1; ; n++ {
		target := name
		if n > 1 {
			target = base + "-" + strconv.Itoa(n) + ".csv"
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

// taken: claimed/name exists (kept by an earlier run) or results/<base> does.
func (ib inbox) taken(name string) (bool, error) {
	for _, p := range []string{filepath.Join(ib.claimed, name), ib.out(name)} {
		_, err := os.Lstat(p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// anyLeft: a file this call has not run is waiting, in claimed/ or incoming/.
func (ib inbox) anyLeft(handled map[string]bool) (bool, error) {
	left, err := listCSV(ib.claimed)
	if err != nil {
		return false, err
	}
	for _, name := range left {
		if !handled[name] {
			return true, nil
		}
	}
	fresh, err := listCSV(ib.incoming)
	return len(fresh) > 0, err
}

// runOne runs a claimed file and settles it: moved to its results directory,
// or kept in claimed/. The lock is released either way.
func (ib inbox) runOne(ctx context.Context, c *claim, run RunFunc) FileResult {
	defer ib.unlock(c.lock)
	input := filepath.Join(ib.claimed, c.name)
	fr := FileResult{Name: c.name, Out: ib.out(c.name)}
	log := ib.log.With(zap.String("file", c.name), zap.String("out", fr.Out))

	code, err := run(ctx, input, fr.Out)
	switch {
	case err != nil && code == exitOK:
		log.Error("inbox: the run failed", zap.Error(err))
		code = exitFatal
	case code != exitOK && code != exitFatal && code != exitSomeFailed && code != exitStoppedEarly:
		log.Error("inbox: the run returned an unexpected exit code; counted as fatal",
			zap.Int("exitCode", code), zap.Error(err))
		code = exitFatal
	case err != nil:
		log.Error("inbox: the run failed", zap.Int("exitCode", code), zap.Error(err))
	}
	fr.ExitCode = code

	switch code {
	case exitOK, exitSomeFailed:
		if err := ib.settle(input, fr.Out, c.name); err != nil {
			// The next run resumes it: its ledger says every row is settled,
			// so that costs no request, and then it is moved.
			log.Error("inbox: the run settled but its input could not be moved; it stays in claimed/", zap.Error(err))
			fr.ExitCode = exitFatal
			return fr
		}
		log.Info("inbox: settled; input moved to its results", zap.Int("exitCode", code))
	case exitStoppedEarly:
		log.Warn("inbox: stopped early; the file stays in claimed/ and the next run resumes it first",
			zap.Int("exitCode", code))
	default:
		log.Error("inbox: fatal; the file stays in claimed/ and the next run retries it from its ledger",
			zap.Int("exitCode", code))
	}
	return fr
}

func (ib inbox) settle(input, out, name string) error {
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	return os.Rename(input, filepath.Join(out, name))
}

func (ib inbox) lockPath(name string) string {
	return filepath.Join(ib.claimed, name+".lock")
}

// tryLock takes the exclusive flock of path, creating the file. nil, nil: the
// lock is held by someone else. The lock file is removed on unlock, so a run
// that opened it just before may hold a lock on a file no longer at path:
// such a lock is dropped and taken again on the file that is there.
func tryLock(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, nil
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		there, err := os.Lstat(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			f.Close()
			return nil, err
		}
		if err != nil || !os.SameFile(held, there) {
			f.Close()
			continue
		}
		// For a person looking: which process holds it.
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return f, nil
	}
}

// unlock removes the lock file while still holding its lock, then releases it.
func (ib inbox) unlock(f *os.File) {
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		ib.log.Warn("inbox: removing a lock file", zap.Error(err))
	}
	f.Close() // closing the last descriptor releases the flock
}

// listCSV returns the names of the regular *.csv files in dir, not hidden
// ones, oldest first (modification time, then name).
func listCSV(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		name  string
		mtime time.Time
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || filepath.Ext(name) != ".csv" {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // taken by another run since ReadDir
		}
		if err != nil {
			return nil, err
		}
		files = append(files, file{name, info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names, nil
}

// rank orders exit codes by badness: 1 > 4 > 3 > 0.
func rank(code int) int {
	switch code {
	case exitFatal:
		return 3
	case exitStoppedEarly:
		return 2
	case exitSomeFailed:
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
