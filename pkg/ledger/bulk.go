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
