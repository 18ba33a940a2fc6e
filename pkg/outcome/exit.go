package outcome

// Exit codes of the contract, once for every command (run, plan, undo,
// verify, the inbox, the console's runs and the notices that word them).
const (
	// ExitOK: every row was assigned (undo: every instance removed).
	ExitOK = 0
	// ExitFatal: bad credentials or scope, Gong unreachable or a wrong base
	// URL, unreadable input, output not writable or held by another run, a
	// damaged ledger, an internal error.
	ExitFatal = 1
	// ExitUsage: a wrong flag or argument.
	ExitUsage = 2
	// ExitSomeFailed: finished, and some rows failed (see failed.csv).
	ExitSomeFailed = 3
	// ExitStoppedEarly: some rows are unprocessed (a signal, a request cap,
	// the quota, an incomplete listing); the same command continues.
	ExitStoppedEarly = 4
)
