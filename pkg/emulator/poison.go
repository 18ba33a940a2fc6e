package emulator

import "fmt"

// Values of Config.PoisonAnswer: what the 400 for a request carrying a
// poison ID (Config.PoisonIDs) says. Gong's spec says only "Malformed
// request"; whether its message names the ID at fault is unknown, and a
// client must find the ID either way.
const (
	// PoisonNamesIDs gives one "Invalid crmProspectsIds: <id>" per poison
	// ID, in request order (the default).
	PoisonNamesIDs = "names-ids"
	// PoisonNamesNothing gives one message that names no ID, however many
	// poison IDs the request carries: the client learns only that the
	// request holds at least one.
	PoisonNamesNothing = "names-nothing"
)

// poisonVagueMessage is the one message of a PoisonNamesNothing refusal.
const poisonVagueMessage = "Invalid crmProspectsIds"

// normalizePoisonAnswer checks Config.PoisonAnswer and fills in its default.
func normalizePoisonAnswer(v string) (string, error) {
	switch v {
	case "":
		return PoisonNamesIDs, nil
	case PoisonNamesIDs, PoisonNamesNothing:
		return v, nil
	}
	return "", fmt.Errorf("PoisonAnswer %q: want %q or %q", v, PoisonNamesIDs, PoisonNamesNothing)
}

// poisoned returns the 400 messages for a request carrying ids, as
// Config.PoisonAnswer says, or nil if it carries no poison ID.
func (s *Server) poisoned(ids []string) []string {
	var msgs []string
	for _, id := range ids {
		if !s.cfg.PoisonIDs[id] {
			continue
		}
		if s.cfg.PoisonAnswer == PoisonNamesNothing {
			return []string{poisonVagueMessage}
		}
		msgs = append(msgs, "Invalid crmProspectsIds: "+id)
	}
	return msgs
}
