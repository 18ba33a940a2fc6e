package console

import "net/http"

// static serves the page's script and style sheet, and nothing else.
// Route: GET /static/{name}.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctype := map[string]string{"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}[name]
	b, err := webFiles.ReadFile("web/" + name)
	if ctype == "" || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(b)
}

// favicon answers the browsers that ask /favicon.ico whatever the page
// says: the page's icon, not a 404 in every log.
// Route: GET /favicon.ico.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("name", "favicon.svg")
	s.static(w, r)
}
