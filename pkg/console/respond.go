package console

import (
	"encoding/json"
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers {"error": msg}: msg is for a person to read.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, zap.Error(err))
	writeError(w, http.StatusInternalServerError, "Something went wrong on the server; it has been logged.")
}

// displayName returns a function that puts the uploaded file's name where
// a message names the file on the server: people know their file, and the
// server's folders are none of their business.
func (s *Server) displayName(run store.Run) func(string) string { return s.st.DisplayName(run) }

// constError is an error that can be a constant.
type constError string

func (e constError) Error() string { return string(e) }
