package console

import "net/http"

// me answers GET /api/v1/me.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user": userOf(r.Context()), "banner": s.cfg.Banner,
		"maxUploadBytes": s.cfg.MaxUpload, "maxRows": s.cfg.MaxRows,
		"sentToday": s.metrics.sentOn(s.cfg.Now()), "dailyQuota": s.cfg.DailyQuota,
	})
}
