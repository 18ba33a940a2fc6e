package outcome

// Codes of undo-failed.csv: an instance undo did not remove.
const (
	// CodeNotUnassigned: Gong answered, and did not list the instance among
	// those it removed: it is still assigned (finished, or not removable).
	CodeNotUnassigned = "NotUnassigned"
	// CodeRequestRefused: Gong refused the request as a whole for good
	// (a 4xx other than 401, 403 and 429); nothing was removed.
	CodeRequestRefused = "RequestRefused"
)

// UndoExplanations says what each code of undo-failed.csv means and what
// to do about it; docs/what-to-do.md is generated from it.
func UndoExplanations() []Explained {
	return []Explained{
		{Kind: Failed, Code: CodeNotUnassigned, Meaning: "Gong answered and did not remove the instance: it has finished, or Gong does not let it be removed", Fix: "nothing, if it has finished; otherwise remove it in Gong by hand"},
		{Kind: Failed, Code: CodeRequestRefused, Meaning: "Gong refused the unassign request as a whole (a 4xx other than 401, 403, 429); nothing was removed", Fix: "read the message (often the --unassigned-by email is not a Gong user), correct it, and run undo again"},
	}
}
