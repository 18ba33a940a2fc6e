package ledger

// BulkJob records a bulk assignment Gong answered with an id: its rows are
// settled by reading that id, never by sending them again.
type BulkJob struct {
	ID     string `json:"id"`
	FlowID string `json:"flowId"`
	Owner  string `json:"owner"`
	Lines  []int  `json:"lines"`
}

// BulkSubmitted journals the id of a bulk assignment the moment Gong
// answers it; its rows were journaled sent (Sent with Bulk) before.
func (l *Ledger) BulkSubmitted(j BulkJob) error { return l.append(entry{Bulk: &j}) }

// BulkForgotten journals that Gong knows no job by the id its rows were
// tied to (a 404 on its read): they stay in doubt, with no id, so that only
// --resend-in-doubt sends them again. It is a BulkJob with an empty id.
func (l *Ledger) BulkForgotten(flowID, owner string, lines []int) error {
	return l.append(entry{Bulk: &BulkJob{FlowID: flowID, Owner: owner, Lines: lines}})
}

// applyBulk ties the rows of a bulk job, still in doubt, to its id.
func (st *State) applyBulk(j *BulkJob) {
	for _, ln := range j.Lines {
		if _, ok := st.BulkDoubt[ln]; ok {
			st.BulkDoubt[ln] = j.ID
		}
	}
}

// sentBulk notes line ln, first sent by s, if s was a bulk request.
func (st *State) sentBulk(s *Sent, ln int) {
	if !s.Bulk {
		return
	}
	if st.BulkDoubt == nil {
		st.BulkDoubt = map[int]string{}
	}
	st.BulkDoubt[ln] = ""
}
