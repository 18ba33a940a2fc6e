package emulator

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxRecentFlows caps mostRecentlyAssigned, per the spec.
const maxRecentFlows = 20

// listFlows answers GET /v2/flows; the caller holds s.mu. It lists the
// company flows, the owner's personal flows and the flows shared by or with
// the owner, in fixture order, optionally narrowed by workspaceId and
// folderId, or with mostRecentlyAssigned=true the (at most 20) flows the
// owner most recently assigned prospects to, newest first. Pages hold
// PageSize flows and are numbered from 0; records.cursor appears only when
// more pages remain and is valid only with the same other parameters. An
// owner who is no Gong user is a 400 (Gong's answer is unknown), or, with
// Modes.NonUserListsFlows, sees the Company flows. With Modes.RepeatCursor
// every request gets the first page and a cursor.
func (s *Server) listFlows(reqID string, q url.Values) answer {
	owner := q.Get("flowOwnerEmail")
	if owner == "" {
		return errorAnswer(reqID, http.StatusBadRequest, "flowOwnerEmail is required")
	}
	user, ok := s.users[strings.ToLower(owner)]
	if !ok && !s.cfg.NonUserListsFlows {
		return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("%s is not a Gong user", owner))
	}
	if !ok {
		// Nobody owns, shares or is shared a flow with them; they have
		// assigned nothing.
		user = User{Email: owner}
	}
	recent := false
	if v := q.Get("mostRecentlyAssigned"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("mostRecentlyAssigned must be true or false, got %q", v))
		}
		recent = b
	}
	workspace, folder := q.Get("workspaceId"), q.Get("folderId")
	keep := func(f FlowDef) bool {
		return visibleTo(f, user.Email) &&
			(workspace == "" || f.WorkspaceID == workspace) &&
			(folder == "" || f.FolderID == folder)
	}

	var flows []FlowDef
	if recent {
		seen := map[string]bool{}
		for i := len(s.instances) - 1; i >= 0 && len(flows) < maxRecentFlows; i-- {
			in := s.instances[i]
			f, ok := s.flows[in.FlowID]
			if ok && !seen[f.ID] && strings.EqualFold(in.FlowInstanceOwnerEmail, user.Email) && keep(f) {
				seen[f.ID] = true
				flows = append(flows, f)
			}
		}
	} else {
		for _, f := range s.order {
			if keep(f) {
				flows = append(flows, f)
			}
		}
	}

	fp := fingerprint(user.Email, workspace, folder, recent)
	offset := 0
	if c := q.Get("cursor"); c != "" && !s.cfg.RepeatCursor {
		o, ok := parseCursor(c, fp)
		if !ok || o >= len(flows) {
			return errorAnswer(reqID, http.StatusBadRequest, "invalid cursor")
		}
		offset = o
	}
	end := min(offset+s.cfg.PageSize, len(flows))
	res := flowsResponse{
		RequestID: reqID,
		Records: records{
			TotalRecords:      len(flows),
			CurrentPageSize:   end - offset,
			CurrentPageNumber: offset / s.cfg.PageSize,
		},
		Flows: make([]flow, 0, end-offset),
	}
	if end < len(flows) || s.cfg.RepeatCursor {
		res.Records.Cursor = makeCursor(max(end, 1), fp)
	}
	for _, f := range flows[offset:end] {
		res.Flows = append(res.Flows, flow{
			ID: f.ID, Name: f.Name, FolderID: f.FolderID, FolderName: f.FolderName,
			Visibility: f.Visibility, CreationDate: f.CreationDate, Exclusive: f.Exclusive,
		})
	}
	return answer{status: http.StatusOK, body: res}
}

// fingerprint ties a cursor to the query it continues.
func fingerprint(owner, workspace, folder string, recent bool) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%t", strings.ToLower(owner), workspace, folder, recent)
	return strconv.FormatUint(h.Sum64(), 36)
}

func makeCursor(offset int, fp string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1." + strconv.Itoa(offset) + "." + fp))
}

// parseCursor returns the offset a cursor continues from, if the cursor was
// made for the query with this fingerprint.
func parseCursor(c, fp string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "v1" || parts[2] != fp {
		return 0, false
	}
	o, err := strconv.Atoi(parts[1])
	if err != nil || o <= 0 {
		return 0, false
	}
	return o, true
}
