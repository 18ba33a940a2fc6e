package emulator

import (
	"fmt"
	"maps"
)

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

// normalizePoison copies Config.PoisonIDs (the caller may change its map)
// and checks Config.PoisonAnswer, filling in its default; it returns errs
// with what is wrong added.
func (cfg *Config) normalizePoison(errs []error) []error {
	cfg.PoisonIDs = maps.Clone(cfg.PoisonIDs)
	switch cfg.PoisonAnswer {
	case "":
		cfg.PoisonAnswer = PoisonNamesIDs
	case PoisonNamesIDs, PoisonNamesNothing:
	default:
		errs = append(errs, fmt.Errorf("PoisonAnswer %q: want %q or %q", cfg.PoisonAnswer, PoisonNamesIDs, PoisonNamesNothing))
	}
	return errs
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
