package console

import (
	"net/http"
	"strconv"
)

// rows pages through failed.csv: ?code=X&offset=N&limit=M.
// Route: GET /api/v1/runs/{id}/rows.
func (s *Server) rows(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	page, err := readRows(s.failedPath(run.ID), q.Get("code"), max(offset, 0), limit)
	if err != nil {
		s.internal(w, "cannot read failed.csv", err)
		return
	}
	name := s.displayName(run)
	for i := range page.Rows {
		page.Rows[i].Message = name(page.Rows[i].Message)
	}
	page.Fixes = map[string]string{}
	for code := range page.ByCode {
		if fix := fixFor(code); fix != "" {
			page.Fixes[code] = fix
		}
	}
	writeJSON(w, http.StatusOK, page)
}
