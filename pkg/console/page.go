package console

import (
	"embed"
	"html/template"
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/input"
)

// webFiles holds the page: embed works only on a package-level variable,
// and this is the package's only one.
//
//go:embed web
var webFiles embed.FS

// pageData is what index.html shows before its script runs.
type pageData struct {
	User      string
	Banner    string
	MaxUpload string
	// Requests this console sent to Gong today (UTC) and the company's
	// daily quota: people see how much is left before they start a run.
	SentToday, DailyQuota int64
	// Accept is the file picker's list, input.FileTypes: the files the
	// server reads, and no other list to keep in step.
	Accept string
}

func parsePage() (*template.Template, error) {
	return template.ParseFS(webFiles, "web/index.html")
}

// page answers GET /.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := pageData{User: userOf(r.Context()), Banner: s.cfg.Banner, MaxUpload: megabytes(s.cfg.MaxUpload),
		SentToday: s.metrics.sentOn(s.cfg.Now()), DailyQuota: int64(s.cfg.DailyQuota), Accept: input.AcceptAttr()}
	if err := s.tmpl.Execute(w, data); err != nil {
		s.log.Warn("page not written")
	}
}
