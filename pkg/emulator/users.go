package emulator

import (
	"net/http"
	"net/url"
	"strconv"
)

// listUsers answers GET /v2/users; the caller holds s.mu. It lists every
// fixture user, active or not, in fixture order, UserPageSize to a page,
// pages numbered from 0; records.cursor appears only when more pages
// remain. includeAvatars must be a boolean if given; the fixture has no
// avatars, so it changes nothing.
func (s *Server) listUsers(reqID string, q url.Values) answer {
	if v := q.Get("includeAvatars"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return errorAnswer(reqID, http.StatusBadRequest, "includeAvatars must be true or false, got "+strconv.Quote(v))
		}
	}
	users := s.cfg.Fixture.Users
	const fp = "users" // one listing: every cursor continues it
	offset := 0
	if c := q.Get("cursor"); c != "" {
		o, ok := parseCursor(c, fp)
		if !ok || o >= len(users) {
			return errorAnswer(reqID, http.StatusBadRequest, "invalid cursor")
		}
		offset = o
	}
	end := min(offset+s.cfg.UserPageSize, len(users))
	res := usersResponse{
		RequestID: reqID,
		Records: records{
			TotalRecords:      len(users),
			CurrentPageSize:   end - offset,
			CurrentPageNumber: offset / s.cfg.UserPageSize,
		},
		Users: make([]userMetadata, 0, end-offset),
	}
	if end < len(users) {
		res.Records.Cursor = makeCursor(end, fp)
	}
	for _, u := range users[offset:end] {
		aliases := u.EmailAliases
		if aliases == nil {
			aliases = []string{}
		}
		res.Users = append(res.Users, userMetadata{
			ID: u.ID, EmailAddress: u.Email, Created: u.Created, Active: !u.Inactive, EmailAliases: aliases,
			FirstName: u.FirstName, LastName: u.LastName, Title: u.Title,
		})
	}
	return answer{status: http.StatusOK, body: res}
}
